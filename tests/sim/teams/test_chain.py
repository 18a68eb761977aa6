"""The chat chain: phases end on the end marker or the turn cap, a missing conclusion is asked for,
conclusions reach later prompts, loops end for a recorded reason, files are versioned.

These tests drive ``ChatChain`` directly with members whose replies are written out in the test
(a test double of the model, inside unit tests); the real model path is in test_team.py.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

import sim.teams.plugin  # noqa: F401  (registers the role mind and the chain)
from sim.core.events import Event
from sim.core.mind import Line, MindContext
from sim.core.rng import Stream
from sim.core.world import World
from sim.teams.chain import ChatChain, compile_chain
from sim.teams.roles import RoleMind
from sim.teams.schema import PhaseSpec
from sim.worldfile.scenario import PersonSpec, Scenario, parse_scenario

HEAD = """\
hamlet: 1
name: Unit team
start: 2026-05-04T09:00
mind: role
minds: {role: {embeddings: hash}}
sectors:
  - name: Office
    areas: [{name: room}]
people:
  - {name: Ana, home: Office}
  - {name: Ben, home: Office}
"""
ROLES = """\
  roles:
    - {name: Lead, person: Ana, prompt: "You lead. Task: {task}."}
    - {name: Coder, person: Ben, prompt: "You code."}
"""

Answer = dict[str, Any] | Callable[[str], dict[str, Any]]


class Member(RoleMind):
    """A role mind whose replies come from a list per phase (a callable gets the prompt's first line).

    Its answers take the chain's arguments up to the answer's schema; the fallback, the prompt's
    values and the time that follow (``*_``) are not needed to answer from a list.
    """

    def __init__(self, spec: PersonSpec, ctx: MindContext, script: dict[str, list[Answer]]) -> None:
        super().__init__(spec, ctx)
        self.script = script
        self.seen: list[tuple[str, str]] = []  # (phase, what the phase's opening line said)
        self.heard: list[list[str]] = []  # every line each reply's prompt held
        self.concluded: list[str] = []
        self.asked: list[tuple[str, list[str]]] = []  # dehallucination asks: (role, the lines its prompt held)
        self.answered: list[tuple[str, list[str]]] = []  # dehallucination answers, the same

    async def reply(self, role: str, phase: PhaseSpec, lines: list[Line], schema: type[BaseModel], *_: Any) -> Any:
        self.seen.append((phase.phase, lines[0].text))
        self.heard.append([line.text for line in lines])
        answer = self.script[phase.phase].pop(0)
        data = answer(lines[0].text) if callable(answer) else answer
        defaults = {"text": "...", "end": False, "conclusion": "", "approved": False, "files": []}
        return schema.model_validate({k: v for k, v in {**defaults, **data}.items() if k in schema.model_fields})

    async def needs(self, role: str, phase: PhaseSpec, lines: list[Line], schema: type[BaseModel], *_: Any) -> Any:
        self.asked.append((role, [line.text for line in lines]))
        questions = self.script.get(f"{phase.phase} ask", [])
        return schema.model_validate({"questions": questions.pop(0) if questions else []})

    async def details(self, role: str, phase: PhaseSpec, lines: list[Line], schema: type[BaseModel], *_: Any) -> Any:
        self.answered.append((role, [line.text for line in lines]))
        return schema.model_validate({"text": f"details for: {lines[-1].text}"})

    async def conclude(self, role: str, phase: PhaseSpec, lines: list[Line], schema: type[BaseModel], *_: Any) -> Any:
        self.concluded.append(phase.phase)
        return schema.model_validate({"conclusion": f"extracted from {len(lines)} lines"})


def team_world(chain: str, extra: str = "") -> Scenario:
    text = (
        HEAD
        + "team:\n  task: a counter\n"
        + ROLES
        + extra
        + "  chain:\n"
        + textwrap.indent(textwrap.dedent(chain), "    ")
    )
    return parse_scenario(text)


def run_chain(
    scenario: Scenario, script: dict[str, list[Answer]]
) -> tuple[list[Event], list[dict[str, Any]], dict[str, Member], ChatChain]:
    """Step the chain to its end; every event, artifact row, the members and the chain."""
    world = World(scenario)
    for person in scenario.people:
        world.place(person.name, scenario.resolve_place(person.home))

    def context(name: str) -> MindContext:
        return MindContext(scenario, world, None, Stream(0, name), {"embeddings": "hash"})  # type: ignore[arg-type]

    members = {p.name: Member(p, context(p.name), script) for p in scenario.people}
    chain = ChatChain(scenario, context("team"))
    events: list[Event] = []
    artifacts: list[dict[str, Any]] = []

    async def drive() -> None:
        now = scenario.start
        for _ in range(200):
            step = await chain.step(members, now)
            events.extend(step.events)
            artifacts.extend(step.artifacts)
            if step.after is None:
                return
            now += timedelta(seconds=step.after)
        raise AssertionError("the chain did not end")

    asyncio.run(drive())
    return events, artifacts, members, chain


def of(events: list[Event], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.kind == kind]


GOOD = 'def main():\n    print("ok")\n\nmain()\n'
BAD = 'raise SystemExit("broken")\n'
HOLE = "def main():\n    pass  # TODO\n"


def test_compiled_chain_jumps_from_a_loops_check_past_its_end_and_back_from_its_last_phase() -> None:
    scenario = team_world("""
        - {phase: A, instructor: Lead, assistant: Coder, prompt: a}
        - loop: L
          cycles: 2
          chain:
            - {phase: B, instructor: Lead, assistant: Coder, prompt: b}
        - {phase: C, instructor: Lead, assistant: Coder, prompt: c}
    """)
    assert scenario.team is not None
    ops = compile_chain(list(scenario.team.chain))
    assert [op.kind for op in ops] == ["phase", "enter", "check", "phase", "again", "phase"]
    assert ops[2].target == 5 and ops[4].target == 2
    assert ops[3].loop is not None and ops[3].loop.loop == "L"


def test_the_end_marker_ends_a_phase_and_its_conclusion_fills_later_prompts() -> None:
    scenario = team_world("""
        - {phase: Choose, instructor: Lead, assistant: Coder, prompt: "Pick a colour for {task}.", turns: 6, conclusion: colour}
        - {phase: Paint, instructor: Lead, assistant: Coder, prompt: "Paint it {colour}.", turns: 1, extract: reply}
    """)
    events, _, members, _ = run_chain(
        scenario,
        {
            "Choose": [{"text": "blue?"}, {"text": "agreed <INFO> blue"}],
            "Paint": [{"text": "done"}],
        },
    )
    ends = of(events, "phase_end")
    assert ends[0]["reason"] == "end marker from the Lead" and ends[0]["conclusion"] == "blue"
    assert ends[0]["replies"] == 2
    assert members["Ben"].seen[-1] == ("Paint", "Paint it blue.")
    assert of(events, "say")[0]["text"] == "Pick a colour for a counter."  # the instructor opens with the prompt


def test_a_phase_at_its_turn_cap_without_a_conclusion_asks_the_instructor_for_one() -> None:
    scenario = team_world("""
        - {phase: Talk, instructor: Lead, assistant: Coder, prompt: talk, turns: 3, conclusion: gist}
        - {phase: Next, instructor: Lead, assistant: Coder, prompt: "Go on from {gist}", turns: 1, extract: reply}
    """)
    events, _, members, _ = run_chain(scenario, {"Talk": [{}, {}, {}], "Next": [{}]})
    end = of(events, "phase_end")[0]
    assert end["reason"] == "turn cap: 3 replies; conclusion asked for"
    assert members["Ana"].concluded == ["Talk"] and not members["Ben"].concluded
    assert end["conclusion"] == "extracted from 4 lines"
    assert [s for s in of(events, "say") if s.get("extract")][0]["turn"] == 4
    assert members["Ben"].seen[-1] == ("Next", "Go on from extracted from 4 lines")


def test_both_members_remember_each_phase_in_their_memory_stream() -> None:
    scenario = team_world("""
        - {phase: Choose, instructor: Lead, assistant: Coder, prompt: choose, conclusion: pick}
    """)
    _, _, members, _ = run_chain(scenario, {"Choose": [{"end": True, "conclusion": "the red one"}]})
    for name, other in (("Ana", "Coder Ben"), ("Ben", "Lead Ana")):
        rows = members[name].ctx.memories
        assert [row["text"] for row in rows] == [f"Choose, with the {other}: the red one"]
        assert members[name].stream is not None and len(members[name].stream) == 1


def test_a_reviewers_approval_ends_the_loop_in_mid_cycle_with_the_reason() -> None:
    scenario = team_world("""
        - loop: Review
          cycles: 3
          until: approved
          chain:
            - {phase: Comment, instructor: Lead, assistant: Coder, prompt: review, turns: 1, extract: review}
            - {phase: Change, instructor: Lead, assistant: Coder, prompt: change, turns: 1, extract: reply}
    """)
    events, _, members, _ = run_chain(
        scenario,
        {
            "Comment": [{"text": "rename x", "approved": False}, {"text": "fine", "approved": True}],
            "Change": [{"text": "renamed"}],
        },
    )
    assert [phase for phase, _ in members["Ben"].seen] == ["Comment", "Change", "Comment"]
    assert of(events, "loop_end") == [
        {"loop": "Review", "cycles": 2, "reason": "approved: the Coder found nothing to change in cycle 2"}
    ]
    assert of(events, "phase_end")[-1]["reason"] == "approved by the Coder"


def test_a_loop_that_never_meets_its_condition_ends_at_its_cycle_cap() -> None:
    scenario = team_world("""
        - loop: Review
          cycles: 2
          until: approved
          chain:
            - {phase: Comment, instructor: Lead, assistant: Coder, prompt: review, turns: 1, extract: review}
    """)
    events, _, _, _ = run_chain(scenario, {"Comment": [{"approved": False}, {"approved": False}]})
    assert of(events, "loop_end") == [{"loop": "Review", "cycles": 2, "reason": "cycle cap: 2 cycles"}]


def test_files_are_versioned_only_when_they_change_with_the_phase_and_role_that_wrote_them() -> None:
    scenario = team_world("""
        - {phase: Write, instructor: Lead, assistant: Coder, prompt: write, turns: 1, extract: files}
        - {phase: Rewrite, instructor: Lead, assistant: Coder, prompt: "again {codes}", turns: 1, extract: files}
    """)
    events, artifacts, _, chain = run_chain(
        scenario,
        {
            "Write": [{"files": [{"path": "main.py", "content": GOOD}, {"path": "util.py", "content": "X = 1\n"}]}],
            "Rewrite": [{"files": [{"path": "main.py", "content": GOOD}, {"path": "util.py", "content": "X = 2\n"}]}],
        },
    )
    assert [(a["path"], a["version"], a["phase"], a["role"], a["person"]) for a in artifacts] == [
        ("main.py", 1, "Write", "Coder", "Ben"),
        ("util.py", 1, "Write", "Coder", "Ben"),
        ("util.py", 2, "Rewrite", "Coder", "Ben"),
    ]
    assert [e["path"] for e in of(events, "artifact")] == ["main.py", "util.py", "util.py"]
    assert of(events, "phase_end")[1]["files"] == ["util.py"]
    assert chain.files.program() == {"main.py": GOOD, "util.py": "X = 2\n"}


def test_files_written_as_named_fenced_blocks_in_the_text_are_taken_too() -> None:
    scenario = team_world("""
        - {phase: Write, instructor: Lead, assistant: Coder, prompt: write, turns: 1, extract: files}
    """)
    text = f"Here it is.\n\nmain.py\n```python\n{GOOD}```\n"
    _, artifacts, _, _ = run_chain(scenario, {"Write": [{"text": text, "files": [{"path": "x.py", "content": ""}]}]})
    assert [a["path"] for a in artifacts] == ["x.py"]  # structured files come first
    _, artifacts, _, _ = run_chain(scenario, {"Write": [lambda _: {"text": text, "files": []}]})
    assert [(a["path"], a["content"]) for a in artifacts] == [("main.py", GOOD)]


def test_bad_file_names_are_recorded_rejections_the_team_hears_of_never_a_crash() -> None:
    scenario = team_world("""
        - {phase: Write, instructor: Lead, assistant: Coder, prompt: write, turns: 1, extract: files}
        - {phase: Fix, instructor: Lead, assistant: Coder, prompt: fix, turns: 1, extract: files}
    """)
    text = f"main.py\n```python\n{GOOD}```\n\n../fenced.py\n```python\nX = 1\n```\n"
    events, artifacts, members, chain = run_chain(
        scenario,
        {
            "Write": [
                {
                    "files": [
                        {"path": "../escape.py", "content": "X = 1\n"},
                        {"path": "util", "content": "X = 1\n"},
                        {"path": "util/helpers.py", "content": "Y = 2\n"},
                        {"path": "main.py", "content": GOOD},
                    ]
                }
            ],
            "Fix": [lambda _: {"text": text, "files": []}],
        },
    )
    assert [a["path"] for a in artifacts] == ["util", "main.py"]
    rejected = of(events, "file_rejected")
    assert [(r["path"], r["phase"], r["role"]) for r in rejected] == [
        ("../escape.py", "Write", "Coder"),
        ("util/helpers.py", "Write", "Coder"),
        ("../fenced.py", "Fix", "Coder"),
    ]
    assert "inside the project folder" in rejected[0]["reason"] and "'util' is a file" in rejected[1]["reason"]
    told = members["Ben"].heard[1][-1]  # the next reply's prompt ends with the note
    assert "'../escape.py'" in told and "'util/helpers.py'" in told and "not saved" in told
    assert chain.notices == [
        "Note: the file '../fenced.py' the Coder wrote was not saved: names must stay inside "
        "the project folder (no '..')."
    ]  # kept for the next reply, and in snapshots
    assert chain.state()["notices"] == chain.notices
    assert of(events, "sandbox")[0]["ok"] is True  # the program that was written runs


def test_until_complete_loops_while_a_file_holds_a_placeholder() -> None:
    scenario = team_world(
        """
        - loop: Complete
          cycles: 4
          until: complete
          chain:
            - {phase: Fill, instructor: Lead, assistant: Coder, prompt: "Finish {unimplemented_file}", turns: 1, extract: files}
    """,
        extra=f"  files: {{main.py: {json.dumps(HOLE)}}}\n",
    )
    events, _, members, _ = run_chain(
        scenario,
        {
            "Fill": [
                {"files": [{"path": "main.py", "content": HOLE + "# still\n"}]},
                {"files": [{"path": "main.py", "content": GOOD}]},
            ]
        },
    )
    assert members["Ben"].seen[0] == ("Fill", "Finish main.py")
    assert of(events, "loop_end") == [
        {"loop": "Complete", "cycles": 2, "reason": "complete: no program file holds a placeholder"}
    ]


def test_until_runs_runs_the_program_in_the_sandbox_before_each_cycle_and_reports_failures() -> None:
    scenario = team_world(
        """
        - loop: Test
          cycles: 3
          until: runs
          chain:
            - {phase: Fix, instructor: Lead, assistant: Coder, prompt: "{test_reports}", turns: 1, extract: files}
    """,
        extra=f"  files: {{main.py: {json.dumps(BAD)}}}\n",
    )
    events, _, members, _ = run_chain(scenario, {"Fix": [{"files": [{"path": "main.py", "content": GOOD}]}]})
    runs = of(events, "sandbox")
    assert [(r["ok"], r["exit_code"]) for r in runs] == [(False, 1), (True, 0)]
    assert "broken" in runs[0]["stderr"] and runs[1]["stdout"] == "ok\n"
    assert "The program failed (exit status 1)" in members["Ben"].seen[0][1]
    assert of(events, "loop_end")[0]["reason"] == "runs: the program ran without error"
    end = of(events, "chain_end")[0]
    assert (end["completeness"], end["executability"]) == (1.0, 1.0)
    assert len(runs) == 2  # the final check reuses the run of the same code


@pytest.mark.parametrize(("source", "complete", "runs"), [(GOOD, 1.0, 1.0), (HOLE, 0.0, 1.0), (BAD, 1.0, 0.0)])
def test_quality_metrics_follow_the_papers_definitions(source: str, complete: float, runs: float) -> None:
    scenario = team_world(
        """
        - {phase: Note, instructor: Lead, assistant: Coder, prompt: note, turns: 1, extract: reply}
    """,
        extra=f"  files: {{main.py: {json.dumps(source)}}}\n",
    )
    events, _, _, _ = run_chain(scenario, {"Note": [{}]})
    end = of(events, "chain_end")[0]
    assert (end["completeness"], end["executability"]) == (complete, runs)
    assert 0 < end["consistency"] <= 1 or end["consistency"] == 0
    assert end["quality"] == pytest.approx(complete * runs * end["consistency"], abs=1e-4)


@pytest.mark.parametrize("dehallucinate", [False, True])
def test_a_chain_restored_from_its_state_in_mid_phase_goes_on_as_the_original_does(dehallucinate: bool) -> None:
    scenario = team_world(
        """
        - {phase: Talk, instructor: Lead, assistant: Coder, prompt: talk, turns: 4, conclusion: gist}
        - {phase: Write, instructor: Lead, assistant: Coder, prompt: "{gist}", turns: 1, extract: files}
    """,
        extra=f"  dehallucinate: {str(dehallucinate).lower()}\n",
    )
    script: dict[str, list[Any]] = {
        "Talk": [{}, {}, {}, {"end": True, "conclusion": "done"}],
        "Write": [{"files": [{"path": "main.py", "content": GOOD}]}],
        "Talk ask": [["Why?"], []],
        "Write ask": [["Where?"]],
    }
    whole, _, _, _ = run_chain(scenario, {k: list(v) for k, v in script.items()})

    world = World(scenario)
    ctx = MindContext(scenario, world, None, Stream(0, "team"), {"embeddings": "hash"})  # type: ignore[arg-type]
    shared = {k: list(v) for k, v in script.items()}  # the members answer in turn from one script
    members = {p.name: Member(p, ctx, shared) for p in scenario.people}
    first = ChatChain(scenario, ctx)

    async def drive(chain: ChatChain, steps: int) -> list[Event]:
        out: list[Event] = []
        for _ in range(steps):
            step = await chain.step(members, scenario.start)
            out += step.events
            if step.after is None:
                break
        return out

    before = asyncio.run(drive(first, 2))
    second = ChatChain(scenario, ctx)
    second.restore(json.loads(json.dumps(first.state())))  # through JSON, as a snapshot stores it
    after = asyncio.run(drive(second, 50))
    assert [(e.kind, e.person, e.data) for e in before + after] == [(e.kind, e.person, e.data) for e in whole]
    # Talk once, Write once
    assert sum("dehallucination" in e.data for e in whole if e.kind == "say") == (4 if dehallucinate else 0)


def test_a_conclusion_not_reached_yet_reads_as_not_settled_in_a_prompt() -> None:
    scenario = team_world("""
        - {phase: Early, instructor: Lead, assistant: Coder, prompt: "We will build on {plan}.", turns: 1, extract: reply}
        - {phase: Plan, instructor: Lead, assistant: Coder, prompt: plan, turns: 1, extract: reply, conclusion: plan}
    """)
    _, _, members, _ = run_chain(scenario, {"Early": [{}], "Plan": [{}]})
    assert members["Ben"].seen[0] == ("Early", "We will build on (not settled yet).")


# -- communicative dehallucination ------------------------------------------------------------

DEHALLUCINATE = """
    - {phase: Build, instructor: Lead, assistant: Coder, prompt: "Build {task}.", turns: 3, extract: reply,
       dehallucinate: true}
    - {phase: Plain, instructor: Lead, assistant: Coder, prompt: plain, turns: 1, extract: reply}
"""


def test_with_dehallucinate_on_the_assistant_is_asked_what_it_lacks_before_each_of_its_replies() -> None:
    events, _, members, _ = run_chain(team_world(DEHALLUCINATE), {"Build": [{}, {}, {}], "Plain": [{}]})
    # Build: the assistant replies on turns 1 and 3, each after an ask; Plain (option off): no ask
    assert [role for role, _ in members["Ben"].asked] == ["Coder", "Coder"]
    assert members["Ben"].asked[0][1] == ["Build a counter."]  # the ask sees the conversation so far
    assert not members["Ana"].asked and not members["Ana"].answered  # nothing lacking: nothing answered
    assert not [s for s in of(events, "say") if "dehallucination" in s]
    assert [e["replies"] for e in of(events, "phase_end")] == [3, 1]  # the ask is no reply: the turn cap holds


def test_when_the_assistant_asks_the_instructor_answers_and_the_answer_is_in_the_assistants_prompt() -> None:
    events, _, members, _ = run_chain(
        team_world(DEHALLUCINATE),
        {"Build ask": [["Count up or down?", "From what number?"]], "Build": [{}, {}, {}], "Plain": [{}]},
    )
    asked = "- Count up or down?\n- From what number?"
    assert members["Ana"].answered == [("Lead", ["Build a counter.", asked])]  # one answer, to the questions
    answer = f"details for: {asked}"
    assert members["Ben"].heard[0] == ["Build a counter.", asked, answer]  # the reply is made with the exchange
    assert members["Ana"].heard[0] == ["Build a counter.", asked, answer, "..."]  # and the conversation keeps it
    says = [s for s in of(events, "say") if s.get("phase") == "Build"]
    exchange = [(s["dehallucination"], s["to"], s["turn"]) for s in says if "dehallucination" in s]
    assert exchange == [("ask", "Ana", 1), ("answer", "Ben", 1)]  # before the assistant's first reply
    assert says[1]["questions"] == ["Count up or down?", "From what number?"] and says[2]["text"] == answer
    assert [s["turn"] for s in says] == [0, 1, 1, 1, 2, 3]
    assert len(members["Ben"].asked) == 2 and len(members["Ana"].answered) == 1  # one round a turn


def test_the_teams_dehallucinate_is_the_default_a_phase_may_override() -> None:
    scenario = team_world(
        """
        - {phase: Asks, instructor: Lead, assistant: Coder, prompt: a, turns: 1, extract: reply}
        - {phase: Quiet, instructor: Lead, assistant: Coder, prompt: b, turns: 1, extract: reply, dehallucinate: false}
    """,
        extra="  dehallucinate: true\n",
    )
    _, _, members, _ = run_chain(scenario, {"Asks": [{}], "Quiet": [{}]})
    assert [lines[0] for _, lines in members["Ben"].asked] == ["a"]


def test_a_dehallucination_exchange_takes_two_more_turns_of_time() -> None:
    scenario = team_world(DEHALLUCINATE, extra="  minutes_per_turn: 2\n")
    world = World(scenario)
    ctx = MindContext(scenario, world, None, Stream(0, "team"), {"embeddings": "hash"})  # type: ignore[arg-type]
    members = {
        p.name: Member(p, ctx, {"Build ask": [["Which?"]], "Build": [{}, {}, {}], "Plain": [{}]})
        for p in scenario.people
    }
    chain = ChatChain(scenario, ctx)
    first = asyncio.run(chain.step(members, scenario.start))
    second = asyncio.run(chain.step(members, scenario.start))
    assert (first.after, second.after) == (3 * 120, 120)  # ask + answer + reply, then the instructor's reply

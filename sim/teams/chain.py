"""The chat chain: a team works through its phases and loops, one reply or one program run per tick.

The chain (``team.chain`` of the world) is compiled into a flat list of operations, so that where
the team is (an operation's index, each loop's cycle, the phase's lines so far) is a few numbers
and lists a snapshot can hold. Each engine step does what takes no time (open a phase, check a
loop's stop condition, end a loop) until it does one thing that does: a reply through the LLM
gateway (``team.minutes_per_turn``) or a run of the program in the sandbox (a minute).

A phase opens with the instructor saying the task prompt; the assistant and the instructor then
reply in turns until a reply carries the end marker (its ``end`` field, or the phase's
``end_marker`` in its text) or the turn cap is reached. Its conclusion is found as the phase's
``extract`` says; when an ``agreed`` phase ends without one, one more question to the
instructor extracts it. With ``dehallucinate`` on, each assistant reply is preceded by one round
of ChatDev's communicative dehallucination: the assistant lists the details it lacks (perhaps
none) and, if it lists any, the instructor supplies them (``say`` events marked
``dehallucination: ask/answer``). Why each phase and loop ended is in its ``phase_end`` / ``loop_end``
event. Conclusions fill later prompts' ``{name}`` placeholders; both members remember each phase.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from agents.embeddings import shared_embedder
from sim.core.events import Event
from sim.core.mind import Line, Mind, MindContext, Step
from sim.core.world import World
from sim.errors import UserError
from sim.teams import quality
from sim.teams.artifacts import Files, file_model, from_text, listing
from sim.teams.filenames import escaped, printable
from sim.teams.roles import DEFAULTS, RoleMind
from sim.teams.sandbox import Outcome, SandboxError, SandboxRefused, run_program
from sim.teams.schema import LoopSpec, PhaseSpec, fill
from sim.worldfile.scenario import Scenario

PROGRAM_RUN_SECONDS = 60
"""Simulated time one run of the program takes."""
SHOWN_OUTPUT = 4000  # characters of stdout and of stderr a sandbox event keeps (head and tail)
Text = Annotated[str, StringConstraints(max_length=4000)]
# The temporary folder of a best-effort sandbox run, which tracebacks name: shown as /program,
# its name inside a namespaces sandbox, so that the log does not depend on a random folder name.
_SANDBOX_DIR = re.compile(r"/[^\s\"']*hamlet-sandbox-[^/\s\"']+/program")


@dataclass(frozen=True, slots=True)
class Op:
    """One operation of a compiled chain: a phase, or a loop's entry, stop check or next cycle."""

    kind: Literal["phase", "enter", "check", "again"]
    item: PhaseSpec | LoopSpec
    loop: LoopSpec | None = None  # the innermost loop around a phase
    target: int = 0  # check: where the loop ends; again: the loop's check


def compile_chain(chain: list[PhaseSpec | LoopSpec]) -> list[Op]:
    """The chain as a flat list of operations with jumps."""
    ops: list[Op | None] = []

    def emit(items: list[PhaseSpec | LoopSpec], loop: LoopSpec | None) -> None:
        for item in items:
            if isinstance(item, PhaseSpec):
                ops.append(Op("phase", item, loop))
                continue
            ops.append(Op("enter", item, loop))
            check = len(ops)
            ops.append(None)  # the check's target, the loop's end, is known once its chain is in
            emit(item.chain, item)
            ops.append(Op("again", item, loop, target=check))
            ops[check] = Op("check", item, loop, target=len(ops))

    emit(chain, None)
    return [op for op in ops if op is not None]


@cache
def reply_model(extract: str, options: tuple[str, ...], files: tuple[str, ...], side: str) -> type[BaseModel]:
    """The answer schema of one reply in a phase, for the instructor or the assistant."""
    fields: dict[str, Any] = {
        "text": (Text, Field(description="what you say")),
        "end": (bool, Field(description="true when the phase's work is done and the phase should end")),
    }
    if extract == "agreed":
        kind: Any = Literal[options] if options else Text
        fields["conclusion"] = (
            kind,
            Field(description="what the phase has agreed on, in a few words; it counts when end is true"),
        )
    elif extract == "files" and side == "assistant":
        item: Any = file_model(files)
        fields["files"] = (list[item], Field(description="the files you write, each complete"))
    elif extract == "review" and side == "assistant":
        fields["approved"] = (bool, Field(description="true when you find nothing left to change"))
    return create_model("Reply", **fields)


@cache
def conclusion_model(options: tuple[str, ...]) -> type[BaseModel]:
    """The answer schema of the question that extracts a missing conclusion."""
    kind: Any = Literal[options] if options else Text
    return create_model("Conclusion", conclusion=(kind, Field(description="the conclusion the phase reached")))


MAX_QUESTIONS = 3
"""Questions a dehallucination ask may hold: the details that matter most, not an interview."""
Question = Annotated[str, StringConstraints(max_length=300)]


class Needs(BaseModel):
    """Dehallucination's ask: the details the assistant lacks before it answers (none: it answers at once)."""

    questions: list[Question] = Field(
        min_length=0,
        max_length=MAX_QUESTIONS,
        description=(
            "short questions for the instructor about specific details you need and do not have; "
            "empty if you have what you need"
        ),
    )


class Details(BaseModel):
    """Dehallucination's answer: the instructor supplies the details asked for."""

    text: Text = Field(description="the details the questions ask for, specific and brief")


def _fallback(schema: type[BaseModel], **values: Any) -> BaseModel:
    """What a reply is when the model gives none: it ends the phase with nothing (logged by the gateway)."""
    defaults = {"text": "(no answer)", "end": True, "conclusion": "", "files": [], "approved": False, **values}
    return schema.model_construct(**{k: v for k, v in defaults.items() if k in schema.model_fields})


class ChatChain:
    """Runs a world's team through its chain; its whole state is JSON (``state``/``restore``)."""

    def __init__(self, scenario: Scenario, ctx: MindContext) -> None:
        assert scenario.team is not None
        self.team, self.ctx, self.start = scenario.team, ctx, scenario.start
        self.params = {**DEFAULTS, **ctx.params}
        self.ops = compile_chain(list(self.team.chain))
        self.exits = {
            op.item.loop: op.target for op in self.ops if op.kind == "check" and isinstance(op.item, LoopSpec)
        }
        self.embedder = shared_embedder(self.params["embeddings"])
        # state saved in snapshots:
        self.pc = 0  # the operation under way
        self.started = self.finished = False
        self.cycles: dict[str, int] = {}  # loop -> the cycle it is in
        self.vars: dict[str, str] = {}  # conclusion name -> the conclusion
        self.files = Files()
        self.talk: dict[str, Any] | None = None  # the open phase: lines, replies, why it ended, conclusion
        self.ran: dict[str, Any] | None = None  # the last program run: files revision, whether it ran, report
        self.notices: list[str] = []  # what the next reply's prompt must say: files that were not written
        # what the step under way is making
        self._out = Step()
        self._now = self.start
        self._minds: Mapping[str, Mind] = {}
        self._after = 0
        self._lines_said = 0  # lines of a dehallucination exchange said in this step

    def _where(self, person: str) -> str | None:
        """Where ``person`` is now (the chain runs in the clock's order, so it may read the world's state)."""
        world = self.ctx.world
        assert isinstance(world, World), "a team's chain is given the world itself"
        return world.position.get(person)

    # -- the chain protocol --------------------------------------------------------------

    async def step(self, minds: Mapping[str, Mind], now: datetime) -> Step:
        """Go on until one reply or one program run is done (or the chain is over)."""
        self._out, self._now, self._minds, self._after = Step(), now, minds, 0
        if not self.started:
            self._begin()
        while not self.finished and not await self._advance():
            pass
        self._out.after = None if self.finished else self._after
        return self._out

    def state(self) -> dict[str, Any]:
        """Where the team is, what it has concluded and written, and how its program last ran."""
        return {
            "pc": self.pc,
            "started": self.started,
            "finished": self.finished,
            "cycles": self.cycles,
            "vars": self.vars,
            "files": self.files.state(),
            "talk": self.talk,
            "ran": self.ran,
            "notices": self.notices,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved."""
        self.pc, self.started, self.finished = int(state["pc"]), bool(state["started"]), bool(state["finished"])
        self.cycles, self.vars = dict(state["cycles"]), dict(state["vars"])
        self.files = Files.restored(state["files"])
        self.talk, self.ran = state["talk"], state["ran"]
        self.notices = list(state.get("notices", []))

    # -- moving through the chain --------------------------------------------------------

    def _begin(self) -> None:
        self.started = True
        phases = sum(1 for op in self.ops if op.kind == "phase")
        self._event(
            "chain", data={"task": self.team.task, "roles": [r.name for r in self.team.roles], "phases": phases}
        )
        for path, content in sorted(self.team.files.items()):
            self._write(path, content, "", "", "")

    async def _advance(self) -> bool:
        """Do the operation under way; True once something that takes time was done."""
        if self.pc >= len(self.ops):
            return await self._finish()
        op = self.ops[self.pc]
        if op.kind == "phase":
            return await self._phase(op)
        loop = op.item
        assert isinstance(loop, LoopSpec)
        name = loop.loop
        if op.kind == "enter":
            self.cycles[name] = 1
            self._event("loop", data={"loop": name, "cycles": loop.cap, "until": loop.until})
            self.pc += 1
            return False
        if op.kind == "check":
            took = False
            done = ""
            if loop.until == "complete" and not self.files.unimplemented():
                done = "complete: no program file holds a placeholder"
            elif loop.until == "runs":
                took = await self._run_program()
                if self.ran and self.ran["runs"]:
                    done = "runs: the program ran without error"
            if done:
                self._end_loop(loop, done, self.cycles[name] - 1, op.target)
            else:
                self.pc += 1
            return took
        cycle = self.cycles[name]
        if cycle >= loop.cap:
            self._end_loop(loop, f"cycle cap: {cycle} {'cycle' if cycle == 1 else 'cycles'}", cycle, self.pc + 1)
        else:
            self.cycles[name] = cycle + 1
            self.pc = op.target
        return False

    def _end_loop(self, loop: LoopSpec, reason: str, cycles: int, then: int) -> None:
        self._event("loop_end", data={"loop": loop.loop, "cycles": cycles, "reason": reason})
        self.cycles.pop(loop.loop, None)
        self.pc = then

    async def _finish(self) -> bool:
        code = self.files.code()
        if code and (self.ran is None or self.ran["revision"] != self.files.revision):
            return await self._run_program()  # the final check the metrics rest on
        data: dict[str, Any] = {"task": self.team.task, "program": bool(code)}
        if code:
            measured = await quality.measure(self.team.task, code, bool(self.ran and self.ran["runs"]), self.embedder)
            data.update(measured.as_dict())
        self._event("chain_end", data=data)
        self.finished = True
        return False

    # -- phases --------------------------------------------------------------------------

    async def _phase(self, op: Op) -> bool:
        phase = op.item
        assert isinstance(phase, PhaseSpec)
        self._lines_said = 0
        if self.talk is None:
            self._open(op, phase)
        assert self.talk is not None
        if self.talk["ended"]:  # ended without a conclusion: ask for one
            await self._extract(phase)
            await self._close(op, phase)
        else:
            await self._reply(phase)
            if self.talk["ended"] and (phase.extract != "agreed" or self.talk["conclusion"]):
                await self._close(op, phase)
        # a dehallucination exchange is two more lines said, each taking a turn's time
        self._after = round(self.team.minutes_per_turn * 60 * (1 + self._lines_said))
        return True

    def _open(self, op: Op, phase: PhaseSpec) -> None:
        instructor, assistant = self._player(phase.instructor), self._player(phase.assistant)
        where = self._where(instructor)
        cycle = self.cycles.get(op.loop.loop) if op.loop else None
        self._event(
            "phase",
            instructor,
            where,
            {
                "phase": phase.phase,
                "loop": op.loop.loop if op.loop else None,
                "cycle": cycle,
                "instructor": phase.instructor,
                "assistant": phase.assistant,
                "with": assistant,
                "turns": phase.turns,
            },
        )
        for person, other in ((assistant, instructor), (instructor, assistant)):
            self._event(
                "act",
                person,
                self._where(person),
                {"activity": f"{phase.phase} with {other}", "object": None, "until": None},
            )
        prompt = fill(phase.prompt, self._values(phase))
        self._event("say", instructor, where, {"text": prompt, "to": assistant, "phase": phase.phase, "turn": 0})
        self.talk = {
            "lines": [[instructor, prompt]],
            "replies": 0,
            "ended": "",
            "conclusion": "",
            "last": "",
            "approved": False,
            "written": [],
            "extracted": False,
        }

    async def _reply(self, phase: PhaseSpec) -> None:
        talk = self.talk
        assert talk is not None
        side = "assistant" if talk["replies"] % 2 == 0 else "instructor"
        role = phase.assistant if side == "assistant" else phase.instructor
        player = self._player(role)
        other = self._player(phase.instructor if side == "assistant" else phase.assistant)
        schema = reply_model(phase.extract, tuple(phase.options), tuple(phase.files), side)
        notice = [Line("Hamlet", "\n".join(self.notices))] if self.notices else []
        self.notices = []  # said once, to whoever replies next, as a note from outside the conversation
        if side == "assistant" and self.team.dehallucinates(phase):
            await self._dehallucinate(phase, player, other, notice)
        lines = [Line(speaker, text) for speaker, text in talk["lines"]] + notice
        reply = await self._member(player).reply(
            role, phase, lines, schema, _fallback(schema), self._values(phase), self._now
        )
        text = str(reply.text)
        talk["replies"] += 1
        written: list[str] = []
        if side == "assistant" and phase.extract == "files":
            given = {f.path: f.content for f in getattr(reply, "files", [])} or from_text(text)
            accepted, rejected = self.files.check(given)
            for path, content in accepted.items():
                if (not phase.files or path in phase.files) and self._write(path, content, phase.phase, role, player):
                    written.append(path)
            for path, reason in rejected:
                self._reject(path, reason, phase.phase, role, player)
            talk["written"] = list(dict.fromkeys([*talk["written"], *written]))
        where = self._where(player)
        data: dict[str, Any] = {"text": text, "to": other, "phase": phase.phase, "turn": talk["replies"]}
        if written:
            data["files"] = written
        self._event("say", player, where, data)
        talk["lines"].append([player, text])
        marked = bool(phase.end_marker) and phase.end_marker in text
        if side == "assistant":
            talk["last"] = text
            if phase.extract == "review":
                talk["approved"] = bool(getattr(reply, "approved", False)) or marked
        if phase.extract == "agreed" and (reply.end or marked):
            after = text.split(phase.end_marker, 1)[1] if marked else ""
            talk["conclusion"] = str(getattr(reply, "conclusion", "") or "").strip() or after.strip()
        if talk["approved"] and side == "assistant":
            talk["ended"] = f"approved by the {role}"
        elif reply.end or marked:
            talk["ended"] = f"end marker from the {role}"
        elif talk["replies"] >= phase.turns:
            talk["ended"] = f"turn cap: {phase.turns} {'reply' if phase.turns == 1 else 'replies'}"

    async def _dehallucinate(self, phase: PhaseSpec, assistant: str, instructor: str, notice: list[Line]) -> None:
        """Communicative dehallucination, one round: the assistant asks for the details it lacks (a
        structured list, perhaps empty) and, if it asks, the instructor supplies them; both lines join
        the phase's conversation, so the assistant's reply, made next, has them in its prompt."""
        talk = self.talk
        assert talk is not None
        lines = [Line(speaker, text) for speaker, text in talk["lines"]] + notice
        values = self._values(phase)
        needs = await self._member(assistant).needs(
            phase.assistant, phase, lines, Needs, Needs(questions=[]), values, self._now
        )
        questions = [" ".join(str(q).split()) for q in needs.questions]
        questions = [q for q in questions if q][:MAX_QUESTIONS]
        if not questions:  # nothing lacking: the assistant answers at once, and nothing is said
            return
        asked = "\n".join(f"- {q}" for q in questions)
        turn = talk["replies"] + 1  # the reply the exchange comes before
        self._event(
            "say",
            assistant,
            self._where(assistant),
            {
                "text": asked,
                "to": instructor,
                "phase": phase.phase,
                "turn": turn,
                "dehallucination": "ask",
                "questions": questions,
            },
        )
        talk["lines"].append([assistant, asked])
        lines = [*lines, Line(assistant, asked)]
        details = await self._member(instructor).details(
            phase.instructor, phase, lines, Details, Details.model_construct(text="(no answer)"), values, self._now
        )
        text = str(details.text)
        self._event(
            "say",
            instructor,
            self._where(instructor),
            {"text": text, "to": assistant, "phase": phase.phase, "turn": turn, "dehallucination": "answer"},
        )
        talk["lines"].append([instructor, text])
        self._lines_said += 2

    async def _extract(self, phase: PhaseSpec) -> None:
        talk = self.talk
        assert talk is not None
        player = self._player(phase.instructor)
        schema = conclusion_model(tuple(phase.options))
        lines = [Line(speaker, text) for speaker, text in talk["lines"]]
        answer = await self._member(player).conclude(
            phase.instructor, phase, lines, schema, _fallback(schema), self._values(phase), self._now
        )
        conclusion = str(answer.conclusion).strip()
        self._event(
            "say",
            player,
            self._where(player),
            {
                "text": conclusion,
                "to": self._player(phase.assistant),
                "phase": phase.phase,
                "turn": talk["replies"] + 1,
                "extract": True,
            },
        )
        talk["conclusion"], talk["extracted"] = conclusion, True

    async def _close(self, op: Op, phase: PhaseSpec) -> None:
        talk = self.talk
        assert talk is not None
        self.talk = None
        if phase.extract == "files":
            conclusion = listing({p: self.files.current[p].content for p in talk["written"]}, "")
        elif phase.extract == "agreed":
            conclusion = talk["conclusion"]
        else:
            conclusion = talk["last"]
        if phase.conclusion and conclusion:
            self.vars[phase.conclusion] = conclusion
        loop = op.loop
        instructor, assistant = self._player(phase.instructor), self._player(phase.assistant)
        data: dict[str, Any] = {
            "phase": phase.phase,
            "with": assistant,
            "loop": loop.loop if loop else None,
            "cycle": self.cycles.get(loop.loop) if loop else None,
            "replies": talk["replies"],
            "reason": talk["ended"] + ("; conclusion asked for" if talk["extracted"] else ""),
            "conclusion_name": phase.conclusion,
            "conclusion": conclusion if phase.extract != "files" else "",
            "files": talk["written"],
        }
        if phase.extract == "review":
            data["approved"] = talk["approved"]
        self._event("phase_end", instructor, self._where(instructor), data)
        summary = f"wrote {', '.join(talk['written'])}" if talk["written"] else (conclusion or talk["last"])[:300]
        for person, other, role in (
            (assistant, instructor, phase.instructor),
            (instructor, assistant, phase.assistant),
        ):
            self._event(
                "act",
                person,
                self._where(person),
                {"activity": "waits for the next phase", "object": None, "until": None},
            )
            await self._member(person).remember(f"{phase.phase}, with the {role} {other}: {summary}", self._now)
        if talk["approved"] and loop is not None and loop.until == "approved":
            cycle = self.cycles[loop.loop]
            self._end_loop(
                loop,
                f"approved: the {phase.assistant} found nothing to change in cycle {cycle}",
                cycle,
                self.exits[loop.loop],
            )
        else:
            self.pc += 1

    # -- files and the program -----------------------------------------------------------

    def _write(self, path: str, content: str, phase: str, role: str, person: str) -> bool:
        row = self.files.write(path, content, phase, role, person)
        if row is None:
            return False
        self._out.artifacts.append(row)
        self._event(
            "artifact",
            person or None,
            self._where(person) if person else None,
            {
                "path": path,
                "version": row["version"],
                "phase": phase,
                "role": role,
                "bytes": len(content.encode()),
                "lines": len(content.splitlines()),
            },
        )
        return True

    def _reject(self, path: str, reason: str, phase: str, role: str, person: str) -> None:
        """Record a file a reply proposed that was not written, and tell the team in its next prompt."""
        self._event(
            "file_rejected",
            person,
            self._where(person),
            {"path": escaped(path), "reason": reason, "phase": phase, "role": role},
        )
        self.notices.append(f"Note: the file {printable(path)} the {role} wrote was not saved: {reason}.")

    async def _run_program(self) -> bool:
        """Run the program in the sandbox unless this version of it has run already; True if it ran."""
        revision = self.files.revision
        if self.ran is not None and self.ran["revision"] == revision:
            return False
        entry = self.team.entry
        program = self.files.program()
        data: dict[str, Any] = {"entry": entry, "revision": revision}
        if entry not in program:
            data.update(ok=False, error=f"there is no {entry} to run")
            self.ran = {"revision": revision, "runs": False, "report": f"The program has no {entry}, so it cannot run."}
            self._event("sandbox", data=data)
            return False
        command = [sys.executable, "-s", "-B", entry]
        try:
            outcome = await asyncio.to_thread(run_program, program, command, self.team.sandbox)
        except SandboxRefused as err:  # this machine cannot isolate it: recorded with the reason, not run
            data.update(ok=False, refused=True, error=str(err))
            self.ran = {"revision": revision, "runs": False, "report": f"The sandbox did not run the program: {err}"}
        except (SandboxError, ValueError) as err:  # the machine's fault (or a name): recorded, and it does not run
            data.update(ok=False, error=str(err))
            self.ran = {"revision": revision, "runs": False, "report": f"The sandbox failed: {err}"}
        else:
            ok = quality.runs(outcome)
            data.update(
                ok=ok,
                exit_code=outcome.exit_code,
                signal=outcome.signal,
                limit_hit=outcome.limit_hit,
                limits_hit=outcome.limits_hit,
                isolation=outcome.isolation,
                memory_scope=outcome.memory_scope,
                notes=outcome.notes,
                stdout=_shown(outcome.stdout),
                stderr=_shown(outcome.stderr),
                left=outcome.files,
            )
            self.ran = {"revision": revision, "runs": ok, "report": _report(outcome, ok)}
        self._event("sandbox", data=data)
        self._after = PROGRAM_RUN_SECONDS
        return True

    # -- helpers -------------------------------------------------------------------------

    def _values(self, phase: PhaseSpec) -> dict[str, str]:
        """What each placeholder of ``phase``'s prompts stands for now."""
        undecided = dict.fromkeys(self.team.conclusions(), "(not settled yet)")
        return {
            **undecided,
            **self.team.vars,
            **self.vars,
            "task": self.team.task,
            "background": self.team.background,
            "instructor_role": phase.instructor,
            "assistant_role": phase.assistant,
            "codes": listing(self.files.code(), "(no code yet)"),
            "files": ", ".join(sorted(self.files.current)) or "(none yet)",
            "unimplemented_file": self.files.unimplemented(),
            "test_reports": self.ran["report"] if self.ran else "The program has not been run yet.",
        }

    def _player(self, role: str) -> str:
        return self.team.role(role).player

    def _member(self, person: str) -> RoleMind:
        mind = self._minds.get(person)
        if not isinstance(mind, RoleMind):
            raise UserError(f"team: {person} is not in the world or does not run the role mind")
        return mind

    def _event(
        self, kind: str, person: str | None = None, place: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        self._out.events.append(Event(0, kind, person, place, data or {}))


def _shown(text: str) -> str:
    text = _SANDBOX_DIR.sub("/program", text)
    if len(text) <= SHOWN_OUTPUT:
        return text
    head = SHOWN_OUTPUT * 3 // 4
    return f"{text[:head]}\n[... {len(text) - SHOWN_OUTPUT} characters left out ...]\n{text[-(SHOWN_OUTPUT - head) :]}"


def _report(outcome: Outcome, ok: bool) -> str:
    """How the run went, in words for the next prompts (``{test_reports}``)."""
    if ok:
        out = _shown(outcome.stdout).strip()
        return "The program ran without errors." + (f" It printed:\n{out[-1500:]}" if out else "")
    how = f"exit status {outcome.exit_code}" if outcome.exit_code is not None else f"signal {outcome.signal}"
    limit = f", stopped at the {outcome.limit_hit} limit" if outcome.limit_hit != "none" else ""
    err = _shown(outcome.stderr).strip()[-2000:] or "(nothing on stderr)"
    return f"The program failed ({how}{limit}). It wrote to stderr:\n{err}"


def check_team_minds(scenario: Scenario) -> None:
    """Refuse a team whose roles are played by people not running the ``role`` mind."""
    assert scenario.team is not None
    for index, role in enumerate(scenario.team.roles):
        kind = scenario.mind_of(scenario.person(role.player))
        if kind != "role":
            raise UserError(
                f"team.roles[{index}]: {role.player} plays {role.name!r} but runs the {kind} mind; "
                "give them mind: role (or set the world's mind: role)"
            )

"""The generative agent end to end on the town, with the scripted model."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import WORLDS, hamlet_process, record_run


def generative_town(folder: Path, people: int | None = None) -> Path:
    data = yaml.safe_load((WORLDS / "smallville.yaml").read_text())
    data["people"] = data["people"][:people] if people else data["people"]
    kept = {p["name"] for p in data["people"]}
    for person in data["people"]:
        person["mind"] = "generative"
        person["relationships"] = [r for r in person.get("relationships", []) if r["name"] in kept]
    data["facts"] = [dict(f, seeded_to=[n for n in f.get("seeded_to", []) if n in kept]) for f in data.get("facts", [])]
    data["interventions"] = [i for i in data.get("interventions", []) if i.get("person", next(iter(kept))) in kept]
    path = folder / "town.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, sqlite3.Connection]:
    folder = tmp_path_factory.mktemp("town")
    run = folder / "day.db"
    # The bundled world as it ships: generative minds, its own parameters, a fixed seed.
    record_run(WORLDS / "smallville.yaml", run, "--hours", "24", "--seed", "7")
    return run, sqlite3.connect(run)


def counts(db: sqlite3.Connection, kind: str) -> dict[str, int]:
    return dict(db.execute("SELECT person, COUNT(*) FROM memory WHERE kind = ? GROUP BY person", (kind,)))


@pytest.mark.slow
def test_every_person_plans_the_day_and_remembers_the_plan(day) -> None:
    _, db = day
    people = {p for (p,) in db.execute("SELECT person FROM event WHERE kind = 'spawn'")}
    asked = {p for (p,) in db.execute("SELECT person FROM llm_call WHERE purpose = 'day_plan'")}
    assert asked == people and set(counts(db, "plan")) == people


def test_a_reflection_happens_when_the_importance_since_the_last_one_passes_the_threshold(day) -> None:
    """The mechanism, not a count: importance of observations and conversations adds up; past the
    threshold the next wake reflects (and the sum starts again), never before."""
    _, db = day
    threshold = yaml.safe_load((WORLDS / "smallville.yaml").read_text())["minds"]["generative"]["reflection_threshold"]
    assert db.execute("SELECT COUNT(*) FROM llm_call WHERE purpose LIKE 'reflection%' AND fallback").fetchone()[0] == 0
    reflected = 0
    for person, asked in db.execute(
        "SELECT person, COUNT(*) FROM llm_call WHERE purpose = 'reflection_questions'"
        " AND status != 'cached' GROUP BY person"
    ).fetchall():
        since, previous, made = 0.0, "", 0
        for kind, importance in db.execute(
            "SELECT kind, importance FROM memory WHERE person = ? ORDER BY id", (person,)
        ):
            if kind == "reflection" and previous != "reflection":  # the first insight of a reflection
                assert since > threshold, f"{person} reflected at {since} of {threshold}"
                since, made = 0.0, made + 1
            elif kind in ("observation", "dialogue"):
                since += importance
            previous = kind
        assert made == asked, f"{person}: {asked} reflections asked, {made} made"
        reflected += made
    assert reflected, "nobody's importance passed the threshold in a day: the check above checked nothing"


def test_reflections_cite_earlier_memories_as_evidence(day) -> None:
    _, db = day
    for person, evidence, mid in db.execute("SELECT person, evidence, id FROM memory WHERE kind = 'reflection'"):
        cited = json.loads(evidence)
        assert cited and all(0 < e < mid for e in cited)
        found = db.execute(
            f"SELECT COUNT(*) FROM memory WHERE person = ? AND id IN ({','.join('?' * len(cited))})", (person, *cited)
        ).fetchone()[0]
        assert found == len(set(cited))


NEWS = "The mayor closes the old mill bridge on Thursday"
ROOM = f"""\
hamlet: 1
name: One room
description: Two carpenters share one workshop; only Ada has heard the news.
start: 2026-03-02T12:00
seed: 1
mind: generative
minds:
  generative: {{talk_cooldown_minutes: 30, max_turns: 8, embeddings: hash}}
sectors:
  - name: Workshop
    kind: home
    areas:
      - name: bench room
        objects: [workbench]
people:
  - name: Ada Brook
    age: 31
    occupation: carpenter
    home: Workshop
    relationships: [{{name: Ben Ortiz, relation: colleague}}]
    memories: ["{NEWS}."]
  - name: Ben Ortiz
    age: 29
    occupation: carpenter
    home: Workshop
    relationships: [{{name: Ada Brook, relation: colleague}}]
"""


@pytest.fixture(scope="module", params=["neutral", "eager"])
def room(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, sqlite3.Connection]:
    """Two people who cannot leave one room, one of them told a piece of news; six hours."""
    folder = tmp_path_factory.mktemp(f"room-{request.param}")
    (folder / "room.yaml").write_text(ROOM)
    run = folder / "room.db"
    record_run(folder / "room.yaml", run, "--llm-profile", request.param, "--hours", "6")
    return request.param, sqlite3.connect(run)


def calls_of(db: sqlite3.Connection, person: str, purpose: str) -> list[tuple[int, str, dict]]:
    rows = db.execute(
        "SELECT t, request, response FROM llm_call WHERE person = ? AND purpose = ? AND status = 'ok' ORDER BY id",
        (person, purpose),
    ).fetchall()
    return [(t, json.loads(request)["messages"][1]["content"], json.loads(response)) for t, request, response in rows]


def seconds(db: sqlite3.Connection, time: str) -> int:
    start = datetime.fromisoformat(db.execute("SELECT sim_start FROM run").fetchone()[0])
    return int((datetime.fromisoformat(time) - start).total_seconds())


@pytest.mark.slow
def test_news_travels_by_mechanism_from_the_teller_s_memory_through_the_dialogue_into_the_listener_s(room) -> None:
    """A is told X; A's dialogue prompts carry X; every line A says reaches the prompt B's memory of the
    talk is asked with; B keeps what B's model answered. Whether a line carries X, and whether B's notes
    quote it, is the model's pick (uniform among the phrases of a prompt): so the test checks each link
    of the chain, and the whole chain only where the model's picks made it (never an outcome it favours)."""
    profile, db = room
    ada, ben = "Ada Brook", "Ben Ortiz"
    assert (
        db.execute(
            "SELECT COUNT(*) FROM memory WHERE person = ? AND kind = 'seed' AND text LIKE ?", (ada, f"{NEWS}%")
        ).fetchone()[0]
        == 1
    )
    assert not [
        m for m in db.execute("SELECT text FROM memory WHERE person = ? AND kind = 'seed'", (ben,)) if NEWS in m[0]
    ]
    assert any(NEWS in prompt for _, prompt, _ in calls_of(db, ada, "dialogue_turn")), "the teller's prompt lacks X"
    said = [
        (seconds(db, time), json.loads(data)["text"])
        for time, data in db.execute(
            "SELECT time, data FROM event WHERE kind = 'say' AND person = ? ORDER BY seq", (ada,)
        )
    ]
    remembered = calls_of(db, ben, "dialogue_memory")
    assert said and remembered
    for t, text in said:  # every line said reaches the listener's memory prompt of that conversation
        assert any(at >= t and f"{ada}: {text}" in prompt for at, prompt, _ in remembered), text
    for at, _, reply in remembered:  # what the listener's model answered is what the listener keeps
        kept = [
            r[0]
            for r in db.execute(
                "SELECT text FROM memory WHERE person = ? AND kind = 'dialogue' AND t = ? ORDER BY id", (ben, at)
            )
        ]
        assert kept[: 1 + len(reply["learned"])] == [reply["summary"], *reply["learned"]]
    # the teller passed X on by saying it, or by doing something whose words carry it (seen by the listener)
    shown = [
        seconds(db, time)
        for time, data in db.execute(
            "SELECT time, data FROM event WHERE person = ? AND kind IN ('say', 'act') ORDER BY seq", (ada,)
        )
        if NEWS in json.loads(data).get("text", json.loads(data).get("activity", ""))
    ]
    holds = db.execute("SELECT MIN(t) FROM memory WHERE person = ? AND text LIKE ?", (ben, f"%{NEWS}%")).fetchone()[0]
    if holds is not None:  # the listener came to hold X only after the teller passed it on
        assert shown and holds >= shown[0], "the listener holds X without having been told or shown it"


def test_eager_people_talk_whenever_someone_is_there_and_to_the_turn_cap(room) -> None:
    profile, db = room
    if profile != "eager":
        pytest.skip("eager only: neutral decides by a fair draw")
    replies = [reply for person in ("Ada Brook", "Ben Ortiz") for _, _, reply in calls_of(db, person, "reaction")]
    assert replies and all(r["reaction"] == "change plans" for r in replies)
    decisions = [r["talk_to"] for r in replies if "talk_to" in r]
    assert decisions and "nobody" not in decisions
    ends = [json.loads(d) for (d,) in db.execute("SELECT data FROM event WHERE kind = 'talk_end'")]
    assert len(ends) >= 2 and all(e["reason"] == "turn cap" and e["turns"] == 8 for e in ends)


def test_a_conversation_costs_at_most_its_turn_cap_in_lines_and_one_memory_call_for_each_side(room) -> None:
    """The economy's mechanism: a conversation is bounded by max_turns, and a person is asked whether to talk
    to someone at most once per cooldown, whatever the model answers."""
    _, db = room
    ends = [json.loads(d) for (d,) in db.execute("SELECT data FROM event WHERE kind = 'talk_end'")]
    lines = db.execute("SELECT COUNT(*) FROM llm_call WHERE purpose = 'dialogue_turn' AND status = 'ok'").fetchone()[0]
    memories = db.execute(
        "SELECT COUNT(*) FROM llm_call WHERE purpose = 'dialogue_memory' AND status = 'ok'"
    ).fetchone()[0]
    assert ends and all(e["turns"] <= 8 for e in ends)
    assert lines == sum(e["turns"] for e in ends) and memories == 2 * len(ends)
    for person in ("Ada Brook", "Ben Ortiz"):
        asked = [t for t, _, _ in calls_of(db, person, "reaction")]
        assert all(b - a >= 30 * 60 for a, b in zip(asked, asked[1:], strict=False)), (person, asked)


@pytest.mark.slow
def test_interview_at_a_time_uses_no_later_memory_and_changes_none(day) -> None:
    run, db = day
    person, at = "Mateo Quispe", 6 * 3600
    before = db.execute("SELECT * FROM memory ORDER BY person, id").fetchall()
    result = hamlet_process("interview", run, person, "Who did you talk to, and about what?", "--at", "+6h")
    assert result.code == 0, result.err
    assert result.out.startswith("[2026-02-13T12:00:00] Mateo Quispe:")
    assert db.execute("SELECT * FROM memory ORDER BY person, id").fetchall() == before
    prompt = json.loads(
        db.execute("SELECT request FROM llm_call WHERE purpose = 'interview' ORDER BY id DESC").fetchone()[0]
    )["messages"][1]["content"]
    earlier = {text for (text,) in db.execute("SELECT text FROM memory WHERE person = ? AND t <= ?", (person, at))}
    later = {text for (text,) in db.execute("SELECT text FROM memory WHERE person = ? AND t > ?", (person, at))}
    assert any(text.rstrip(".") in prompt for text in earlier), "the answer draws on earlier memories"
    # A later memory that quotes part of an earlier one (a summary made of its phrases) is in the prompt
    # only as part of the earlier one.
    assert not [
        text
        for text in later - earlier
        if text.rstrip(".") in prompt and not any(text.rstrip(".") in e for e in earlier)
    ]
    row = db.execute("SELECT person, time, question FROM interview ORDER BY id DESC").fetchone()
    assert row == (person, "2026-02-13T12:00:00", "Who did you talk to, and about what?")


@pytest.mark.parametrize(
    "args,needles",
    [
        (["Nobody Here", "hi"], ["unknown person 'Nobody Here' in this run"]),
        (["Mateo Quispe", "hi", "--at", "noon-ish"], ["--at", "noon-ish"]),
    ],
)
def test_interview_bad_input_is_one_line(day, args, needles) -> None:
    run, _ = day
    result = hamlet_process("interview", run, *args)
    assert result.code != 0 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1 and all(n in result.err for n in needles)


@pytest.mark.parametrize(
    "setting,needle",
    [
        ("w_recency=-1", "recency"),
        ("generative.w_recency=0", None),
        ("reflection_threshold=0", "reflection_threshold"),
    ],
)
def test_bad_generative_parameters_are_refused_before_running(tmp_path: Path, setting: str, needle) -> None:
    world = generative_town(tmp_path, people=2)
    extra = ["--set", "w_importance=0", "--set", "w_relevance=0"] if needle is None else []
    result = hamlet_process("run", world, "--llm", "scripted", "--set", setting, *extra, "--out", tmp_path / "r.db")
    assert result.code != 0 and len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert (needle or "all 0") in result.err
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize(
    "switch,absent",
    [
        ("reflection=off", ("memory", "reflection")),
        ("observation=off", ("memory", "observation")),
        ("planning=off", ("event", "plan")),
    ],
)
@pytest.mark.slow
def test_ablation_switches_turn_their_component_off(tmp_path: Path, switch: str, absent: tuple[str, str]) -> None:
    run = tmp_path / "r.db"
    record_run(
        generative_town(tmp_path, people=4), run, "--hours", "16", "--set", switch, "--set", "reflection_threshold=40"
    )
    db = sqlite3.connect(run)
    table, kind = absent
    assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE kind = ?", (kind,)).fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM event WHERE kind = 'act'").fetchone()[0] > 0, "people still act"
    # the other components still work (without observations there may be nothing to reflect on)
    others = {"reflection", "observation", "plan"} - {kind} - ({"reflection"} if kind == "observation" else set())
    present = {k for (k,) in db.execute("SELECT DISTINCT kind FROM memory")} | {
        k for (k,) in db.execute("SELECT DISTINCT kind FROM event")
    }
    assert others <= present


@pytest.mark.slow
def test_a_scheduled_whisper_becomes_a_whisper_memory_of_that_person(tmp_path: Path) -> None:
    world = generative_town(tmp_path, people=3)
    data = yaml.safe_load(world.read_text())
    who = data["people"][1]["name"]
    data["interventions"] = [{"at": "+2h", "kind": "whisper", "person": who, "text": "The mayor is resigning."}]
    world.write_text(yaml.safe_dump(data, sort_keys=False))
    run = tmp_path / "r.db"
    record_run(world, run, "--hours", "3")
    rows = sqlite3.connect(run).execute("SELECT person, t, text FROM memory WHERE kind = 'whisper'").fetchall()
    assert rows == [(who, 7200, "The mayor is resigning.")]


@pytest.mark.slow
def test_a_whisper_reaching_someone_on_the_road_still_becomes_their_memory(tmp_path: Path) -> None:
    world = generative_town(tmp_path, people=3)
    first = tmp_path / "first.db"
    record_run(world, first, "--hours", "4")
    # The same seed and replies give the same walks, so whoever walks at t in the first run walks then again.
    who, start, data = (
        sqlite3.connect(first)
        .execute(
            "SELECT person, time, data FROM event WHERE kind = 'move' AND json_extract(data, '$.minutes') >= 3"
            " ORDER BY seq LIMIT 1"
        )
        .fetchone()
    )
    mid_walk = (datetime.fromisoformat(start) + timedelta(minutes=1)).isoformat()
    plan = yaml.safe_load(world.read_text())
    plan["interventions"] = [{"at": mid_walk, "kind": "whisper", "person": who, "text": "The bridge is closed."}]
    world.write_text(yaml.safe_dump(plan, sort_keys=False))
    second = tmp_path / "second.db"
    record_run(world, second, "--hours", "4")
    db = sqlite3.connect(second)
    on_road = (
        db.execute(
            "SELECT COUNT(*) FROM event WHERE person = ? AND kind = 'arrive' AND time > ? AND time <= ?",
            (who, start, mid_walk),
        ).fetchone()[0]
        == 0
    )
    assert on_road, f"{who} should still be walking at {mid_walk}"
    rows = db.execute("SELECT person, text FROM memory WHERE kind = 'whisper'").fetchall()
    assert rows == [(who, "The bridge is closed.")]


@pytest.mark.slow
def test_a_generative_run_reaches_its_end_when_most_replies_are_broken(tmp_path: Path) -> None:
    run = tmp_path / "faulty.db"
    record_run(generative_town(tmp_path, people=4), run, "--hours", "6", "--llm-fault-rate", "0.7")
    db = sqlite3.connect(run)
    assert db.execute("SELECT status FROM run").fetchone()[0] == "finished"
    statuses = dict(db.execute("SELECT status, COUNT(*) FROM llm_call GROUP BY status").fetchall())
    assert statuses.get("fallback", 0) > 0 and statuses.get("error", 0) + statuses.get("invalid", 0) > 0
    assert db.execute("SELECT COUNT(*) FROM llm_call WHERE status = 'fallback' AND NOT fallback").fetchone()[0] == 0


def test_a_side_whose_notes_say_the_talk_changes_its_plans_re_plans_for_that_reason_and_no_other_does(room) -> None:
    """Park et al. §4.3.1: after a conversation each side may change its plans. Through the engine: every
    notes reply that says so is followed by that person's ``plan`` event of scope ``replan`` with the
    reason it gave (the re-plan prompt carrying it); a reply that does not is followed by none."""
    _, db = room
    replans = [
        (seconds(db, time), person, json.loads(data))
        for time, person, data in db.execute("SELECT time, person, data FROM event WHERE kind = 'plan' ORDER BY seq")
    ]
    checked = 0
    for person in ("Ada Brook", "Ben Ortiz"):
        prompts = calls_of(db, person, "replan")
        notes = calls_of(db, person, "dialogue_memory")
        for index, (t, prompt, reply) in enumerate(notes):
            partner = prompt.split("You just talked with ", 1)[1].split(" about ", 1)[0]
            reason = f"After talking with {partner}: {reply['why'] or f'what {partner} said'}"[:299]
            # A later talk with the same partner may give the same reason: a re-plan after it is its own.
            until = notes[index + 1][0] if index + 1 < len(notes) and not reply["react"] else math.inf
            found = [
                at
                for at, who, plan in replans
                if who == person
                and plan.get("scope") == "replan"
                and plan["reason"].startswith(reason)
                and t <= at < until
            ]
            acted_later = db.execute(
                "SELECT COUNT(*) FROM llm_call WHERE person = ? AND t > ? AND purpose IN"
                " ('decompose', 'reaction', 'replan')",
                (person, t),
            ).fetchone()[0]
            if reply["react"] and acted_later:
                assert found, (person, t, reason)
                assert any(reason in p for at, p, _ in prompts if at == found[0]), "the re-plan prompt lacks it"
                checked += 1
            elif not reply["react"]:
                assert not found, (person, t, "re-planned though the notes said no")
    assert checked, "no notes said the talk changed the plans: the test checked nothing"

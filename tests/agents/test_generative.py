"""The generative agent end to end on the town, with the scripted model."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.conftest import WORLDS, hamlet_process


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
    result = hamlet_process("run", WORLDS / "smallville.yaml", "--llm", "scripted", "--hours", "24", "--seed", "7",
                            "--out", run, "--quiet")
    assert result.code == 0, result.err
    return run, sqlite3.connect(run)


def counts(db: sqlite3.Connection, kind: str) -> dict[str, int]:
    return dict(db.execute("SELECT person, COUNT(*) FROM memory WHERE kind = ? GROUP BY person", (kind,)))


def test_every_person_plans_observes_reflects_and_talks(day) -> None:
    _, db = day
    people = {p for (p,) in db.execute("SELECT person FROM event WHERE kind = 'spawn'")}
    for kind in ("plan", "observation", "reflection", "dialogue"):
        assert set(counts(db, kind)) == people, f"someone has no {kind} memory"
    talkers = {p for (p,) in db.execute("SELECT person FROM event WHERE kind = 'say'")}
    assert talkers == people


def test_reflections_cite_earlier_memories_as_evidence(day) -> None:
    _, db = day
    for person, evidence, mid in db.execute("SELECT person, evidence, id FROM memory WHERE kind = 'reflection'"):
        cited = json.loads(evidence)
        assert cited and all(0 < e < mid for e in cited)
        found = db.execute(f"SELECT COUNT(*) FROM memory WHERE person = ? AND id IN ({','.join('?' * len(cited))})",
                           (person, *cited)).fetchone()[0]
        assert found == len(set(cited))


def test_the_planted_party_news_reaches_someone_else_through_conversation(day) -> None:
    _, db = day
    host = "Sofia Marchetti"
    heard = db.execute("SELECT DISTINCT person FROM memory WHERE kind = 'dialogue' AND person != ? "
                       "AND text LIKE '%party%' AND text LIKE '%Valentine%'", (host,)).fetchall()
    assert heard, "nobody learned of the party in a conversation"


def test_economy_stays_within_the_per_person_day_budget(day) -> None:
    _, db = day
    people = db.execute("SELECT COUNT(*) FROM event WHERE kind = 'spawn'").fetchone()[0]
    calls, tokens = db.execute("SELECT COUNT(*), SUM(prompt_tokens + completion_tokens) FROM llm_call").fetchone()
    assert calls / people <= 60 and tokens / people <= 40_000


def test_interview_at_a_time_uses_no_later_memory_and_changes_none(day) -> None:
    run, db = day
    person, at = "Mateo Quispe", 6 * 3600
    before = db.execute("SELECT * FROM memory ORDER BY person, id").fetchall()
    result = hamlet_process("interview", run, person, "Who did you talk to, and about what?", "--at", "+6h")
    assert result.code == 0, result.err
    assert result.out.startswith("[2026-02-13T12:00:00] Mateo Quispe:")
    assert db.execute("SELECT * FROM memory ORDER BY person, id").fetchall() == before
    prompt = json.loads(db.execute("SELECT request FROM llm_call WHERE purpose = 'interview' ORDER BY id DESC")
                        .fetchone()[0])["messages"][1]["content"]
    earlier = {text for (text,) in db.execute("SELECT text FROM memory WHERE person = ? AND t <= ?", (person, at))}
    later = {text for (text,) in db.execute("SELECT text FROM memory WHERE person = ? AND t > ?", (person, at))}
    assert any(text.rstrip(".") in prompt for text in earlier), "the answer draws on earlier memories"
    assert not [text for text in later - earlier if text.rstrip(".") in prompt]
    row = db.execute("SELECT person, time, question FROM interview ORDER BY id DESC").fetchone()
    assert row == (person, "2026-02-13T12:00:00", "Who did you talk to, and about what?")


@pytest.mark.parametrize("args,needles", [
    (["Nobody Here", "hi"], ["Nobody Here", "not in this run"]),
    (["Mateo Quispe", "hi", "--at", "noon-ish"], ["--at", "noon-ish"]),
])
def test_interview_bad_input_is_one_line(day, args, needles) -> None:
    run, _ = day
    result = hamlet_process("interview", run, *args)
    assert result.code != 0 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1 and all(n in result.err for n in needles)


@pytest.mark.parametrize("setting,needle", [
    ("w_recency=-1", "recency"),
    ("generative.w_recency=0", None),
    ("reflection_threshold=0", "reflection_threshold"),
])
def test_bad_generative_parameters_are_refused_before_running(tmp_path: Path, setting: str, needle) -> None:
    world = generative_town(tmp_path, people=2)
    extra = ["--set", "w_importance=0", "--set", "w_relevance=0"] if needle is None else []
    result = hamlet_process("run", world, "--llm", "scripted", "--set", setting, *extra, "--out", tmp_path / "r.db")
    assert result.code != 0 and len(result.err.strip().splitlines()) == 1 and "Traceback" not in result.err
    assert (needle or "all 0") in result.err
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize("switch,absent", [
    ("reflection=off", ("memory", "reflection")),
    ("observation=off", ("memory", "observation")),
    ("planning=off", ("event", "plan")),
])
def test_ablation_switches_turn_their_component_off(tmp_path: Path, switch: str, absent: tuple[str, str]) -> None:
    run = tmp_path / "r.db"
    result = hamlet_process("run", generative_town(tmp_path, people=4), "--llm", "scripted", "--hours", "16",
                            "--set", switch, "--set", "reflection_threshold=40", "--out", run, "--quiet")
    assert result.code == 0, result.err
    db = sqlite3.connect(run)
    table, kind = absent
    assert db.execute(f"SELECT COUNT(*) FROM {table} WHERE kind = ?", (kind,)).fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM event WHERE kind = 'act'").fetchone()[0] > 0, "people still act"
    # the other components still work (without observations there may be nothing to reflect on)
    others = {"reflection", "observation", "plan"} - {kind} - ({"reflection"} if kind == "observation" else set())
    present = {k for (k,) in db.execute("SELECT DISTINCT kind FROM memory")} | {
        k for (k,) in db.execute("SELECT DISTINCT kind FROM event")}
    assert others <= present


def test_a_scheduled_whisper_becomes_a_whisper_memory_of_that_person(tmp_path: Path) -> None:
    world = generative_town(tmp_path, people=3)
    data = yaml.safe_load(world.read_text())
    who = data["people"][1]["name"]
    data["interventions"] = [{"at": "+2h", "kind": "whisper", "person": who, "text": "The mayor is resigning."}]
    world.write_text(yaml.safe_dump(data, sort_keys=False))
    run = tmp_path / "r.db"
    assert hamlet_process("run", world, "--llm", "scripted", "--hours", "3", "--out", run, "--quiet").code == 0
    rows = sqlite3.connect(run).execute("SELECT person, t, text FROM memory WHERE kind = 'whisper'").fetchall()
    assert rows == [(who, 7200, "The mayor is resigning.")]


def test_a_whisper_reaching_someone_on_the_road_still_becomes_their_memory(tmp_path: Path) -> None:
    world = generative_town(tmp_path, people=3)
    first = tmp_path / "first.db"
    assert hamlet_process("run", world, "--llm", "scripted", "--hours", "4", "--out", first, "--quiet").code == 0
    # The same seed and replies give the same walks, so whoever walks at t in the first run walks then again.
    who, start, data = sqlite3.connect(first).execute(
        "SELECT person, time, data FROM event WHERE kind = 'move' AND json_extract(data, '$.minutes') >= 3"
        " ORDER BY seq LIMIT 1").fetchone()
    mid_walk = (datetime.fromisoformat(start) + timedelta(minutes=1)).isoformat()
    plan = yaml.safe_load(world.read_text())
    plan["interventions"] = [{"at": mid_walk, "kind": "whisper", "person": who, "text": "The bridge is closed."}]
    world.write_text(yaml.safe_dump(plan, sort_keys=False))
    second = tmp_path / "second.db"
    assert hamlet_process("run", world, "--llm", "scripted", "--hours", "4", "--out", second, "--quiet").code == 0
    db = sqlite3.connect(second)
    on_road = db.execute("SELECT COUNT(*) FROM event WHERE person = ? AND kind = 'arrive' AND time > ? AND time <= ?",
                         (who, start, mid_walk)).fetchone()[0] == 0
    assert on_road, f"{who} should still be walking at {mid_walk}"
    rows = db.execute("SELECT person, text FROM memory WHERE kind = 'whisper'").fetchall()
    assert rows == [(who, "The bridge is closed.")]


def test_a_generative_run_reaches_its_end_when_half_the_replies_are_broken(tmp_path: Path) -> None:
    run = tmp_path / "faulty.db"
    result = hamlet_process("run", generative_town(tmp_path, people=4), "--llm", "scripted", "--hours", "6",
                            "--llm-fault-rate", "0.5", "--out", run, "--quiet")
    assert result.code == 0, result.err
    db = sqlite3.connect(run)
    assert db.execute("SELECT status FROM run").fetchone()[0] == "finished"
    statuses = dict(db.execute("SELECT status, COUNT(*) FROM llm_call GROUP BY status").fetchall())
    assert statuses.get("fallback", 0) > 0 and statuses.get("error", 0) + statuses.get("invalid", 0) > 0
    assert db.execute("SELECT COUNT(*) FROM llm_call WHERE status = 'fallback' AND NOT fallback").fetchone()[0] == 0

"""The schedule mind: routine places and times, the day plan's free-time choice, and the LLM-free control."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import TINY_WORLD, WORLDS


def run_events(hamlet, world: Path, out: Path, *extra: str) -> list[dict]:
    result = hamlet("run", world, "--llm", "scripted-inprocess", "--out", out, "--quiet", *extra)
    assert result.code == 0, result.err
    assert hamlet("export", out, "--tables", "event", "--out", out.parent / (out.stem + "-x")).code == 0
    return [json.loads(line) for line in (out.parent / (out.stem + "-x") / "event.jsonl").read_text().splitlines()]


def test_free_time_is_spent_where_the_day_plan_chose(hamlet, tmp_path: Path) -> None:
    checked = 0
    for seed in range(1, 7):
        events = run_events(hamlet, WORLDS / "two_rooms.yaml", tmp_path / f"s{seed}.db", "--seed", str(seed))
        plan = next(e for e in events if e["kind"] == "plan" and e["person"] == "Ada Brook")["data"]
        free = next(
            e
            for e in events
            if e["kind"] == "act" and e["person"] == "Ada Brook" and e["data"]["activity"] == "spends free time"
        )
        assert free["place"].split(":")[0] == plan["free_time_place"]
        checked += plan["free_time_place"] == "Garden"
    assert checked, "over several seeds the plan sometimes picks the garden"


def test_without_llm_planning_the_routine_runs_with_no_calls(hamlet, tmp_path: Path) -> None:
    world = tmp_path / "w.yaml"
    world.write_text(TINY_WORLD + "minds:\n  schedule: {plan_with_llm: false, jitter_minutes: 0}\n")
    events = run_events(hamlet, world, tmp_path / "r.db")
    summary = json.loads(hamlet("show", tmp_path / "r.db", "--json").out)
    assert summary["llm_calls"] == 0
    moves = [e for e in events if e["kind"] == "move" and e["person"] == "Ann"]
    assert moves[0]["time"] == "2026-03-02T10:00:00", "no jitter: Ann leaves exactly at 10:00"


def test_a_person_without_a_routine_gets_a_sensible_day(hamlet, tmp_path: Path) -> None:
    world = tmp_path / "w.yaml"
    world.write_text(TINY_WORLD)
    events = run_events(hamlet, world, tmp_path / "r.db", "--hours", "24")
    bo = [e["data"]["activity"] for e in events if e["person"] == "Bo" and e["kind"] == "act"]
    assert bo[0] == "goes to bed", "at 06:00 the night's sleep is still under way"
    assert {"wakes up and gets ready", "spends free time"} <= set(bo)

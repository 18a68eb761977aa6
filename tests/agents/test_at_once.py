"""A wake-up's and a conversation's independent calls are asked at once, and the log does not change."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from sim.llm.scripted import ScriptConfig, ScriptedModel
from tests.sim.in_process import run_in_process

SMALLVILLE = (Path(__file__).parents[2] / "worlds" / "smallville.yaml").read_text()


def _intervals(db: Path, purpose: str) -> dict[tuple[int, str], list[tuple[float, float]]]:
    """(tick, person) -> the wall-clock intervals of their calls of ``purpose``, by call number."""
    out: dict[tuple[int, str], list[tuple[float, float]]] = {}
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT tick, person, wall_time, latency_ms FROM llm_call WHERE purpose = ? ORDER BY id", (purpose,)
        ).fetchall()
    for tick, person, wall, latency in rows:
        end = datetime.fromisoformat(wall).timestamp()
        out.setdefault((tick, person), []).append((end - latency / 1000, end))
    return out


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@pytest.mark.slow
def test_both_people_sum_each_other_up_at_once_as_a_conversation_begins(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    run_in_process(db, SMALLVILLE, 4, seed=5, model=ScriptedModel(ScriptConfig(seed=5, latency_ms=150)))
    summed = _intervals(db, "relationship")
    by_tick: dict[int, list[tuple[float, float]]] = {}
    for (tick, _), spans in summed.items():
        by_tick.setdefault(tick, []).extend(spans)
    pairs = [spans for spans in by_tick.values() if len(spans) == 2]
    assert pairs, "a conversation was held (seed 5 has one at 06:51)"
    for first, second in pairs:
        assert _overlap(first, second), "the second speaker did not wait for the first line to sum up the first"


@pytest.mark.slow
def test_a_reflections_insight_calls_are_asked_at_once(tmp_path: Path) -> None:
    db = tmp_path / "run.db"
    text = SMALLVILLE.replace("reflection_threshold: 150", "reflection_threshold: 20")
    run_in_process(db, text, 3, seed=2, model=ScriptedModel(ScriptConfig(seed=2, latency_ms=150)))
    reflections = [spans for spans in _intervals(db, "reflection_insights").values() if len(spans) >= 2]
    assert reflections, "someone reflected on more than one question"
    for spans in reflections:
        assert all(_overlap(spans[0], other) for other in spans[1:]), spans

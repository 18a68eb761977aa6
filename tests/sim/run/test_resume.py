"""Crash safety: ``kill -9`` at any point, then ``hamlet resume``, gives the uninterrupted log."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import count_events, events_export, hamlet_process, record_run, run_in_background

PEOPLE = 24


def busy_world(path: Path) -> Path:
    """A town where people cross paths all day, so a run is long enough to kill mid-way."""
    houses = "\n".join(f"  - name: House {i}\n    areas:\n      - name: room\n        objects: [bed]" for i in range(6))
    links = "\n".join(f"  - between: [House {i}, Square]\n    minutes: {3 + i}" for i in range(6))
    people = "\n".join(
        f"""  - name: Person {i:02d}
    home: House {i % 6}
    routine:
      - {{at: "07:00", do: has breakfast, place: House {i % 6}}}
      - {{at: "{8 + i % 3}:{(i * 7) % 60:02d}", do: works, place: Square:{"market" if i % 2 else "hall"}}}
      - {{at: "13:00", do: eats lunch, place: Square:cafe}}
      - {{at: "14:{(i * 5) % 60:02d}", do: works, place: Square:hall}}
      - {{at: "18:00", do: spends free time, place: free}}
      - {{at: "22:00", do: sleeps, place: House {i % 6}, object: bed}}"""
        for i in range(PEOPLE)
    )
    path.write_text(f"""hamlet: 1
name: Busy
start: 2026-05-04T06:00
hours: 240
seed: 5
snapshot_minutes: 45
sectors:
{houses}
  - name: Square
    areas:
      - name: market
      - name: hall
      - name: cafe
links:
{links}
people:
{people}
""")
    return path


def start_run(world: Path, out: Path, latency_ms: int = 100) -> subprocess.Popen[bytes]:
    return run_in_background(world, out, llm="scripted-inprocess", latency_ms=latency_ms)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    folder = tmp_path_factory.mktemp("reference")
    world = busy_world(folder / "busy.yaml")
    run = folder / "whole.db"
    assert start_run(world, run).wait(300) == 0
    return world, events_export(run, folder / "x")


@pytest.mark.slow
@pytest.mark.parametrize("fraction", [0.15, 0.45, 0.8])
def test_kill_9_then_resume_gives_the_same_events_as_an_uninterrupted_run(
    reference: tuple[Path, bytes], tmp_path: Path, fraction: float
) -> None:
    world, expected = reference
    total = expected.count(b"\n")
    run = tmp_path / "killed.db"
    proc = start_run(world, run)
    began = time.monotonic()
    while count_events(run) < total * fraction and time.monotonic() - began < 120:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    db = sqlite3.connect(run)
    status, now = db.execute("SELECT status, sim_now FROM run").fetchone()
    killed_events = db.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    db.close()
    assert status == "running", "the kill must land mid-run for this test to mean anything"
    assert 0 < killed_events < expected.count(b"\n")
    result = hamlet_process("resume", run, "--quiet")
    assert result.code == 0, result.err
    assert events_export(run, tmp_path / "x") == expected


@pytest.mark.slow
def test_resume_of_a_finished_run_says_so_and_extends_with_hours(tmp_path: Path) -> None:
    from tests.conftest import WORLDS

    run = tmp_path / "r.db"
    record_run(WORLDS / "two_rooms.yaml", run, "--hours", "6", llm="scripted-inprocess")
    again = hamlet_process("resume", run)
    assert again.code != 0 and "already finished" in again.err and "Traceback" not in again.err
    longer = hamlet_process("resume", run, "--hours", "18", "--quiet")
    assert longer.code == 0, longer.err
    whole = tmp_path / "whole.db"
    record_run(WORLDS / "two_rooms.yaml", whole, "--hours", "24", llm="scripted-inprocess")
    assert events_export(run, tmp_path / "a") == events_export(whole, tmp_path / "b")


@pytest.mark.slow
def test_resume_refuses_a_run_that_another_process_is_still_writing(
    reference: tuple[Path, bytes], tmp_path: Path
) -> None:
    world, expected = reference
    run = tmp_path / "live.db"
    # A model this slow keeps the run writing for 15 s or more (a call each morning of ten days), so a
    # loaded machine starting `hamlet resume` cannot find it finished; the events do not depend on it.
    proc = start_run(world, run, latency_ms=1500)
    try:
        began = time.monotonic()
        while count_events(run) == 0 and time.monotonic() - began < 60:
            time.sleep(0.02)
        result = hamlet_process("resume", run, "--quiet")
        assert result.code != 0 and "still being written" in result.err and "Traceback" not in result.err
    finally:
        proc.wait(300)
    assert events_export(run, tmp_path / "x") == expected, "the refused resume changed nothing"


@pytest.mark.slow
def test_kill_9_of_a_generative_run_then_resume_restores_memories_and_indexes(tmp_path: Path) -> None:
    from tests.agents.test_generative import generative_town

    world = generative_town(tmp_path, people=5)

    def start(out: Path) -> subprocess.Popen[bytes]:
        return run_in_background(
            world, out, "--hours", "24", "--set", "reflection_threshold=60", llm="scripted-inprocess", latency_ms=30
        )

    whole = tmp_path / "whole.db"
    assert start(whole).wait(600) == 0
    assert hamlet_process("export", whole, "--tables", "event", "memory", "--out", tmp_path / "a").code == 0
    total = (tmp_path / "a" / "event.jsonl").read_text().count("\n")
    run = tmp_path / "killed.db"
    proc = start(run)
    began = time.monotonic()
    while count_events(run) < total * 0.5 and time.monotonic() - began < 300:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < count_events(run) < total
    result = hamlet_process("resume", run, "--quiet")
    assert result.code == 0, result.err
    assert hamlet_process("export", run, "--tables", "event", "memory", "--out", tmp_path / "b").code == 0
    for name in ("event.jsonl", "memory.jsonl"):
        assert (tmp_path / "b" / name).read_bytes() == (tmp_path / "a" / name).read_bytes(), name

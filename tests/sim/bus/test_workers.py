"""Minds on worker processes: the same log as an in-process run, whatever happens to a worker."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from sim.export import export_run
from tests.conftest import WORLDS, count_events, hamlet_process
from tests.sim.bus.conftest import Mosquitto, Workers, start_hamlet

# The generative town (plans, memories, reflections, conversations: every kind of job) for 4 hours.
TOWN = ["run", str(WORLDS / "smallville.yaml"), "--llm", "scripted", "--hours", "4", "--seed", "7",
        "--embeddings", "hash", "--quiet"]
SLOW = ["--llm-latency-ms", "40"]  # replies take 40 ms: the run lasts long enough to harm a worker mid-way
BAD_RESULTS = ['{"results": [', '{"v": 7, "run": "town", "worker": "w", "results": []}',
               '{"v": 1, "run": "elsewhere", "worker": "w", "results": []}',
               '{"v": 1, "run": "town", "worker": "w", "results": [{"id": "one"}]}']
CALL_COLUMNS = ("tick, t, person, purpose, model, attempt, status, cache_key, cache_hit, fallback, request, "
                "response, error, prompt_tokens, completion_tokens, cost_usd")


def export(run: Path, folder: Path, table: str) -> bytes:
    """What ``hamlet export RUN --tables TABLE`` writes."""
    (written,) = export_run(run, "jsonl", folder, [table])
    return written.read_bytes()


def calls(run: Path) -> list[tuple]:
    db = sqlite3.connect(f"file:{run}?mode=ro", uri=True)
    try:
        return db.execute(f"SELECT {CALL_COLUMNS} FROM llm_call ORDER BY id").fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("in_process") / "town.db"
    result = hamlet_process(*TOWN, "--out", run)
    assert result.code == 0, result.err
    return run


def external_run(broker: Mosquitto, run: Path, out: Path, *extra: str):
    return start_hamlet(*TOWN, "--out", str(run), "--mqtt", broker.url(), "--workers", "external", *extra, out=out)


def wait_for_events(run: Path, count: int, process) -> None:
    deadline = time.monotonic() + 60
    while count_events(run) < count:
        assert process.poll() is None and time.monotonic() < deadline, "the run ended or stalled early"
        time.sleep(0.02)


@pytest.mark.slow
def test_a_run_on_two_worker_processes_writes_the_events_export_of_an_in_process_run(
        broker: Mosquitto, tmp_path: Path, in_process: Path) -> None:
    workers = Workers.start(broker.url(), 2, tmp_path / "workers.txt")
    run, out = tmp_path / "town.db", tmp_path / "run.txt"
    assert external_run(broker, run, out).wait(120) == 0, out.read_text()
    assert export(run, tmp_path / "a", "event") == export(in_process, tmp_path / "b", "event")
    assert export(run, tmp_path / "a", "memory") == export(in_process, tmp_path / "b", "memory")
    assert calls(run) == calls(in_process)  # the workers' LLM calls land in the run file, in the same order
    workers.stop()
    served = workers.jobs()
    assert len(served) == 2 and all(n > 0 for n in served), workers.out.read_text()  # both did some of the thinking


@pytest.mark.parametrize("harm", ["kill", "stall"])
@pytest.mark.slow
def test_a_worker_that_dies_or_stalls_mid_run_has_its_people_reassigned_and_the_run_ends_the_same(
        broker: Mosquitto, tmp_path: Path, in_process: Path, harm: str) -> None:
    workers = Workers.start(broker.url(), 2, tmp_path / "workers.txt")
    run, out = tmp_path / "town.db", tmp_path / "run.txt"
    world = external_run(broker, run, out, *SLOW, "--worker-timeout", "2")
    wait_for_events(run, count_events(in_process) // 3, world)
    victim = workers.pids[0]
    os.kill(victim, signal.SIGKILL if harm == "kill" else signal.SIGSTOP)
    for payload in BAD_RESULTS:  # what arrives on the world's input topic from elsewhere is refused
        assert broker.publish("hamlet/town/_work/done/impostor", payload).returncode == 0
    try:
        assert world.wait(120) == 0, out.read_text()
    finally:
        if harm == "stall":
            os.kill(victim, signal.SIGCONT)
    text = out.read_text()
    why = "it left the broker" if harm == "kill" else "no heartbeat for 2 s"
    assert f"lost ({why})" in text and "people go to other workers" in text, text
    assert export(run, tmp_path / "a", "event") == export(in_process, tmp_path / "b", "event")
    assert export(run, tmp_path / "a", "memory") == export(in_process, tmp_path / "b", "memory")
    reasons = [r for (r,) in sqlite3.connect(run).execute("SELECT reason FROM rejection ORDER BY id")]
    assert len(reasons) == len(BAD_RESULTS), reasons
    assert "not JSON" in reasons[0] and "envelope version 7" in reasons[1] and "is not this run" in reasons[2]
    assert "integer id" in reasons[3]


@pytest.mark.slow
def test_a_distributed_run_killed_mid_way_resumes_in_process_to_the_uninterrupted_log(
        broker: Mosquitto, tmp_path: Path, in_process: Path) -> None:
    Workers.start(broker.url(), 2, tmp_path / "workers.txt")
    run, out = tmp_path / "town.db", tmp_path / "run.txt"
    world = external_run(broker, run, out, *SLOW)
    wait_for_events(run, count_events(in_process) // 2, world)
    world.kill()  # the world's snapshots hold each mind's state as its worker returned it
    world.wait(10)
    result = hamlet_process("resume", run, "--quiet")
    assert result.code == 0, result.err
    assert export(run, tmp_path / "a", "event") == export(in_process, tmp_path / "b", "event")
    assert export(run, tmp_path / "a", "memory") == export(in_process, tmp_path / "b", "memory")

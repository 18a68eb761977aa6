"""Ctrl-C: one line saying how to resume, exit code 130, no traceback from any child, every finished call kept.

A terminal's Ctrl-C sends SIGINT to its whole foreground process group, so each test starts the
run in a process group of its own and sends SIGINT to that group, as a terminal would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks import crash
from tests.conftest import ROOT, WORLDS, count_events, hamlet_process, run_command

pytestmark = pytest.mark.slow


def run_args(out: Path, backend: str, *extra: str) -> list[str]:
    """``hamlet run`` of worlds/smallville.yaml for two simulated hours on a scripted model."""
    return run_command(WORLDS / "smallville.yaml", out, "--hours", "2", *extra, llm=backend, quiet=False)


def children_of(pid: int) -> set[int]:
    """The processes ``pid`` started and has not yet reaped (Linux)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended and been reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def held_for(seconds: float, condition: Callable[[], bool]) -> Callable[[], bool]:
    """A readiness check: true once ``condition()`` has been true for ``seconds``."""
    since: float | None = None

    def ready() -> bool:
        nonlocal since
        if since is None and condition():
            since = time.monotonic()
        return since is not None and time.monotonic() - since >= seconds

    return ready


def interrupt(args: list[str], ready: Callable[[], bool]) -> tuple[subprocess.CompletedProcess[str], set[int]]:
    """Start ``args`` in a process group of its own, send SIGINT to the group once ``ready()``, wait for it."""
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    children: set[int] = set()
    began = time.monotonic()
    try:
        while not ready() and proc.poll() is None and time.monotonic() - began < 300:
            children |= children_of(proc.pid)
            time.sleep(0.02)
        children |= children_of(proc.pid)
        assert proc.poll() is None, "the run ended before the interrupt"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(args, proc.returncode, out, err), children


def status(path: Path) -> tuple[str, str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT status, message FROM run").fetchone()
    finally:
        db.close()


@pytest.mark.parametrize("backend", ["scripted", "scripted-inprocess"])
def test_ctrl_c_mid_run_says_one_line_exits_130_and_the_file_resumes_to_the_uninterrupted_log(
    backend: str, tmp_path: Path
) -> None:
    reference = tmp_path / "reference.db"
    whole = subprocess.run(
        run_args(reference, backend, "--llm-latency-ms", "50", "--quiet"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert whole.returncode == 0, whole.stderr
    expected = crash.dump(reference)
    run = tmp_path / "interrupted.db"
    half = len(expected["event"]) // 2
    result, children = interrupt(run_args(run, backend, "--llm-latency-ms", "50"), lambda: count_events(run) >= half)

    assert result.returncode == 130
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith(f"hamlet run: {run}: interrupted") and f"hamlet resume {run}" in lines[0]
    assert status(run) == ("interrupted", "interrupted (Ctrl-C); continue with hamlet resume")
    assert all(gone(pid) for pid in children), "the model server Hamlet started is stopped"
    if backend == "scripted":
        assert children, "the scripted model's server was a child of the run"
    shown = hamlet_process("show", run)
    assert shown.code == 0 and "interrupted" in shown.out and "running" not in shown.out.split("\n")[0]

    resumed = hamlet_process("resume", run, "--quiet")
    assert resumed.code == 0, resumed.err
    assert crash.differences(expected, crash.dump(run)) == []


def test_ctrl_c_during_a_slow_first_tick_keeps_the_calls_it_finished_and_resume_does_not_send_them_again(
    tmp_path: Path,
) -> None:
    run = tmp_path / "slow.db"
    # One call at a time, a second each: the first tick (nine people planning) lasts well over ten seconds.
    args = run_args(run, "scripted", "--llm-latency-ms", "1000", "--concurrency", "1", "--hours", "1")
    result, _ = interrupt(args, held_for(3.5, lambda: count_events(run) > 0))
    assert result.returncode == 130, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    db = sqlite3.connect(run)
    kept = db.execute("SELECT cache_key, attempt, latency_ms, wall_time FROM llm_call ORDER BY id").fetchall()
    ticks = {tick for (tick,) in db.execute("SELECT DISTINCT tick FROM llm_call")}
    committed = db.execute("SELECT MAX(tick) FROM event").fetchone()[0]
    db.close()
    assert len(kept) >= 2, "the calls that ended before Ctrl-C are recorded"
    assert ticks == {1} and committed == 0, "they belong to the first tick, which was never committed"

    resumed = hamlet_process("resume", run, "--quiet", "--llm-latency-ms", "1", "--concurrency", "8")
    assert resumed.code == 0, resumed.err
    db = sqlite3.connect(run)
    again = {
        (key, attempt): (latency, wall)
        for key, attempt, latency, wall in db.execute("SELECT cache_key, attempt, latency_ms, wall_time FROM llm_call")
    }
    db.close()
    for key, attempt, latency, wall in kept:
        assert again[key, attempt] == (latency, wall), "a call finished before Ctrl-C is not sent again"

"""Exact resume under crashes and failures: the whole run file, every table, equals an uninterrupted run.

The trials come from benchmarks/crash.py (the 100-kill harness); this file runs a sample of them
and the failures a user meets: a full disk, a file locked by another process, two resumes at once.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import crash
from tests.conftest import ROOT, hamlet_process

pytestmark = pytest.mark.slow


class References:
    """Uninterrupted runs, recorded the first time a test needs one (world, latency)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs: dict[tuple[str, int], crash.Reference] = {}

    def __call__(self, world: str, latency_ms: int) -> crash.Reference:
        if (world, latency_ms) not in self.runs:
            self.runs[world, latency_ms] = crash.reference(world, latency_ms, self.folder)
        return self.runs[world, latency_ms]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> References:
    return References(tmp_path_factory.mktemp("references"))


def run_again(ref: crash.Reference, path: Path, *changes: str) -> Path:
    """Run ``ref``'s world again into ``path``, then make the SQL ``changes`` to the file."""
    subprocess.run(ref.command(path), cwd=ROOT, check=True, capture_output=True, timeout=600)
    db = sqlite3.connect(path)
    with db:
        for change in changes:
            db.execute(change)
    db.close()
    return path


@pytest.mark.parametrize("world", sorted(crash.WORLDS))
def test_two_runs_of_a_world_write_identical_files_snapshots_included(
    reference: References, world: str, tmp_path: Path
) -> None:
    first = reference(world, 0)
    again = run_again(first, tmp_path / "again.db")
    assert first.log["snapshot"], "the run wrote snapshots"
    assert crash.differences(first.log, crash.dump(again)) == []


@pytest.mark.parametrize(
    ("world", "latency_ms", "seed"),
    [(w, lat, i) for i, (w, lat) in enumerate(crash.plan(6, [0, 50], sorted(crash.WORLDS)))],
)
def test_kill_9_at_a_random_point_then_resume_gives_the_whole_log(
    reference: References, world: str, latency_ms: int, seed: int, tmp_path: Path
) -> None:
    ref = reference(world, latency_ms)
    result = crash.trial(ref, random.Random(seed), tmp_path, seed, upto=0.8)
    assert result.status == "running" and 0 < result.killed_at < ref.events, "the kill landed mid-run"
    assert result.resume_code == 0, result.resume_err
    assert result.diffs == []


def test_the_harness_sees_a_difference_in_any_table(reference: References, tmp_path: Path) -> None:
    ref = reference("team", 0)
    copy = run_again(
        ref,
        tmp_path / "copy.db",
        "UPDATE snapshot SET state = replace(state, '\"tick\":', '\"tick\": ') WHERE id = 2",
        "DELETE FROM llm_call WHERE id = (SELECT MAX(id) FROM llm_call)",
    )
    found = crash.differences(ref.log, crash.dump(copy))
    assert [line.split(":")[0] for line in found] == ["llm_call", "snapshot"]


# -- a full disk, a locked file, two resumes at once -------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``folder`` (root only); grown to 64 MB by ``grow``."""
    folder.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_ends_with_one_line_a_failed_status_and_a_file_that_resumes_exactly(
    reference: References, tmp_path: Path
) -> None:
    ref = reference("town", 0)
    with small_disk(tmp_path / "disk", "600k") as disk:
        run = disk / "full.db"
        proc = subprocess.run(ref.command(run), cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert proc.returncode != 0
        assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
        assert "the disk is full" in proc.stderr and "hamlet resume" in proc.stderr
        shown = hamlet_process("show", run)
        assert shown.code == 0 and "running" not in shown.out.split("\n")[0]
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        resumed = hamlet_process("resume", run, "--quiet")
        assert resumed.code == 0, resumed.err
        assert crash.differences(ref.log, crash.dump(run)) == []


def hold_write_lock(path: Path) -> subprocess.Popen[str]:
    """Another process that takes the file's write lock and keeps it until killed."""
    code = (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def test_a_run_file_locked_by_another_process_gets_one_line_then_resumes_exactly(
    reference: References, tmp_path: Path
) -> None:
    ref = reference("town", 50)
    run = tmp_path / "locked.db"
    proc = subprocess.Popen(ref.command(run), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    began = time.monotonic()
    while crash.count_events(run) < ref.events // 3 and time.monotonic() - began < 300:
        time.sleep(0.01)
    holder = hold_write_lock(run)  # mid-run: the run's writer waits, then gives up
    try:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode != 0
        assert err.strip().count("\n") == 0 and "Traceback" not in err and "locked by another process" in err
        shown = hamlet_process("show", run)
        assert shown.code == 0 and ("(lost" in shown.out or "(failed" in shown.out), shown.out
        refused = hamlet_process("resume", run, "--quiet")  # still locked: one line, nothing changed
        assert refused.code != 0 and "locked by another process" in refused.err and "Traceback" not in refused.err
    finally:
        holder.kill()
        holder.wait()
    resumed = hamlet_process("resume", run, "--quiet")
    assert resumed.code == 0, resumed.err
    assert crash.differences(ref.log, crash.dump(run)) == []


def test_two_resumes_started_at_once_one_writes_the_other_gets_one_line(reference: References, tmp_path: Path) -> None:
    ref = reference("town", 50)
    run = tmp_path / "twice.db"
    proc = subprocess.Popen(ref.command(run), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    began = time.monotonic()
    while crash.count_events(run) < ref.events // 4 and time.monotonic() - began < 300:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    shown = hamlet_process("show", run)
    assert "(lost" in shown.out, "a killed run reads as lost, not as running"
    command = [sys.executable, "-m", "sim", "resume", str(run), "--quiet"]
    both = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    results = [(p.wait(600), p.stderr.read() if p.stderr else "") for p in both]
    for code, err in results:
        assert "Traceback" not in err
        assert code == 0 or (err.strip().count("\n") == 0 and "being written by process" in err), err
    assert any(code == 0 for code, _ in results)
    assert crash.differences(ref.log, crash.dump(run)) == []


def test_a_run_killed_between_its_end_snapshot_and_its_status_resumes_to_the_same_file(
    reference: References, tmp_path: Path
) -> None:
    # The last moment a kill can land: the end's snapshot is committed, "finished" is not yet
    # written. The harness found a resume from there wrote the end's snapshot a second time.
    ref = reference("mixed", 0)
    run = run_again(ref, tmp_path / "late.db", "UPDATE run SET status = 'running', message = ''")
    resumed = hamlet_process("resume", run, "--quiet")
    assert resumed.code == 0, resumed.err
    assert crash.differences(ref.log, crash.dump(run)) == []

"""Sweeps on Ray: one task per run, a task whose process is killed resumes from its run file, the tables are the local executor's.

Skipped with a reason only where Ray is missing and the run is not CI's (``.ci/run`` installs the
``cluster`` extra and sets HAMLET_REQUIRE_RAY=1, so there a missing Ray is a failure).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT, WORLDS, Result, assert_one_line_error, hamlet_process
from tests.sim.research.test_sweep import SLOW_SWEEP


def _require_ray() -> None:
    if importlib.util.find_spec("ray") is not None:
        return
    if os.environ.get("CI") or os.environ.get("HAMLET_REQUIRE_RAY"):
        pytest.fail("Ray is required here: pip install -e '.[cluster]'")
    pytest.skip("Ray is not installed (pip install -e '.[cluster]'; .ci/run installs it)")


# The slow sweep, two runs at a time, so that a kill lands mid-run.
SWEEP = (*SLOW_SWEEP, "--parallel", "2")
KILLED = "mind-generative_seed1.db"


def test_without_ray_the_ray_executor_is_one_line_saying_what_to_install(
    hamlet: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    result = hamlet(*SWEEP, "--out", tmp_path / "s", "--executor", "ray")
    assert_one_line_error(result, "--executor ray: Ray is not installed", "pip install 'hamlet-sim[cluster]'")
    assert not (tmp_path / "s").exists()


def test_an_unreachable_cluster_is_one_line_and_nothing_is_written(
    hamlet: Callable[..., Result], tmp_path: Path
) -> None:
    _require_ray()
    from tests.sim.bus.conftest import free_port

    address = f"127.0.0.1:{free_port()}"
    began = time.monotonic()
    result = hamlet(*SWEEP, "--out", tmp_path / "s", "--executor", "ray", "--ray-address", address)
    assert_one_line_error(result, f"--ray-address {address}: no Ray cluster answers", "ray start --head")
    assert time.monotonic() - began < 10, "refused at once, not after Ray's own minutes of retries"
    assert not (tmp_path / "s").exists()


def test_a_cluster_address_without_the_ray_executor_is_one_line(hamlet: Callable[..., Result], tmp_path: Path) -> None:
    result = hamlet(*SWEEP, "--out", tmp_path / "s", "--ray-address", "127.0.0.1:6379")
    assert_one_line_error(result, "--ray-address", "--executor ray")
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_a_task_killed_mid_run_resumes_from_its_run_file_and_the_tables_are_the_local_executors(tmp_path: Path) -> None:
    _require_ray()
    out = tmp_path / "ray"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "sim", *map(str, SWEEP), "--out", str(out), "--executor", "ray"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Kill the process writing the first run (a Ray worker: the run file names it) once it has
    # committed a snapshot past the start, as an out-of-memory kill or a lost node would.
    killed_at, tick = None, -1
    deadline = time.monotonic() + 120
    while killed_at is None and sweep.poll() is None and time.monotonic() < deadline:
        try:
            db = sqlite3.connect(f"file:{out / KILLED}?mode=ro", uri=True, timeout=1)
            try:
                tick, t = db.execute("SELECT tick, t FROM snapshot ORDER BY tick DESC LIMIT 1").fetchone() or (-1, 0)
                writer = db.execute("SELECT value FROM meta WHERE key = 'writer'").fetchone()
            finally:
                db.close()
        except sqlite3.Error:  # not there yet, or not yet a run file
            t, writer = 0, None
        if t > 0 and writer:
            os.kill(int(writer[0].split("@")[0]), signal.SIGKILL)
            killed_at = datetime.now(UTC)
        time.sleep(0.05)
    stdout, stderr = sweep.communicate(timeout=180)
    assert killed_at is not None, f"the run ended before a snapshot could be seen: {stderr}"
    assert sweep.returncode == 0, stderr
    runs = [line for line in stderr.splitlines() if line.startswith("run ")]
    assert [line for line in runs if line.endswith(", resumed from its run file)")] == [
        line for line in runs if ": seed=1 " in line
    ], stderr
    assert len(runs) == 3 and set(stderr.splitlines()) - set(runs) == {
        str(out / name) for name in ("runs.csv", "sweep.csv", "sweep.json")
    }, "nothing from Ray on stderr"

    with sqlite3.connect(out / KILLED) as db:
        calls = [
            (tick_, datetime.fromisoformat(wall))
            for tick_, wall in db.execute("SELECT tick, wall_time FROM llm_call ORDER BY id")
        ]
        status = db.execute("SELECT status FROM run").fetchone()[0]
    assert status == "finished"
    before = [wall for tick_, wall in calls if tick_ <= tick]
    assert before and all(wall < killed_at for wall in before), "what was committed up to the snapshot was kept"
    assert any(wall > killed_at for _, wall in calls), "the rest was run by the retry"

    local = hamlet_process(*SWEEP, "--out", tmp_path / "local", "--quiet")
    assert local.code == 0, local.err
    assert stdout == local.out
    for table in ("runs.csv", "sweep.csv"):
        assert (out / table).read_bytes() == (tmp_path / "local" / table).read_bytes(), table


@pytest.mark.slow
def test_a_sweep_joins_a_running_cluster_by_its_address_and_writes_the_local_executors_tables(tmp_path: Path) -> None:
    _require_ray()
    from tests.sim.bus.conftest import free_port

    port = free_port()
    # A head of its own on a free port, without token authentication (whether `ray start` turns it on
    # depends on a token in ~/.ray, which other tests' local Rays may have left).
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ray.scripts.scripts",
            "start",
            "--head",
            "--port",
            str(port),
            "--num-cpus",
            "2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            "--block",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        two = ("sweep", WORLDS / "two_rooms.yaml", "--seeds", "1-3", "--hours", "2", "--llm", "scripted-inprocess")
        deadline = time.monotonic() + 60
        while True:  # the head takes a few seconds to listen
            joined = hamlet_process(
                *two,
                "--out",
                tmp_path / "ray",
                "--executor",
                "ray",
                "--parallel",
                "2",
                "--ray-address",
                f"127.0.0.1:{port}",
                env={"RAY_AUTH_MODE": "disabled"},
            )
            if joined.code == 0 or "no Ray cluster answers" not in joined.err or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert joined.code == 0, joined.err
    finally:
        head.terminate()  # `ray start --block` stops what it started
        head.wait(timeout=60)
    local = hamlet_process(*two, "--out", tmp_path / "local")
    assert local.code == 0 and joined.out == local.out
    for table in ("runs.csv", "sweep.csv"):
        assert (tmp_path / "ray" / table).read_bytes() == (tmp_path / "local" / table).read_bytes(), table

"""The benchmarks' measured run follows the real path of ``hamlet run``, so its figures are the CLI's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, WORLDS, events_export, hamlet_process


@pytest.mark.slow
def test_the_measured_run_writes_the_same_events_as_hamlet_run_and_reports_its_figures(tmp_path: Path) -> None:
    world = WORLDS / "two_rooms.yaml"
    measured, plain = tmp_path / "measured.db", tmp_path / "plain.db"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "runner.py"), str(world), "--out", str(measured), "--hours", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(proc.stdout.splitlines()[-1])
    assert figures["events_per_s"] > 0 and figures["overhead_n"] > 0
    assert hamlet_process("run", world, "--llm", "scripted", "--hours", "3", "--out", plain, "--quiet").code == 0
    assert events_export(measured, tmp_path / "m") == events_export(plain, tmp_path / "p"), (
        "the benchmark measures the run hamlet run makes"
    )

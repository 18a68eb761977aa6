"""Every benchmark a user runs answers ``--help`` with its usage, and runs nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

LIBRARIES = {"common.py", "million.py"}  # imported by the benchmarks, not run
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.name not in LIBRARIES and p.name[0] != "_")


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_answers_help_with_its_usage(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: "), proc.stdout[:200]

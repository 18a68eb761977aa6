"""docs/research.md works as written: every bash block runs, in order, from a checkout's root, then its Python."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SHARED

PAGE = ROOT / "docs" / "research.md"


def blocks(kind: str) -> list[str]:
    """The page's fenced code blocks of one kind, in order."""
    return re.findall(rf"```{kind}\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="the peers' data is not beside the checkout")
def test_every_command_of_the_research_guide_runs_as_written(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "worlds").symlink_to(ROOT / "worlds")
    (tmp_path / "shared").symlink_to(SHARED)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    prelude = f'set -euo pipefail\nhamlet() {{ "{sys.executable}" -m sim "$@"; }}\n'
    for number, block in enumerate(blocks("bash"), 1):
        done = subprocess.run(
            ["bash", "-c", prelude + block], cwd=checkout, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"block {number} failed:\n{block}\n{done.stderr[-3000:]}"
    for name in ("diffusion.png", "density.png", "network.png", "cost.png"):
        assert (checkout / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert (checkout / "graphs" / "knows.graphml").exists() and (checkout / "tables" / "event.parquet").exists()
    assert len(list((checkout / "sweeps" / "observation").glob("*.db"))) == 6
    for code in blocks("python"):
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=checkout, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{code}\n{done.stderr[-3000:]}"
        assert "knowing" in done.stdout

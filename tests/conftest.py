"""Shared fixtures: run the real CLI in-process or as a child process, and write small worlds."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.common import hamlet_command, run_args, run_command  # shared with the benchmarks
from benchmarks.crash import count_events  # noqa: F401  (shared with the crash harness)

ROOT = Path(__file__).resolve().parent.parent
WORLDS = ROOT / "worlds"
SHARED = ROOT.parent / "shared"


@dataclass
class Result:
    """What a command did: exit code and what it printed."""

    code: int
    out: str
    err: str


@pytest.fixture
def hamlet(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``hamlet ARGS`` in this process (the real CLI entry point)."""
    from sim.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit_info:  # argparse refusing a flag: its one line is on stderr
            if not exit_info.code:
                raise  # --help, --version
            code = int(exit_info.code)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def hamlet_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> Result:
    """Run ``python -m sim ARGS`` as a child process."""
    proc = subprocess.run(
        hamlet_command(*args),
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def record_run(world: str | Path, out: Path, *options: object, llm: str = "scripted", timeout: float = 300) -> Path:
    """``hamlet run WORLD --llm LLM OPTIONS --out OUT --quiet`` as a child process, which must succeed; ``out``."""
    result = hamlet_process(*run_args(world, out, *options, llm=llm), timeout=timeout)
    assert result.code == 0, result.err
    return out


def run_in_background(world: str | Path, out: Path, *options: object, **kwargs: Any) -> subprocess.Popen[bytes]:
    """``hamlet run`` (:func:`run_command`'s arguments) as a child process left running, its output discarded."""
    return subprocess.Popen(
        run_command(world, out, *options, **kwargs), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


TINY_WORLD = """\
hamlet: 1
name: Tiny
start: 2026-03-02T06:00
hours: 12
seed: 3
sectors:
  - name: Home
    areas:
      - name: room
        objects: [bed, desk]
  - name: Park
    areas:
      - name: lawn
        objects: [bench]
links:
  - between: [Home, Park]
    minutes: 5
people:
  - name: Ann
    home: Home
    routine:
      - {at: "07:00", do: reads, place: Home, object: desk}
      - {at: "10:00", do: walks, place: Park}
      - {at: "21:00", do: sleeps, place: Home, object: bed}
  - name: Bo
    home: Home
"""


@pytest.fixture
def tiny_world(tmp_path: Path) -> Path:
    """A two-person world written to a temporary file."""
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_WORLD)
    return path


def events_export(run: Path, folder: Path) -> bytes:
    """What ``hamlet export RUN --tables event`` (a child process) writes into ``folder``."""
    result = hamlet_process("export", run, "--tables", "event", "--out", folder)
    assert result.code == 0, result.err
    return (folder / "event.jsonl").read_bytes()


def assert_one_line_error(result: Result, *needles: str) -> None:
    """The command failed with one clear line naming what was wrong, and no traceback."""
    assert result.code != 0, result
    lines = [line for line in result.err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {result.err!r}"
    assert "Traceback" not in result.err + result.out
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


def read_terminal(leader: int) -> str:
    """Everything written to a pseudo-terminal until its other end closes, decoded; closes ``leader``."""
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: all of it read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", errors="replace")

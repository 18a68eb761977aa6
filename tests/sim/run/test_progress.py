"""What a run shows as it starts and runs: each phase named as it happens, the elapsed time every second.

On a terminal (a real pseudo-terminal of 80 columns here) one live line; in a pipe one plain line
per phase on stdout, with no carriage returns or colours, and nothing on stderr.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.conftest import ROOT, WORLDS, hamlet_command, read_terminal, run_args, run_command

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PHASE_LINE = re.compile(r"^\[(\d+):(\d\d):(\d\d)\] (.+)$")
STARTING = [
    "checking the world",
    "starting the scripted model server",
    "checking the model server",
    "setting up the people",
    "first tick",
]


def on_a_terminal(args: list[str], columns: int = 80) -> tuple[int, list[str]]:
    """Run ``python -m sim ARGS`` on a pseudo-terminal ``columns`` wide; its exit code and every line it drew."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        hamlet_command(*args),
        cwd=ROOT,
        stdout=follower,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    screen = ANSI.sub("", read_terminal(leader))
    proc.wait(300)
    return proc.returncode, [frame for frame in re.split(r"[\r\n]", screen) if frame.strip()]


def test_a_terminal_names_each_phase_and_ticks_the_elapsed_time_every_second(tmp_path: Path) -> None:
    # Two calls at a time, 0.3 s each: the first tick (nine people planning their day) takes seconds.
    code, frames = on_a_terminal(
        run_args(
            WORLDS / "smallville.yaml", tmp_path / "r.db", "--hours", 1, "--concurrency", 2, latency_ms=300, quiet=False
        )
    )
    assert code == 0, frames[-3:]
    drawn, closing = frames[:-2], frames[-2:]  # the display's lines, then the run's closing lines
    assert closing[1].startswith("See it with: hamlet show")
    assert all(len(frame) <= 80 for frame in drawn), max(drawn, key=len)
    finished = [frame[2:].rsplit(" · ", 1)[0] for frame in drawn if frame.startswith("✓ ")]
    assert [name for name in finished if name in STARTING] == STARTING, finished
    assert "loading embeddings (WordLlama)" in finished
    live = [frame for frame in drawn if not frame.startswith("✓ ")]
    assert all(re.match(r"\d+:\d\d:\d\d ", frame) for frame in live), "the elapsed time leads every live line"
    seconds = sorted({int(frame[:7].split(":")[2]) + 60 * int(frame[:7].split(":")[1]) for frame in live})
    assert seconds == list(range(seconds[-1] + 1)) and seconds[-1] >= 3, f"every second is shown: {seconds}"
    counts = {
        re.search(r"(\d+) LLM calls", frame).group(1)
        for frame in live  # type: ignore[union-attr]
        if "first tick" in frame and "LLM calls" in frame
    }
    assert len(counts) >= 3, f"the calls are counted as they end, within the first tick: {counts}"
    assert any("100%" in frame for frame in live)


def test_piped_output_is_one_plain_line_per_phase_on_stdout(tmp_path: Path) -> None:
    run = tmp_path / "r.db"
    proc = subprocess.run(
        run_command(WORLDS / "smallville.yaml", run, "--hours", 1, quiet=False),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", "stderr is kept for an error's one line"
    assert "\r" not in proc.stdout and "\x1b" not in proc.stdout
    lines = proc.stdout.splitlines()
    phases = [PHASE_LINE.match(line) for line in lines[:-2]]
    assert all(phases), lines
    names = [match.group(4) for match in phases if match]
    assert [name for name in names if name in STARTING] == STARTING
    assert "loading embeddings (WordLlama)" in names and names[-1] == "running to 2026-02-13T07:00:00"
    assert lines[-2].startswith(f"{run}: finished") and lines[-1] == f"See it with: hamlet show {run}"


def test_resume_and_fork_name_their_own_phases_and_quiet_says_none(hamlet, tmp_path: Path) -> None:
    run = tmp_path / "r.db"
    first = hamlet(
        "run", WORLDS / "smallville.yaml", "--hours", "1", "--llm", "scripted-inprocess", "--out", run, "--quiet"
    )
    assert first.code == 0 and "[0:00:" not in first.out, "--quiet: no phase lines"
    resumed = hamlet("resume", run, "--hours", "1")
    assert resumed.code == 0, resumed.err
    names = [m.group(4) for m in map(PHASE_LINE.match, resumed.out.splitlines()) if m]
    assert names[:2] == ["reading the run file", "restoring the newest snapshot"], names
    assert names[-2:] == ["first tick", "running to 2026-02-13T08:00:00"]
    branch = hamlet("fork", run, "--at", "+30m", "-o", tmp_path / "b.db", "--hours", "1")
    assert branch.code == 0, branch.err
    names = [m.group(4) for m in map(PHASE_LINE.match, branch.out.splitlines()) if m]
    assert names[:3] == ["reading the parent run", "copying the parent's prefix", "restoring its snapshot"], names
    assert names[-1].startswith("running to")

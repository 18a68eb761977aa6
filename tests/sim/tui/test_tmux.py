"""The real command in a real terminal (tmux): what a user types, and what the screen then shows."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.sim.tui.conftest import query

pytestmark = pytest.mark.slow


def tmux(*args: str) -> str:
    """Run one tmux command; its output."""
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def screen(session: str) -> str:
    """The visible text of the session's pane."""
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, seen: Callable[[str], bool], what: str, timeout: float = 60) -> str:
    """Poll the screen until ``seen`` holds for it."""
    began = time.monotonic()
    while True:
        text = screen(session)
        if seen(text):
            return text
        assert time.monotonic() - began < timeout, f"timed out waiting for {what}; the screen shows:\n{text}"
        time.sleep(0.2)


def start(session: str, *command: str) -> None:
    """Start ``python -m sim COMMAND`` in a detached 100x30 tmux session that stays open when it exits."""
    tmux(
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "100",
        "-y",
        "30",
        "-c",
        str(ROOT),
        " ".join([sys.executable, "-m", "sim", *command]),
    )
    tmux("set-option", "-t", session, "remain-on-exit", "on")


def test_hamlet_replay_in_a_terminal_jumps_to_a_typed_time(recorded_run: Path, tmux_session: str) -> None:
    start(tmux_session, "replay", str(recorded_run))
    wait_for(tmux_session, lambda s: "REPLAY" in s and "World" in s, "the viewer to open")
    tmux("send-keys", "-t", tmux_session, "j")
    wait_for(tmux_session, lambda s: "Jump to" in s, "the jump dialog")
    tmux("send-keys", "-t", tmux_session, "+2h", "Enter")
    (seq,) = query(recorded_run, "SELECT MAX(seq) FROM event WHERE t <= 7200")[0]
    shown = wait_for(tmux_session, lambda s: "Fri 2026-02-13 08:00:00" in s, "the clock to show 08:00")
    assert f"event {seq}/" in shown and "50% of 4 h" in shown
    tmux("send-keys", "-t", tmux_session, "2")
    # Sofia's name may show on the World tab too (the feed, the map): wait for the table itself
    people = wait_for(tmux_session, lambda s: "name ▲" in s, "the people table sorted by name")
    assert "Sofia Marchetti" in people
    tmux("send-keys", "-t", tmux_session, "q")
    wait_for(tmux_session, lambda s: "Pane is dead" in s or "REPLAY" not in s, "the viewer to quit", timeout=20)


def test_hamlet_run_tui_shows_the_run_live_and_quitting_stops_it_for_a_resume(
    tmp_path: Path, tmux_session: str
) -> None:
    out = tmp_path / "viewed.db"
    start(
        tmux_session,
        "run",
        "worlds/smallville.yaml",
        "--tui",
        "--llm",
        "scripted",
        "--llm-latency-ms",
        "100",
        "--hours",
        "12",
        "--seed",
        "7",
        "--out",
        str(out),
    )
    wait_for(tmux_session, lambda s: "● LIVE" in s, "the live viewer")
    first = wait_for(tmux_session, lambda s: "event " in s, "events")
    wait_for(tmux_session, lambda s: s.split("event ")[1][:8] != first.split("event ")[1][:8], "the clock to move")
    tmux("send-keys", "-t", tmux_session, "q")
    after = wait_for(tmux_session, lambda s: "hamlet resume" in s and "interrupted" in s, "the run to stop", timeout=90)
    assert "Traceback" not in after
    assert query(out, "SELECT status FROM run") == [("interrupted",)]

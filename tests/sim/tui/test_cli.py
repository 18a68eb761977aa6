"""The viewer's commands: help for each, and one clear line (no traceback) for every file it cannot show."""

from __future__ import annotations

import argparse
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.cli import build_parser
from sim.tui.launch import child_arguments
from tests.conftest import Result, assert_one_line_error
from tests.sim.tui.conftest import copy_run


@pytest.mark.parametrize(
    ("command", "needle"), [("replay", "recorded run"), ("watch", "another process"), ("run", "--tui")]
)
def test_each_viewer_command_explains_itself_with_help(
    hamlet: Callable[..., Result], command: str, needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        hamlet(command, "--help")
    assert exited.value.code == 0
    assert needle in capsys.readouterr().out


def test_a_file_that_is_not_a_run_is_refused_in_one_line(hamlet: Callable[..., Result], tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("shopping list\n")
    assert_one_line_error(hamlet("replay", text), "notes.db", "not a Hamlet run file")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    assert_one_line_error(hamlet("watch", other), "other.db", "not a Hamlet run file")
    assert_one_line_error(hamlet("replay", tmp_path / "missing.db"), "missing.db", "no such file")


def test_a_damaged_run_file_is_refused_in_one_line(
    hamlet: Callable[..., Result], recorded_run: Path, tmp_path: Path
) -> None:
    damaged = copy_run(recorded_run, tmp_path / "damaged.db")
    data = bytearray(damaged.read_bytes())
    page = 4096
    for start in range(2 * page, len(data), 3 * page):  # garble pages, leaving the file header alone
        data[start : start + page] = b"\xff" * page
    damaged.write_bytes(bytes(data))
    assert_one_line_error(hamlet("replay", damaged), "damaged.db")


def test_a_run_from_a_newer_hamlet_is_refused_in_one_line(
    hamlet: Callable[..., Result], recorded_run: Path, tmp_path: Path
) -> None:
    newer = copy_run(recorded_run, tmp_path / "newer.db")
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    assert_one_line_error(hamlet("replay", newer), "newer.db", "newer Hamlet", "upgrade")


def test_a_run_with_no_events_yet_is_refused_for_replay_in_one_line(
    hamlet: Callable[..., Result], recorded_run: Path, tmp_path: Path
) -> None:
    empty = copy_run(recorded_run, tmp_path / "empty.db")
    with sqlite3.connect(empty) as db:
        db.execute("DELETE FROM event")
    assert_one_line_error(hamlet("replay", empty), "empty.db", "no events yet", "hamlet watch")


def test_run_tui_repeats_every_given_run_option_to_the_child_run() -> None:
    parser = build_parser()
    args = parser.parse_args(
        [
            "run",
            "w.yaml",
            "--tui",
            "--hours",
            "2",
            "--seed",
            "3",
            "--set",
            "reflection=off",
            "--set",
            "top_k=4",
            "--llm",
            "scripted",
            "--llm-latency-ms",
            "50",
            "--quiet",
        ]
    )
    argv = child_arguments(args, parser, Path("x.db"))
    assert argv == [
        "run",
        "w.yaml",
        "--hours",
        "2.0",
        "--seed",
        "3",
        "--set",
        "reflection=off",
        "--set",
        "top_k=4",
        "--llm",
        "scripted",
        "--llm-latency-ms",
        "50.0",
        "--out",
        "x.db",
        "--quiet",
    ]
    again = parser.parse_args(argv)
    assert {k: v for k, v in vars(again).items() if k not in ("out", "tui")} == {
        k: v for k, v in vars(args).items() if k not in ("out", "tui")
    }
    assert isinstance(again, argparse.Namespace) and not again.tui

"""What ``hamlet replay``, ``hamlet watch`` and ``hamlet run --tui`` do: check the file, then open the viewer.

Every problem with the file (not a run, damaged, from a newer Hamlet, nothing recorded yet) is
found before the screen is taken over, and becomes one line and a non-zero exit.
``hamlet run --tui`` runs the simulation as a child process (``python -m sim run ... --quiet``)
that writes the run file, and watches that file; quitting the viewer asks the run to stop at
its next tick, so ``hamlet resume`` can continue it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.errors import UserError
from sim.tui.source import RunSource

WAIT_S = 30.0  # how long watch waits for a run file's first rows


def open_source(path_text: str, live: bool) -> RunSource:
    """A checked ``RunSource``: a Hamlet run with a readable world; a replay must have events."""
    path = Path(path_text)
    deadline = time.monotonic() + (WAIT_S if live else 0)
    told = False
    while True:
        try:
            source = RunSource(path)
            try:
                run = source.run()
                if run is not None:
                    source.last_seq()
                    source.snapshot_marks()
            except BaseException:
                source.close()
                raise
        except sqlite3.DatabaseError as err:
            raise UserError(f"{path}: damaged or not a Hamlet run file ({err})") from None
        if run is not None and (live or source.last_seq() > 0):
            return source
        source.close()
        if live and run is None and not told:
            print(f"hamlet watch: waiting for {path} to start…", file=sys.stderr)
            told = True
        if time.monotonic() >= deadline:
            if run is None:
                raise UserError(f"{path}: the run has not written anything yet; try again in a moment")
            raise UserError(f"{path}: the run has no events yet; to see it as it goes, use hamlet watch {path}")
        time.sleep(0.2)


def view(path_text: str, live: bool, child: subprocess.Popen[Any] | None = None) -> None:
    """Open the viewer on a run file until the user quits."""
    from sim.tui.app import HamletApp

    source = open_source(path_text, live)
    try:
        try:
            app = HamletApp(source, live=live, child=child)
        except sqlite3.DatabaseError as err:
            raise UserError(f"{path_text}: damaged run file ({err})") from None
        app.run()
    finally:
        source.close()


def child_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser, out: Path) -> list[str]:
    """``hamlet run`` arguments that repeat ``args`` without the viewer, writing to ``out`` quietly."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run_parser = sub.choices["run"]
    argv: list[str] = ["run"]
    for action in run_parser._actions:
        if action.dest in ("help", "tui", "quiet", "out"):
            continue
        value = getattr(args, action.dest, None)
        if not action.option_strings:
            argv.append(str(value))
        elif isinstance(action, argparse._StoreTrueAction):
            argv += [action.option_strings[-1]] if value else []
        elif isinstance(action, argparse._AppendAction):
            for item in value or []:
                argv += [action.option_strings[-1], str(item)]
        elif value is not None and value != action.default:
            argv += [action.option_strings[-1], str(value)]
    return [*argv, "--out", str(out), "--quiet"]


def run_with_viewer(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``hamlet run WORLD --tui``: start the run in a child process and watch its file; returns its exit code."""
    from sim.run.session import out_path
    from sim.worldfile.scenario import load_scenario

    scenario = load_scenario(args.world)
    seed = scenario.seed if args.seed is None else args.seed
    out = out_path(Path(args.world), seed, args.out)
    with tempfile.TemporaryFile("w+") as said, tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "sim", *child_arguments(args, parser, out)],
            stdout=said,
            stderr=errors,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            _wait_for_file(out, child)
            if child.poll() is None or out.exists():
                view(str(out), live=True, child=child)
            if child.poll() is None:
                _stop(out, child)
        finally:
            if child.poll() is None:
                child.terminate()
            code = child.wait()
        said.seek(0)
        errors.seek(0)
        sys.stdout.write(said.read())
        sys.stderr.write(errors.read())
    return code


def _wait_for_file(out: Path, child: subprocess.Popen[Any]) -> None:
    """Wait until the child has written the run row, or has ended."""
    while child.poll() is None:
        if out.exists():
            try:
                probe = RunSource(out)
                try:
                    if probe.run() is not None:
                        return
                finally:
                    probe.close()
            except (UserError, sqlite3.Error):
                pass  # still being created
        time.sleep(0.1)


def _stop(out: Path, child: subprocess.Popen[Any]) -> None:
    """Ask the run to stop at its next tick, and wait for it to close its file."""
    from sim.run.control import send

    print(f"hamlet run: stopping the run at its next tick; continue it with hamlet resume {out}", file=sys.stderr)
    with contextlib.suppress(UserError):  # it finished meanwhile
        send(str(out), "stop", source="tui")
    try:
        child.wait(timeout=120)
    except subprocess.TimeoutExpired:
        child.terminate()

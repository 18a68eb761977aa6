"""``hamlet watch``: follow a run another process is writing, in the terminal viewer."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet watch``."""
    watch = sub.add_parser(
        "watch",
        help="watch a run in progress in the terminal viewer",
        description="Attach the terminal viewer to a run another process is writing: it "
        "reads the file read-only, never slowing the run, and follows it as it goes. "
        "space pauses and resumes the run. Keys: ? in the viewer; see docs/tui.md.",
    )
    watch.add_argument("run_file", metavar="RUN.db")


def run(args: argparse.Namespace) -> int:
    """Follow the run until the user quits."""
    from sim.tui.launch import view

    view(args.run_file, live=True)
    return 0

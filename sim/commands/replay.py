"""``hamlet replay``: open a recorded run in the terminal viewer."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet replay``."""
    replay = sub.add_parser(
        "replay",
        help="open a recorded run in the terminal viewer",
        description="Open a recorded run in the terminal viewer: step through it event by "
        "event or tick by tick, play it, jump to a time, and inspect what anyone knew then. "
        "Keys: ? in the viewer; see docs/tui.md.",
    )
    replay.add_argument("run_file", metavar="RUN.db")


def run(args: argparse.Namespace) -> int:
    """Show the run until the user quits."""
    from sim.tui.launch import view

    view(args.run_file, live=False)
    return 0

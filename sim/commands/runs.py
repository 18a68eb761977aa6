"""``hamlet runs``: the run files in a folder, a summary line each."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from sim.commands import Subparsers
from sim.errors import UserError

NO_RUNS = "no runs yet; start one with hamlet run worlds/two_rooms.yaml"
"""What ``runs`` and ``show`` say of a folder with no run file."""


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet runs``."""
    runs = sub.add_parser(
        "runs", help="list recorded runs", description="List the run files in a folder with a summary line each."
    )
    runs.add_argument("folder", nargs="?", default="replays")


def run(args: argparse.Namespace) -> int:
    """Print a line for each run file in the folder; one it cannot read says why instead."""
    from sim.runfile.reader import RunReader

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder")
    files = sorted(folder.glob("*.db"))
    if not files:
        print(f"{folder}: {NO_RUNS}")
        return 0
    for path in files:
        try:
            with RunReader(path) as reader:
                s = reader.summary()
            lost = f" · its process died: continue it with hamlet resume {path}" if s["status"] == "lost" else ""
            print(
                f"{path}  {s['status']:<11} {s['world']} · seed {s['seed']} · {s['sim_start']} → "
                f"{s['sim_now']} · {s['events']} events · {s['llm_calls']} LLM calls · ${s['cost_usd']:.4f}{lost}"
            )
        except (UserError, sqlite3.DatabaseError) as err:
            print(f"{path}  (unreadable: {str(err).split(': ', 1)[-1]})")
    return 0


def newest(folder: Path) -> Path:
    """The most recently changed run file in ``folder``; a ``UserError`` if there is none."""
    runs = sorted(folder.glob("*.db"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not runs:
        raise UserError(f"{folder}: {NO_RUNS}")
    return runs[-1]

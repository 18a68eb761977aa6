"""``hamlet compare``: runs' headline metrics side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.commands import Subparsers


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet compare``."""
    compare = sub.add_parser(
        "compare",
        help="compare runs' metrics side by side",
        description="The headline metrics of two or more runs side by side, with each "
        "run's difference from the first (a fork and its parent, two seeds, ...).",
    )
    compare.add_argument("run_files", metavar="RUN.db", nargs="+")
    shown = compare.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print JSON")
    shown.add_argument("--csv", action="store_true", help="print CSV")


def run(args: argparse.Namespace) -> int:
    """Print the table as text, JSON or CSV."""
    from sim.research.compare import compare, compare_text

    table = compare([Path(p) for p in args.run_files])
    if args.json:
        print(table.to_json(orient="records", indent=2))
    elif args.csv:
        table.to_csv(sys.stdout, index=False)
    else:
        print(compare_text(table))
    return 0

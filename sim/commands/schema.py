"""``hamlet schema``: the JSON Schema of world files, for editors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.commands import Subparsers
from sim.errors import UserError


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet schema``."""
    schema = sub.add_parser(
        "schema",
        help="print the JSON Schema of world files",
        description="Print the JSON Schema of world files, for editors that validate YAML.",
    )
    schema.add_argument("--out", help="write to this file instead of standard output")


def run(args: argparse.Namespace) -> int:
    """Print the schema, or write it to ``--out``."""
    from sim.worldfile.scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if args.out:
        try:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        except OSError as err:
            raise UserError(f"--out {args.out}: cannot write ({err.strerror})") from None
    else:
        print(text)
    return 0

"""``hamlet export``: a run's tables as files, and the files its team wrote."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers
from sim.errors import UserError


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet export``."""
    export = sub.add_parser(
        "export",
        help="export a run's tables",
        description="Export tables of a run as JSON Lines, CSV or Parquet, one file a table.",
    )
    export.add_argument("run_file", metavar="RUN.db")
    export.add_argument("--format", default="jsonl", choices=("jsonl", "csv", "parquet"))
    export.add_argument("--out", help="folder to write the tables into")
    export.add_argument(
        "--tables",
        nargs="+",
        help="tables to export, by name or plural (events, "
        "llm_calls, ...; default: run event llm_call memory artifact; also snapshot, interview, control, "
        "rejection)",
    )
    export.add_argument(
        "--artifacts",
        metavar="DIR",
        help="write the files a team wrote into DIR, each as its newest "
        "version, with hamlet-artifacts.json listing every version and the quality metrics",
    )
    export.add_argument(
        "--all-versions", action="store_true", help="with --artifacts: also write every version, as DIR/versions/N/PATH"
    )


def run(args: argparse.Namespace) -> int:
    """Write what was asked for and print each file written."""
    from sim.runfile.export import export_artifacts, export_run

    if args.out is None and args.artifacts is None:
        raise UserError("give --out DIR (the run's tables) or --artifacts DIR (the files its team wrote), or both")
    if args.all_versions and args.artifacts is None:
        raise UserError("--all-versions: goes with --artifacts DIR")
    written = export_run(args.run_file, args.format, args.out, args.tables) if args.out is not None else []
    if args.artifacts is not None:
        written += export_artifacts(args.run_file, args.artifacts, all_versions=args.all_versions)
    for path in written:
        print(path)
    return 0

"""``hamlet metrics``: measure what emerged in a run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sim.commands import Subparsers
from sim.commands.options import llm_options, model_options
from sim.errors import UserError
from sim.worldfile import bounds


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet metrics``."""
    metrics = sub.add_parser(
        "metrics",
        help="measure what emerged in a run",
        description="Information diffusion of the world's facts (from memories that carry "
        "them: whole words, not denied; confirmed by interviews with --probe), the knows "
        "network (talked, told, relation or probe; never sight) and the conversation network "
        "and their density over time (knows: directed and mutual, as the paper), coordination (who was at a place in a time window; by default the "
        "gathering a fact announces) and activity per person. See docs/research.md.",
    )
    metrics.add_argument("run_file", metavar="RUN.db")
    out = metrics.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print every table as JSON")
    out.add_argument("--csv", action="store_true", help="print one CSV row per person")
    metrics.add_argument("--fact", action="append", metavar="NAME", help="only this fact (repeatable; default: all)")
    metrics.add_argument("--person", metavar="NAME", help="only this person in the per-person tables")
    metrics.add_argument("--at", metavar="TIME", help="as of TIME (ISO 8601 or +offset; default: the run's end)")
    metrics.add_argument("--place", help="coordination: the place (a sector or 'Sector:Area'), with --window")
    metrics.add_argument("--window", metavar="T1..T2", help="coordination: the time window, e.g. +35h..+37h")
    metrics.add_argument(
        "--every",
        type=bounds.step_minutes,
        metavar="MINUTES",
        help="step of the curves over time (default: 60); the text then has a table over time at this step",
    )
    metrics.add_argument("--out", metavar="DIR", help="also write every table into DIR")
    metrics.add_argument("--format", default="csv", choices=("csv", "parquet"), help="tables written by --out")
    metrics.add_argument("--graphml", metavar="DIR", help="write the networks to DIR as GraphML")
    metrics.add_argument(
        "--probe",
        action="store_true",
        help='interview everyone: the fact\'s question, and "Do you know X?" about each other '
        "person, each answered as heard yes/no and what (with the run's model options); the "
        "answers and the knowing rule's check are recorded, and disagreements reported",
    )
    model_options(metrics)


def run(args: argparse.Namespace) -> int:
    """Print the metrics (text, JSON or CSV) and the files written; minds are loaded only to probe."""
    probe = None
    if args.probe:  # interviews run minds; reading the file alone loads no mind and no model client
        from sim.core.mind import load_minds

        load_minds()
        probe = llm_options(args)
    from sim.research import report
    from sim.research.metrics import RunMetrics

    if args.every is not None and args.csv and not args.out:
        raise UserError(
            f"--every {args.every:g}: the people CSV has no curves over time; use it with --json, --out or the text"
        )
    with RunMetrics(args.run_file) as metrics:
        built = report.build(
            metrics,
            facts=args.fact,
            person=args.person,
            at=args.at,
            place=args.place,
            window=args.window,
            every_minutes=args.every or 60,
            probe=probe,
        )
        if args.json:
            print(json.dumps(report.as_json(built), indent=2, ensure_ascii=False))
        elif args.csv:
            report.people_table(built).to_csv(sys.stdout, index=False)
        else:
            print(report.as_text(built, over_time=args.every is not None))
        written = []
        if args.out:
            written += report.write(built, Path(args.out), args.format)
        if args.graphml:
            written += report.write_graphml(built, Path(args.graphml))
    for path in written:
        print(path, file=sys.stderr)
    return 0

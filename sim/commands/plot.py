"""``hamlet plot``: one chart of a run's metrics, as a PNG."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.commands import Subparsers
from sim.worldfile import bounds


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet plot``."""
    plot = sub.add_parser(
        "plot",
        help="draw a chart of a run's metrics",
        description="Draw one chart as a PNG: diffusion (people who know each fact over "
        "time), density (of the knows and conversation networks over time), network (who "
        "talked with whom; --graph knows for who knows whom) or cost (LLM cost by purpose).",
    )
    plot.add_argument("run_file", metavar="RUN.db")
    plot.add_argument("metric", metavar="METRIC", help="diffusion, density, network or cost")
    plot.add_argument("-o", "--out", required=True, metavar="FILE.png")
    plot.add_argument("--fact", action="append", metavar="NAME", help="diffusion: only this fact (repeatable)")
    plot.add_argument("--at", metavar="TIME", help="network, cost: as of TIME (default: the run's end)")
    plot.add_argument(
        "--every", type=bounds.step_minutes, default=60, metavar="MINUTES", help="step of curves (default: 60)"
    )
    plot.add_argument(
        "--graph", default="conversations", choices=("conversations", "knows"), help="network: which graph"
    )


def run(args: argparse.Namespace) -> int:
    """Draw the chart and print the file written."""
    from sim.research.metrics import RunMetrics
    from sim.research.plots import plot

    with RunMetrics(args.run_file) as metrics:
        at = None if args.at is None else metrics.time_option(args.at, "--at")
        written = plot(
            metrics, args.metric, Path(args.out), facts=args.fact, at=at, every=round(args.every * 60), graph=args.graph
        )
    print(written)
    return 0

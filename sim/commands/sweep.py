"""``hamlet sweep``: a world over a grid of seeds and settings, with aggregated metrics."""

from __future__ import annotations

import argparse
import sys

from sim.commands import Subparsers
from sim.commands.options import llm_options, model_options, span_options
from sim.worldfile import bounds


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet sweep``."""
    sweep = sub.add_parser(
        "sweep",
        help="run a world over seeds and settings, and aggregate",
        description="Run every combination of seeds and --set values (in parallel "
        "processes, or as tasks on Ray with --executor ray), saying as each run finishes, then print and save (CSV and JSON) a table of each "
        "setting's metrics: mean and 95 % confidence interval over the seeds (Student's t, kept "
        "within each metric's range). Finished runs already in DIR are "
        "reused, so an interrupted sweep continues where it stopped.",
    )
    sweep.add_argument("world", help="world file (YAML)")
    sweep.add_argument("--seeds", required=True, help="seeds: 1-10, 1,2,5 or 3")
    sweep.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        dest="settings",
        help="a mind parameter and the values to try, e.g. reflection=on,off (repeatable: the grid "
        "is every combination)",
    )
    sweep.add_argument(
        "--parallel",
        type=bounds.concurrency,
        metavar="N",
        help="runs at once (default: the number of cores; with --ray-address: as many as the cluster's CPUs take)",
    )
    sweep.add_argument("--out", required=True, metavar="DIR", help="folder for the runs and the tables")
    # sim.research.sweep.EXECUTORS, written out: importing it here would slow every command's start by 0.8 s
    sweep.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where the runs go: local (default: child processes of this one) or ray (one Ray task "
        "each, retried from its run file if its process dies; needs the cluster extra: pip install "
        "'hamlet-sim[cluster]')",
    )
    sweep.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --executor ray: join this Ray cluster (HOST:PORT "
        "of its head, ray://HOST:PORT, or auto) instead of starting a local Ray of --parallel CPUs; "
        "its nodes need Hamlet and the world and DIR at the same paths (RAY_ADDRESS is not read)",
    )
    sweep.add_argument(
        "--quiet",
        action="store_true",
        help="no progress (on a terminal a live line, else one line per finished run, on stderr)",
    )
    span_options(sweep, "default: the world's hours")
    model_options(sweep)


def run(args: argparse.Namespace) -> int:
    """Run the grid (reusing finished runs in ``--out``), print the table and the files written."""
    from sim.research.sweep import SweepOptions, sweep, sweep_text

    result = sweep(
        args.world,
        SweepOptions(
            seeds=args.seeds,
            settings=args.settings,
            parallel=args.parallel,
            out=args.out,
            hours=args.hours,
            until=args.until,
            llm=llm_options(args),
            quiet=args.quiet,
            executor=args.executor,
            ray_address=args.ray_address,
        ),
    )
    print(sweep_text(result))
    for path in result.files:
        print(path, file=sys.stderr)
    return 0

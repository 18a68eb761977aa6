"""``hamlet fork``: branch a recorded run at a time, with a change."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers
from sim.commands.intervention import (
    KINDS,
    intervention_fields,
    intervention_options,
    no_intervention_fields,
)
from sim.commands.options import llm_options, model_options, span_options


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet fork``."""
    fork = sub.add_parser(
        "fork",
        help="branch a recorded run at a time, with a change",
        description="Copy a run's recorded prefix up to TIME (events, memories, LLM calls, "
        "snapshots; the stretch after the last snapshot is redone from the recorded replies, "
        "with no LLM call sent), apply the intervention at TIME, and continue live with the "
        "run's model options (override them as for hamlet run). Identical calls after TIME are "
        "still answered from the parent's replies. Compare the branches with hamlet compare.",
    )
    fork.add_argument("run_file", metavar="RUN.db")
    fork.add_argument("--at", required=True, metavar="TIME", help="where to branch: ISO 8601 or +offset from the start")
    fork.add_argument("-o", "--out", metavar="BRANCH.db", help="the branch's run file (default: replays/)")
    fork.add_argument(
        "--intervene",
        choices=KINDS,
        metavar="KIND",
        help=f"the change at TIME: {', '.join(KINDS)} (none: the branch continues as recorded)",
    )
    intervention_options(fork)
    span_options(fork, "default: up to the parent's planned end; given: from TIME")
    fork.add_argument("--quiet", action="store_true", help="no progress bar")
    model_options(fork)


def run(args: argparse.Namespace) -> int:
    """Make and run the branch; 0 if it finished, 3 if it stopped early."""
    from sim.research.fork import ForkOptions, fork_run

    llm = llm_options(args)
    if args.intervene is None:
        no_intervention_fields(args)
    fields = intervention_fields(args, args.intervene) if args.intervene else None
    outcome = fork_run(
        args.run_file,
        ForkOptions(
            at=args.at, out=args.out, hours=args.hours, until=args.until, intervention=fields, quiet=args.quiet, llm=llm
        ),
    )
    note = f" · branched from {args.run_file} at {outcome.summary['options']['fork']['at']}"
    print("\n".join(outcome.lines(note, calls=f"{outcome.sent} sent")))
    print(f"Compare: hamlet compare {args.run_file} {outcome.path}")
    return 0 if outcome.status == "finished" else 3

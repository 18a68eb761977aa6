"""``hamlet intervene``: change a running simulation now."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers
from sim.commands.intervention import KINDS, intervention_fields, intervention_options


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet intervene``."""
    intervene = sub.add_parser(
        "intervene",
        help="change a running simulation now",
        description="Apply an intervention to a run going on in another process: it is "
        "checked against the run's world, takes effect at the run's next tick and is logged "
        "as an event. To change a recorded run, fork it (hamlet fork --intervene).",
    )
    intervene.add_argument("run_file", metavar="RUN.db")
    intervene.add_argument("kind", choices=KINDS, metavar="KIND", help=f"one of: {', '.join(KINDS)}")
    intervention_options(intervene)


def run(args: argparse.Namespace) -> int:
    """Send the intervention as a control request the run takes at its next tick."""
    from sim.run.control import send

    fields = intervention_fields(args, args.kind)
    request = send(args.run_file, "intervene", fields)
    print(f"{args.kind} sent to {args.run_file} (request {request}); it takes effect at the run's next tick")
    return 0

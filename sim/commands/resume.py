"""``hamlet resume``: continue an interrupted run from its newest snapshot."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers
from sim.commands.options import bus_options, model_options, schedule_option, span_options
from sim.commands.run import finish, run_options


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet resume``."""
    resume = sub.add_parser(
        "resume",
        help="continue an interrupted run",
        description="Continue a run from its newest snapshot; the finished log equals that of a run never interrupted.",
    )
    resume.add_argument("run_file", metavar="RUN.db")
    span_options(resume, "default: up to the run's planned end; given, extends the run")
    schedule_option(resume)
    resume.add_argument("--quiet", action="store_true", help="no progress bar")
    model_options(resume)
    bus_options(resume)


def run(args: argparse.Namespace) -> int:
    """Continue the run; 0 if it finished, 3 if it stopped early again."""
    from sim.run.session import resume_run

    return finish(resume_run(args.run_file, run_options(args)))

"""``hamlet interview``: ask a person of a run a question, or whisper to a person of a live run."""

from __future__ import annotations

import argparse

from sim.commands import Subparsers
from sim.commands.options import llm_options, model_options
from sim.errors import UserError


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet interview``."""
    interview = sub.add_parser(
        "interview",
        help="ask a person of a run a question",
        description="Ask a person a question, answered from their memories as they were "
        "at --at (default: the run's latest time). Nothing is written to their memories; "
        "the exchange is recorded in the run file's interview table. With --whisper, "
        "the text is instead planted in a running simulation as the person's memory.",
    )
    interview.add_argument("run_file", metavar="RUN.db")
    interview.add_argument("person", metavar="PERSON")
    interview.add_argument("question", metavar="QUESTION", help="the question (with --whisper: what to plant)")
    interview.add_argument("--at", metavar="TIME", help="ISO 8601 time or offset from the start (+6h)")
    interview.add_argument(
        "--whisper",
        action="store_true",
        help="plant QUESTION as a memory of PERSON in the live run (it takes effect at the "
        "run's next tick and is logged as an intervention event)",
    )
    model_options(interview)


def run(args: argparse.Namespace) -> int:
    """Print the person's answer, or send the whisper."""
    from sim.research.interview import interview

    if args.whisper:
        return _whisper(args)
    exchange = interview(args.run_file, args.person, args.question, args.at, llm_options(args))
    print(f"[{exchange.time}] {exchange.person}: {exchange.answer}")
    return 0


def _whisper(args: argparse.Namespace) -> int:
    from sim.run.control import send

    if args.at:
        raise UserError(
            "--at: a whisper reaches a live run at its next tick; to plant one at a chosen "
            "time, add it to the world's interventions (kind: whisper)"
        )
    if not args.question.strip():
        raise UserError("QUESTION: empty; give the text to whisper")
    request = send(args.run_file, "intervene", {"kind": "whisper", "person": args.person, "text": args.question})
    print(f"whispered to {args.person} (request {request}); it becomes a memory at the run's next tick")
    return 0

"""``hamlet run``: run a world and record it, or watch it in the viewer as it runs (``--tui``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sim.commands import Subparsers
from sim.commands.options import (
    bus_options,
    bus_settings,
    llm_options,
    model_options,
    schedule_option,
    span_options,
)
from sim.worldfile import bounds

if TYPE_CHECKING:
    from sim.run.session import Outcome, RunOptions


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet run``."""
    run = sub.add_parser(
        "run",
        help="run a world and record it",
        description="Run a world scenario and record every event and LLM call in one SQLite file.",
    )
    run.add_argument("world", help="world file (YAML), e.g. worlds/smallville.yaml")
    span_options(run, "default: the world's hours, usually 24")
    run.add_argument("--seed", type=bounds.seed, help="run seed (default: the world's seed)")
    run.add_argument("--out", help="run file or folder (default: replays/)")
    run.add_argument(
        "--fixed-step",
        type=bounds.step_seconds,
        metavar="SECONDS",
        help="step every person every SECONDS, Smallville-style, instead of event-driven",
    )
    schedule_option(run)
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="settings",
        help="override a mind parameter, e.g. --set reflection=off or --set generative.top_k=4 (repeatable)",
    )
    run.add_argument(
        "--embeddings",
        metavar="SPEC",
        help="embeddings for memories: wordllama (default), hash, "
        "or an OpenAI-compatible endpoint as URL/model, e.g. http://localhost:11434/v1/nomic-embed-text",
    )
    run.add_argument(
        "--people",
        metavar="N|NAMES",
        help="run only some of the world's people: the first N, or names "
        "separated by commas (the run records the world cut to them), e.g. --people 4",
    )
    run.add_argument(
        "--task", help='what the world\'s team is to make, e.g. "a snake game" (worlds with a team; docs/teams.md)'
    )
    run.add_argument(
        "--tui",
        action="store_true",
        help="watch the run in the terminal viewer while it runs "
        "(quitting the viewer stops the run cleanly; hamlet resume continues it)",
    )
    model_options(run)
    bus_options(run)


def run(args: argparse.Namespace) -> int:
    """Run the world to its end; 0 if it finished, 3 if it stopped early (budget, interrupted)."""
    if args.tui:
        from sim.cli import build_parser  # the viewer repeats this command's options to a child run
        from sim.tui.launch import run_with_viewer

        return run_with_viewer(args, build_parser())
    from sim.run.session import run_world

    opts = run_options(args)
    opts.seed, opts.out, opts.fixed_step = args.seed, args.out, args.fixed_step
    opts.settings = list(args.settings) + ([f"embeddings={args.embeddings}"] if args.embeddings else [])
    opts.task, opts.people = args.task, args.people
    return finish(run_world(args.world, opts))


def run_options(args: argparse.Namespace) -> RunOptions:
    """The options ``run`` and ``resume`` share: span, progress bar, model and bus."""
    from sim.run.session import RunOptions

    return RunOptions(
        hours=args.hours,
        until=args.until,
        quiet=args.quiet,
        llm=llm_options(args),
        bus=bus_settings(args),
        schedule=args.schedule,
        lookahead=args.lookahead,
    )


def finish(outcome: Outcome) -> int:
    """Print how a run or resume ended; its exit code: 0 if it finished, 3 if it stopped early."""
    print("\n".join(outcome.lines()))
    print(f"See it with: hamlet show {outcome.path}")
    return 0 if outcome.status == "finished" else 3

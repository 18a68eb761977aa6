"""The ``hamlet`` command line: the composition root that wires worlds, minds, backends and logs.

Each command is a module of ``sim.commands`` with its parser and its function; ``COMMANDS`` lists
them in the order ``hamlet --help`` shows, and ``main`` turns any user error into one line.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from sim import __version__
from sim.commands import (
    Command,
    Parser,
    compare,
    export,
    fork,
    import_,
    intervene,
    interview,
    metrics,
    plot,
    replay,
    resume,
    run,
    runs,
    schema,
    show,
    sweep,
    validate,
    watch,
)
from sim.errors import Interrupted, UserError, file_trouble, is_file_error

COMMANDS: dict[str, Command] = {
    "run": Command(run.add_parser, run.run),
    "resume": Command(resume.add_parser, resume.run),
    "interview": Command(interview.add_parser, interview.run),
    "validate": Command(validate.add_parser, validate.run),
    "schema": Command(schema.add_parser, schema.run),
    "runs": Command(runs.add_parser, runs.run),
    "show": Command(show.add_parser, show.run),
    "export": Command(export.add_parser, export.run),
    "replay": Command(replay.add_parser, replay.run),
    "watch": Command(watch.add_parser, watch.run),
    "intervene": Command(intervene.add_parser, intervene.run),
    "metrics": Command(metrics.add_parser, metrics.run, minds=False),
    "plot": Command(plot.add_parser, plot.run, minds=False),
    "compare": Command(compare.add_parser, compare.run, minds=False),
    "fork": Command(fork.add_parser, fork.run),
    "sweep": Command(sweep.add_parser, sweep.run),
    "import": Command(import_.add_parser, import_.run),
}
"""Every ``hamlet`` command by name, in the order of ``hamlet --help``."""


def build_parser() -> Parser:
    """The parser for every ``hamlet`` command."""
    parser = Parser(
        prog="hamlet",
        description="Hamlet: simulate societies of LLM agents, record everything to SQLite, replay and study it.",
    )
    parser.add_argument("--version", action="version", version=f"hamlet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``hamlet`` command; user errors print one line and return 2."""
    # Some libraries call logging.basicConfig(level=INFO) on import, which would print every
    # HTTP request; configuring first makes theirs a no-op.
    logging.basicConfig(level=logging.WARNING, format="hamlet: %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _dispatch(COMMANDS[args.command], args)
    except UserError as err:
        kind = "" if isinstance(err, Interrupted) else "error: "  # Ctrl-C is the user's wish, not a mistake
        print(f"hamlet {args.command}: {kind}{err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # the reader of our output went away (hamlet show RUN.db | head); before
        # ``Exception``, which it is one of
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as err:
        if not is_file_error(err):
            raise
        line = file_trouble(err) or f"the run file is damaged or not a Hamlet run ({getattr(err, 'orig', None) or err})"
        print(f"hamlet {args.command}: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hamlet {args.command}: interrupted", file=sys.stderr)
        return 130


def _dispatch(command: Command, args: argparse.Namespace) -> int:
    if command.minds:
        from sim.core.mind import load_minds

        load_minds()
    return command.run(args)


if __name__ == "__main__":
    raise SystemExit(main())

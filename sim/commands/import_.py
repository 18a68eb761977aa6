"""``hamlet import KIND``: another project's simulation as a world file (``import`` is a keyword, hence the name)."""

from __future__ import annotations

import argparse

from sim.commands import Parser, Subparsers


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet import`` and, from each importer, its kind."""
    from sim.teams import chatdev
    from sim.worldfile import smallville

    importer = sub.add_parser(
        "import",
        help="turn another project's simulation into a world file",
        description="Turn another project's simulation files into a Hamlet world file. "
        "Kinds: chatdev (a ChatDev CompanyConfig folder), smallville (a Smallville base simulation folder).",
    )
    kinds = importer.add_subparsers(dest="kind", metavar="KIND", parser_class=Parser, required=True)
    chatdev.add_parser(kinds)
    smallville.add_parser(kinds)


def run(args: argparse.Namespace) -> int:
    """Run the importer of the kind given (each kind's parser names its function)."""
    return int(args.run_import(args))

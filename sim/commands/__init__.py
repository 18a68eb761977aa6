"""The ``hamlet`` commands: one module each, holding its parser and its function.

``sim/cli.py`` lists them in its ``COMMANDS`` table, builds the top-level parser from it and
dispatches to the command named on the command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

Subparsers = Any
"""What ``add_subparsers`` returns (argparse's ``_SubParsersAction``, private and not worth naming)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line with a pointer to ``--help``."""

    def error(self, message: str) -> NoReturn:
        """Print one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@dataclass(frozen=True, slots=True)
class Command:
    """One ``hamlet`` command: the function that adds its parser, the function that runs it."""

    add_parser: Callable[[Subparsers], None]
    run: Callable[[argparse.Namespace], int]
    minds: bool = True
    """Register the mind kinds first; False for commands that only read run files and so load no
    mind and no model client (one that needs minds only with some option loads them itself)."""

"""The command table: every command is one module, listed once, in the order of ``hamlet --help``."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from sim.cli import COMMANDS, build_parser
from tests.conftest import ROOT


def test_the_table_holds_every_command_of_the_parser_in_help_order() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == list(COMMANDS)


@pytest.mark.parametrize(
    ("argv", "minds"),
    [
        (["compare", "a.db", "b.db"], False),
        (["plot", "a.db", "cost", "-o", "x.png"], False),
        (["metrics", "a.db"], False),
        (["metrics", "a.db", "--probe"], True),
        (["show", "a.db"], True),
    ],
)
def test_only_commands_that_run_minds_load_them_and_the_model_client(argv: list[str], minds: bool) -> None:
    code = (
        "import sys\nfrom sim.cli import main\nassert main(sys.argv[1:]) == 2\n"
        "print('agents' in sys.modules, 'openai' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(minds), str(minds)]
    assert done.stderr.count("\n") == 1 and "a.db" in done.stderr  # the missing file, in one line

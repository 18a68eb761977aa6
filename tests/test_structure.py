"""The code's shape as issue 16 set it: no function of sim/ or agents/ over 60 lines without saying why."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

MOST_LINES = 60


def long_functions() -> list[str]:
    """Functions over ``MOST_LINES`` lines whose docstring does not say why they are long."""
    found = []
    for package in ("sim", "agents"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    if lines > MOST_LINES and "long" not in (ast.get_docstring(node) or "").lower():
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_is_over_60_lines_unless_its_docstring_says_why() -> None:
    assert long_functions() == []

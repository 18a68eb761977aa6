"""Event kinds in SQL: queries name them through their classes, and no SQL in the code names a kind nobody declares.

A kind renamed in ``sim/core/events.py`` is renamed in every query that names it through its class
(``sql_kind``, ``sql_kinds``); a query that still spells the old name out fails the scan below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from sim.core.events import Event, Say, Talk, TalkEnd, event_class
from sim.runfile.queries import sql_kind, sql_kinds
from tests.conftest import ROOT

SCANNED = ("sim", "benchmarks")
"""The code whose SQL is scanned (the tests' own SQL fails its tests when a kind is renamed)."""

# Other tables have a ``kind`` column of their own: a control request's, a probe's, a memory's.
_OTHER_TABLE = re.compile(r"\b(?:FROM|INTO|JOIN|UPDATE)\s+(?:\w+\.)?(?:control|probe|memory)\b", re.IGNORECASE)
_EQUALS = re.compile(r"\bkind\s*!?=\s*'(\w+)'")
_IN = re.compile(r"\bkind\s+(?:NOT\s+)?IN\s*\(([^)]*)\)", re.IGNORECASE)
_CASE = re.compile(r"\bCASE\s+kind\b(.*?)\bEND\b", re.IGNORECASE | re.DOTALL)
_QUOTED = re.compile(r"'(\w+)'")


def kinds_named(sql: str) -> set[str]:
    """The event kinds ``sql`` spells out: ``kind = 'x'``, ``kind IN ('x', ...)``, ``CASE kind WHEN 'x' ...``."""
    if _OTHER_TABLE.search(sql):
        return set()
    named = set(_EQUALS.findall(sql))
    for listed in _IN.findall(sql):
        named |= set(_QUOTED.findall(listed))
    for case in _CASE.findall(sql):
        named |= set(re.findall(r"\bWHEN\s+'(\w+)'", case, re.IGNORECASE))
    return named


def strings(path: Path) -> list[tuple[int, str]]:
    """Each string in a module with its line; an f-string's replacement fields read as ``{}``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            found.append((node.lineno, str(text)))
    return found


def test_every_event_kind_spelled_out_in_sql_is_a_declared_kind() -> None:
    spelled: dict[str, list[str]] = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for line, text in strings(path):
                for kind in kinds_named(text):
                    spelled.setdefault(kind, []).append(f"{path.relative_to(ROOT)}:{line}")
    assert spelled, "the scan finds the kinds the benchmarks' SQL spells out"
    unknown = {kind: where for kind, where in spelled.items() if event_class(kind) is Event}
    assert not unknown, f"SQL names event kinds no class declares: {unknown}"


def test_the_scan_finds_kinds_in_comparisons_lists_and_cases_but_not_in_other_tables() -> None:
    sql = (
        "SELECT CASE kind WHEN 'talk' THEN 1 WHEN 'chat' THEN 2 END FROM event"
        " WHERE kind = 'say' OR kind IN ('move', 'walk')"
    )
    assert kinds_named(sql) == {"talk", "chat", "say", "move", "walk"}
    assert kinds_named("SELECT kind FROM control WHERE kind IN ('pause', 'resume')") == set()
    assert kinds_named("SELECT text FROM memory WHERE kind = 'reflection'") == set()
    assert kinds_named(f"SELECT 1 FROM event WHERE kind = {sql_kind(Talk)}") == {"talk"}


def test_a_query_names_kinds_through_their_classes() -> None:
    assert sql_kind(Talk) == "'talk'"
    assert sql_kinds(Say, TalkEnd) == "('say', 'talk_end')"


@pytest.mark.parametrize("kind", ["", "it's", "Talk", "talk end"])
def test_a_kind_that_is_not_a_lower_case_word_is_never_written_into_sql(kind: str) -> None:
    odd: Any = type("Odd", (), {"KIND": kind})  # not an Event subclass: declaring one would register it
    with pytest.raises(ValueError, match="not a lower-case word"):
        sql_kind(odd)

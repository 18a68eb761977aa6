"""``hamlet compare`` of a fork: what was sent to the model apart from what the reply cache answered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.agents.test_generative import generative_town
from tests.conftest import hamlet_process


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A three-hour run of three generative people, a fork of it at +1h with no change, and a fork of that fork."""
    folder = tmp_path_factory.mktemp("compare")
    parent, child, grandchild = folder / "parent.db", folder / "child.db", folder / "grandchild.db"
    steps = [
        ("run", generative_town(folder, people=3), "--hours", "3", "--out", parent, "--llm", "scripted-inprocess"),
        ("fork", parent, "--at", "+1h", "-o", child),
        ("fork", child, "--at", "+2h", "-o", grandchild),
    ]
    for step in steps:
        result = hamlet_process(*step, "--quiet")
        assert result.code == 0, result.err
    return parent, child, grandchild


def compared(*runs: Path) -> dict[str, dict[str, float | None]]:
    result = hamlet_process("compare", *runs, "--json")
    assert result.code == 0, result.err
    return {row.pop("metric"): row for row in json.loads(result.out)}


@pytest.mark.slow
def test_a_fork_without_a_change_differs_only_in_what_the_cache_answered(family: tuple[Path, Path, Path]) -> None:
    parent, child, grandchild = family
    table = compared(parent, child, grandchild)
    assert table["llm_calls"]["Δ child"] == 0 and table["llm_calls"]["Δ grandchild"] == 0
    assert table["llm_calls_cached"]["parent"] == 0 and table["llm_calls_cached"]["child"] > 0
    sent = table["tokens_sent"]
    assert sent["child"] < sent["parent"], "the branch sent nothing the parent had sent"
    for run in ("child", "grandchild"):
        # what went to the model and what the cache answered add up to what the parent's calls took
        assert table["tokens_sent"][run] + table["tokens_cached"][run] == sent["parent"]
        assert table["tokens_sent"][f"Δ {run}"] == -table["tokens_cached"][f"Δ {run}"]
        assert table["cost_usd"][run] + table["cost_usd_cached"][run] == pytest.approx(table["cost_usd"]["parent"])
    text = hamlet_process("compare", parent, child).out
    assert "tokens_cached" in text and "llm_calls_cached" in text and "answered from the reply cache" in text


def test_a_cached_reply_whose_first_call_was_moved_away_is_left_blank(
    family: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    parent, child, _ = family
    moved = tmp_path / "child.db"
    shutil.copy(child, moved)
    hidden = parent.with_name("hidden.db")
    parent.rename(hidden)
    try:
        table = compared(hidden, moved)
    finally:
        hidden.rename(parent)
    assert table["llm_calls_cached"]["child"] > 0
    assert table["tokens_cached"]["child"] is None and table["cost_usd_cached"]["child"] is None

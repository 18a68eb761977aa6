"""Recorded runs for the viewer's tests, made once with the real CLI, and helpers to read them with plain SQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import record_run

HOURS = 4
SEED = 7


def record(out: Path, *extra: str) -> Path:
    """Run ``worlds/smallville.yaml`` on the scripted model for four hours, seed 7, into ``out``."""
    return record_run(
        "worlds/smallville.yaml", out, "--hours", HOURS, "--seed", SEED, *extra, llm="scripted-inprocess", timeout=600
    )


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished scripted run of Wrenfield (nine generative people, four hours), never modified by a test."""
    return record(tmp_path_factory.mktemp("recorded") / "smallville.db")


TEAM_SEED = 22  # a software company run that needs a cycle of every loop (tests/sim/teams/test_schema.py)


@pytest.fixture(scope="session")
def team_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished scripted run of worlds/software_company.yaml ("a snake game"), never modified by a test."""
    out = tmp_path_factory.mktemp("team") / "company.db"
    return record_run(
        "worlds/software_company.yaml",
        out,
        "--task",
        "a snake game",
        "--seed",
        TEAM_SEED,
        llm="scripted-inprocess",
        timeout=600,
    )


@pytest.fixture
def run_copy(recorded_run: Path, tmp_path: Path) -> Path:
    """A private copy of the recorded run, for tests that write to it (interviews), named like the original."""
    return copy_run(recorded_run, tmp_path / recorded_run.name)


def copy_run(source: Path, target: Path) -> Path:
    """Copy a run file consistently (the SQLite backup API), whatever its WAL holds."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


def query(run: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on ``run``, read-only."""
    db = sqlite3.connect(f"file:{run}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def expected_people(run: Path, t: int) -> dict[str, dict[str, str]]:
    """Each person's place, action, plan item and last line at second ``t``, from the event log alone."""
    people: dict[str, dict[str, str]] = {}
    rows = query(run, "SELECT seq, kind, person, place, data FROM event WHERE t <= ? ORDER BY seq", t)
    for _seq, kind, person, place, data in rows:
        data = json.loads(data)
        if kind == "spawn":
            people[person] = {"place": place, "action": "", "said": ""}
        elif kind == "arrive":
            people[person]["place"] = place
        elif kind == "move":
            people[person]["place"] = f"→ {data['to']}"
        elif kind == "act":
            people[person]["action"] = data["activity"]
        elif kind == "talk_end":
            people[person]["action"] = f"talking with {data['with']}"
            people[data["with"]]["action"] = f"talking with {person}"
        elif kind == "say":
            people[person]["said"] = data["text"]
        elif kind == "plan":
            people[person]["plan"] = _item(data, (t // 60 + 6 * 60) % (24 * 60))  # the run starts at 06:00
    return people


def _item(plan: dict[str, Any], minute: int) -> str:
    """The plan item under way at ``minute`` of the day, as the generative mind lays out its blocks.

    Items are taken in order of start (of two with the same start, the later in the plan); one
    before waking starts at waking; the first covers the time from waking; outside waking hours
    the person is asleep.
    """
    clock = f"{minute // 60:02d}:{minute % 60:02d}"
    if not plan["wake_up"] <= clock < plan["bedtime"]:
        return "asleep"
    by_start = {
        max(item["start"], plan["wake_up"]): item["activity"]
        for item in sorted(plan["items"], key=lambda i: i["start"])
    }
    starts = sorted(s for s in by_start if s < plan["bedtime"])
    return by_start[max([s for s in starts if s <= clock], default=starts[0])]


@pytest.fixture
def tmux_session() -> Iterator[str]:
    """A tmux session name, killed afterwards whatever happened."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    name = f"hamlet-test-{id(object())}"
    try:
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)

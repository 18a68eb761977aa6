"""Snapshot tests (pytest-textual-snapshot): the main screens look as accepted, at 100x30 and 80x24.

The screens show only simulated time and the run's own data. Two recordings of the same run
differ in two wall-clock things only: latencies, and the order in which the concurrent calls of a
tick were answered (their ids). The copy shown here numbers the calls by (tick, person, id) and
sets latencies to a function of that number. Update the pictures with ``--snapshot-update``
after a deliberate change (of the viewer, or of what the scripted run does).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

pytest.importorskip("pytest_textual_snapshot")

from sim.tui.app import HamletApp  # noqa: E402
from sim.tui.launch import open_source  # noqa: E402
from tests.sim.tui.conftest import copy_run  # noqa: E402

SIZE = (100, 30)


@pytest.fixture(scope="module")
def steady_run(recorded_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The recorded run with wall-clock latencies made deterministic."""
    run = copy_run(recorded_run, tmp_path_factory.mktemp("steady") / "smallville.db")
    with sqlite3.connect(run) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(llm_call)") if row[1] != "id"]
        names = ", ".join(columns)
        db.execute("CREATE TEMP TABLE calls AS SELECT * FROM llm_call")
        db.execute("DELETE FROM llm_call")
        db.execute(f"INSERT INTO llm_call ({names}) SELECT {names} FROM calls ORDER BY tick, person, id")
        db.execute("UPDATE llm_call SET latency_ms = (id * 37) % 400 + 20")
    return run


def viewing(run: Path) -> Iterator[HamletApp]:
    """The viewer on ``run``, closed afterwards."""
    source = open_source(str(run), live=False)
    try:
        yield HamletApp(source)
    finally:
        source.close()


@pytest.fixture
def viewer(steady_run: Path) -> Iterator[HamletApp]:
    """The viewer on the steady run."""
    yield from viewing(steady_run)


def at(text: str, *keys: str) -> Callable[[Pilot[None]], Any]:
    """Jump to ``text`` (``j``), then press ``keys``."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        await pilot.press("j")
        await pilot.pause()
        await pilot.press(*text, "enter")
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()

    return run_before


def inspecting(person: str, text: str, tab: str) -> Callable[[Pilot[None]], Any]:
    """Jump to ``text``, open the inspector for ``person`` and show one of its tabs."""

    async def run_before(pilot: Pilot[None]) -> None:
        await at(text)(pilot)
        app = pilot.app
        assert isinstance(app, HamletApp)
        await app.inspect(person)
        await pilot.pause()
        await pilot.press(tab)
        await pilot.pause()

    return run_before


def test_the_world_tab_shows_places_by_sector_and_the_map(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=SIZE, run_before=at("+3h"))


def test_the_people_tab_shows_place_action_plan_and_last_line(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=SIZE, run_before=at("+3h", "2"))


@pytest.mark.slow
def test_the_feed_tab_shows_events_with_their_simulated_time(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=SIZE, run_before=at("+150m", "3"))


def test_the_llm_calls_tab_lists_purpose_person_model_tokens_and_status(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=SIZE, run_before=at("+1h", "4"))


def test_the_inspector_lists_memories_known_at_the_viewed_time(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=SIZE, run_before=inspecting("Sofia Marchetti", "+3h", "m"))


@pytest.mark.slow
def test_the_inspector_shows_the_day_plan_with_progress(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=SIZE, run_before=inspecting("Sofia Marchetti", "+3h", "l"))


def test_the_help_screen_lists_the_keys(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=SIZE, press=["question_mark"])


def test_the_people_tab_fits_an_80_by_24_terminal(snap_compare: Any, viewer: HamletApp) -> None:
    assert snap_compare(viewer, terminal_size=(80, 24), run_before=at("+2h", "2"))


@pytest.fixture
def team_viewer(team_run: Path) -> Iterator[HamletApp]:
    """The viewer on the software company's run (its LLM calls' latencies are not on these screens)."""
    yield from viewing(team_run)


def test_the_feed_shows_a_teams_phases_files_and_program_runs(snap_compare: Any, team_viewer: HamletApp) -> None:
    # after the TEAM_SEED run's Testing loop
    assert snap_compare(team_viewer, terminal_size=SIZE, run_before=at("+77m", "3"))


@pytest.mark.slow
def test_the_inspector_shows_a_team_members_work(snap_compare: Any, team_viewer: HamletApp) -> None:
    assert snap_compare(team_viewer, terminal_size=SIZE, run_before=inspecting("Kenji Sato", "+40m", "w"))

"""The viewer's rough edges, as a user meets them: calls shown only once they had happened, dated when a run spans
days; the intervention dialog's labels and Tab; esc in Recall."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Label, RadioSet, TabbedContent

from sim.tui.app import HamletApp, MainScreen
from sim.tui.inspector import InspectorScreen
from sim.tui.intervene import InterveneScreen
from tests.conftest import TINY_WORLD, hamlet_process
from tests.sim.tui.conftest import query
from tests.sim.tui.test_app import drive, jump, table_rows


@pytest.mark.slow
def test_the_calls_tab_lists_an_interview_only_once_the_time_it_was_asked_as_of_is_reached(run_copy: Path) -> None:
    asked = hamlet_process(
        "interview",
        run_copy,
        "Sofia Marchetti",
        "What are you doing tonight?",
        "--at",
        "+3h",
        "--llm",
        "scripted-inprocess",
    )
    assert asked.code == 0, asked.err
    interview = {str(i) for (i,) in query(run_copy, "SELECT id FROM llm_call WHERE tick < 0")}
    assert interview

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+1h")
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.query_one("#calls-table", DataTable)
        listed = {row[0] for row in table_rows(table)}
        assert not listed & interview, "at 07:00 an interview as of 09:00 has not happened"
        (made,) = query(run_copy, "SELECT COUNT(*) FROM llm_call WHERE tick BETWEEN 0 AND ?", app.view.state.tick)[0]
        assert len(listed) == made
        await jump(pilot, "+3h")
        listed = {row[0]: row for row in table_rows(table)}
        assert interview <= set(listed)
        assert {listed[i][1] for i in interview} == {"09:00"}, "a run within one day shows the time alone"

    drive(run_copy, script)


@pytest.mark.slow
def test_the_calls_time_carries_the_day_when_the_run_spans_midnight(tmp_path: Path) -> None:
    world = tmp_path / "night.yaml"
    world.write_text(TINY_WORLD.replace("start: 2026-03-02T06:00", "start: 2026-03-02T22:00"))
    run = tmp_path / "night.db"
    result = hamlet_process("run", world, "--llm", "scripted-inprocess", "--hours", "10", "--out", run, "--quiet")
    assert result.code == 0, result.err

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+10h")
        await pilot.press("4")
        await pilot.pause()
        times = [row[1] for row in table_rows(app.screen.query_one("#calls-table", DataTable))]
        assert "Mon 02 22:00" in times and "Tue 03 07:00" in times, times

    drive(run, script)


@pytest.mark.slow
def test_esc_in_recall_leaves_recall_and_a_second_esc_closes_the_inspector(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await app.inspect("Sofia Marchetti")
        await pilot.pause()
        await pilot.press("r", *"the party")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, InspectorScreen), "esc closed Recall only"
        assert app.screen.query_one("#inspector-tabs", TabbedContent).active == "memories"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)

    drive(recorded_run, script)


@pytest.mark.slow
def test_the_intervention_dialog_keeps_its_labels_and_tab_moves_between_its_fields(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        screen = InterveneScreen(recorded_run)
        await app.push_screen(screen)
        await pilot.pause()
        place, text = screen.query_one("#iv-place", Input), screen.query_one("#iv-text", Input)
        assert app.focused is place
        await pilot.press(*"Wrenfield Library", "tab", *"The lights go out.")
        assert (place.value, text.value) == ("Wrenfield Library", "The lights go out.")
        labels = [str(label.render()) for label in screen.query(".iv-field Label") if label.parent.display]
        assert labels == ["place", "text"], "each field is named beside it once typed into"
        await pilot.press("tab")
        assert isinstance(app.focused, RadioSet)
        await pilot.press(*"whispers ", "tab")
        await pilot.pause()
        assert screen.kind == "inject", "text typed on the kind does not change it"
        assert app.focused is place and (place.value, text.value) == ("Wrenfield Library", "The lights go out.")
        await pilot.press("shift+tab", "right", "space")  # back to the kind, and the next one
        await pilot.pause()
        assert screen.kind == "whisper"
        assert [str(label.render()) for label in screen.query(".iv-field Label") if label.parent.display] == [
            "person",
            "text",
        ]
        assert str(screen.query_one("#iv-intro", Label).render()).startswith("Intervene in the live run")

    drive(recorded_run, script)

"""The viewer driven with keys and the mouse (Textual's Pilot) on a recorded scripted run.

Every expectation is computed from the run file with plain SQL, never with the viewer's own code.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, RichLog, Select

from sim.tui.app import HamletApp
from sim.tui.calls import CallScreen
from sim.tui.clock import ClockBar
from sim.tui.feed import FeedPane
from sim.tui.inspector import InspectorScreen
from sim.tui.launch import open_source
from sim.tui.map import TownMap
from sim.tui.screens import HelpScreen
from sim.tui.town import Mark
from tests.sim.tui.conftest import expected_people, query


def drive(
    run: Path,
    script: Callable[[HamletApp, Pilot[None]], Awaitable[None]],
    size: tuple[int, int] = (100, 30),
    live: bool = False,
) -> None:
    """Open the viewer on ``run`` headless and let ``script`` drive it."""

    async def main() -> None:
        source = open_source(str(run), live)
        try:
            app = HamletApp(source, live=live)
            async with app.run_test(size=size) as pilot:
                await pilot.pause()
                await script(app, pilot)
        finally:
            source.close()

    asyncio.run(main())


def clock_text(app: HamletApp) -> str:
    """What the clock bar of the screen on top shows."""
    return app.screen.query_one(ClockBar).render().plain


async def jump(pilot: Pilot[None], text: str) -> None:
    """Jump to a time with ``j``."""
    await pilot.press("j")
    await pilot.pause()
    await pilot.press(*text, "enter")
    await pilot.pause()


def table_rows(table: DataTable[Any]) -> list[list[str]]:
    """The cells of every row of a table, top to bottom."""
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


@pytest.mark.slow
def test_after_a_jump_the_people_table_and_a_memory_list_match_the_run_file_at_that_time(recorded_run: Path) -> None:
    t = 2 * 3600 + 30 * 60  # +150m: 08:30
    # someone with memories before and after then (who that is is the scripted model's draw)
    person = next(
        p
        for (p,) in query(
            recorded_run,
            "SELECT person FROM memory GROUP BY person HAVING MIN(t) <= ? AND MAX(t) > ? ORDER BY person",
            t,
            t,
        )
    )

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+150m")
        assert app.t == t
        assert "Fri 2026-02-13 08:30:00" in clock_text(app)
        await pilot.press("2")
        await pilot.pause()
        rows = {row[0]: row for row in table_rows(app.screen.query_one("#people-table", DataTable))}
        expected = expected_people(recorded_run, t)
        assert sorted(rows) == sorted(expected)
        for name, want in expected.items():
            assert rows[name][1:4] == [want["place"], want["action"], want.get("plan", "")], name
            assert rows[name][4].partition(" ")[2] == want["said"], name
        names = sorted(rows)
        for _ in range(names.index(person)):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        inspector = app.screen
        assert isinstance(inspector, InspectorScreen) and inspector.person == person
        ids = [
            i
            for (i,) in query(
                recorded_run, "SELECT id FROM memory WHERE person = ? AND t <= ? ORDER BY id DESC", person, t
            )
        ]
        assert ids and inspector.memory_ids() == ids
        later = query(recorded_run, "SELECT COUNT(*) FROM memory WHERE person = ? AND t > ?", person, t)
        assert later[0][0] > 0, "the run goes on: later memories exist and must not be shown"
        await pilot.press("full_stop")  # the inspector follows the clock
        await pilot.pause()
        assert inspector.view is not None and inspector.view.seq == app.seq

    drive(recorded_run, script)


def test_stepping_moves_one_event_or_one_tick_forward_and_back(recorded_run: Path) -> None:
    (first_tick_end,) = query(recorded_run, "SELECT MAX(seq) FROM event WHERE tick = 0")[0]

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        assert app.seq == first_tick_end
        await pilot.press("full_stop")
        seq, time = query(recorded_run, "SELECT seq, time FROM event WHERE seq = ?", first_tick_end + 1)[0]
        assert app.seq == seq and f"event {seq}/" in clock_text(app) and time[11:] in clock_text(app)
        await pilot.press("comma")
        assert app.seq == first_tick_end
        await pilot.press("greater_than_sign")
        (tick,) = query(recorded_run, "SELECT MIN(tick) FROM event WHERE tick > 0")[0]
        (end,) = query(recorded_run, "SELECT MAX(seq) FROM event WHERE tick = ?", tick)[0]
        assert app.seq == end and f"tick {tick}" in clock_text(app)
        await pilot.press("greater_than_sign", "less_than_sign")
        assert app.seq == end
        await pilot.press("less_than_sign")
        assert app.seq == first_tick_end

    drive(recorded_run, script)


def test_the_feed_filtered_by_person_and_kind_lists_exactly_those_events_up_to_the_viewed_time(
    recorded_run: Path,
) -> None:
    # whoever started the run's first conversation (a draw of the scripted model)
    ((person,),) = query(recorded_run, "SELECT person FROM event WHERE kind = 'talk' ORDER BY seq LIMIT 1")

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+4h")
        await pilot.press("3")
        await pilot.pause()
        feed = app.screen.query_one(FeedPane)
        (everything,) = query(recorded_run, "SELECT COUNT(*) FROM event WHERE seq <= ?", app.seq)[0]
        assert len(feed.seqs) == min(everything, 400)
        app.screen.query_one("#feed-person", Select).value = person
        app.screen.query_one("#feed-kind", Select).value = "conversations"
        await pilot.pause()
        want = [
            seq
            for (seq,) in query(
                recorded_run,
                "SELECT seq FROM event WHERE seq <= ? AND kind IN ('talk', 'say', 'talk_end') AND (person = ?"
                " OR json_extract(data, '$.with') = ? OR json_extract(data, '$.to') = ?) ORDER BY seq",
                app.seq,
                person,
                person,
                person,
            )
        ]
        assert want and feed.seqs == want
        text = "\n".join(line.text for line in app.screen.query_one("#feed-log", RichLog).lines)
        (said,) = query(recorded_run, "SELECT data FROM event WHERE seq = ?", want[-1])[0]
        assert json.loads(said).get("text", json.loads(said).get("with"))[:30] in text.replace("\n", " ")
        await pilot.press("full_stop")  # a step forward appends only what passes the filters
        await pilot.pause()
        assert feed.seqs == want + ([app.seq] if app.seq in _conversation_seqs(recorded_run, person) else [])

    drive(recorded_run, script)


def _conversation_seqs(run: Path, person: str) -> set[int]:
    return {
        seq
        for (seq,) in query(
            run,
            "SELECT seq FROM event WHERE kind IN ('talk', 'say', 'talk_end') AND "
            "(person = ? OR json_extract(data, '$.with') = ? OR json_extract(data, '$.to') = ?)",
            person,
            person,
            person,
        )
    }


@pytest.mark.slow
def test_enter_on_an_llm_call_opens_its_request_and_reply(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+1h")
        await pilot.press("4")
        await pilot.pause()
        table = app.screen.query_one("#calls-table", DataTable)
        (made,) = query(recorded_run, "SELECT COUNT(*) FROM llm_call WHERE tick <= ?", app.view.state.tick)[0]
        assert table.row_count == made
        await pilot.press("up", "up", "enter")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, CallScreen)
        call_id = int(table_rows(table)[made - 3][0])
        request, response, purpose = query(
            recorded_run, "SELECT request, response, purpose FROM llm_call WHERE id = ?", call_id
        )[0]
        assert dialog.call["id"] == call_id
        shown = str(dialog.query_one("#call-text").render())
        assert json.loads(request)["messages"][-1]["content"][:40] in shown
        assert next(iter(json.loads(response)))[:10] in shown
        assert purpose in str(dialog.query_one("#call-head").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, CallScreen)

    drive(recorded_run, script)


@pytest.mark.slow
def test_an_interview_from_the_inspector_is_answered_as_of_the_viewed_time_and_recorded(run_copy: Path) -> None:
    question = "What are you doing this morning?"

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+2h")
        await app.inspect("Mateo Quispe")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*question, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = query(run_copy, "SELECT person, t, question, answer FROM interview")
        assert [row[:3] for row in rows] == [("Mateo Quispe", 7200, question)]
        text = " ".join(line.text for line in app.screen.query_one("#answers", RichLog).lines)
        assert rows[0][3].split()[0] in text and "Q: What are you doing" in text

    drive(run_copy, script)


@pytest.mark.slow
def test_recall_scores_every_memory_known_at_the_viewed_time_best_first(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+3h")
        await app.inspect("Sofia Marchetti")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"the party", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = table_rows(app.screen.query_one("#recall-table", DataTable))
        known = {
            i
            for (i,) in query(
                recorded_run, "SELECT id FROM memory WHERE person = ? AND t <= ?", "Sofia Marchetti", 3 * 3600
            )
        }
        assert len(rows) == min(20, len(known)) and {int(r[0]) for r in rows} <= known
        totals = [float(r[5]) for r in rows]
        assert totals == sorted(totals, reverse=True)
        for row in rows:
            parts = [float(v) for v in row[2:5]]
            assert all(0 <= v <= 1 for v in parts) and abs(sum(parts) - float(row[5])) < 0.002  # weights 1, 1, 1
        # The query finds what it asks about: the most relevant memory is the party's (which comes
        # first overall also depends on the importance the scripted model gave the newest ones).
        most_relevant = max(rows, key=lambda r: float(r[4]))
        assert "party" in most_relevant[6].lower()

    drive(recorded_run, script)


@pytest.mark.slow
def test_help_palette_and_mouse_reach_the_same_actions(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Inspect Walter", "enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, InspectorScreen) and app.screen.person == "Walter Greaves"
        await pilot.press("escape")
        await pilot.pause()
        bar = app.screen.query_one(ClockBar)
        width = bar.size.width - 38
        await pilot.click(ClockBar, offset=(1 + width // 2, 1))  # the middle of the progress bar
        assert abs(app.t - app.end // 2) <= app.end / width
        await pilot.press("2")
        await pilot.pause()
        await pilot.click("#people-table", offset=(25, 0))  # the "place" header
        await pilot.pause()
        places = [row[1] for row in table_rows(app.screen.query_one("#people-table", DataTable))]
        assert places == sorted(places, key=str.casefold)

    drive(recorded_run, script)


@pytest.mark.slow
def test_a_layout_of_80_by_24_shows_the_clock_tabs_and_footer(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        for key in ("1", "2", "3", "4"):
            await pilot.press(key)
            await pilot.pause()
            bar = app.screen.query_one(ClockBar)
            assert bar.region.y == 1 and bar.region.height == 2
            assert app.screen.query_one("#tabs").region.bottom <= 23

    drive(recorded_run, script, size=(80, 24))


@pytest.mark.slow
def test_the_feeds_team_filter_lists_exactly_the_chains_events_and_says_what_each_did(team_run: Path) -> None:
    kinds = ("chain", "phase", "phase_end", "loop", "loop_end", "artifact", "sandbox", "chain_end")

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+77m")  # after the Testing loop of the TEAM_SEED run
        await pilot.press("3")
        await pilot.pause()
        app.screen.query_one("#feed-kind", Select).value = "team"
        await pilot.pause()
        feed = app.screen.query_one(FeedPane)
        want = [
            seq
            for (seq,) in query(
                team_run,
                f"SELECT seq FROM event WHERE seq <= ? AND kind IN ({','.join('?' * len(kinds))}) ORDER BY seq",
                app.seq,
                *kinds,
            )
        ]
        assert want and feed.seqs == want
        text = " ".join(line.text for line in app.screen.query_one("#feed-log", RichLog).lines)
        ((reason,),) = query(
            team_run,
            "SELECT json_extract(data, '$.reason') FROM event WHERE kind = 'loop_end' "
            "AND json_extract(data, '$.loop') = 'Testing'",
        )
        assert f"loop Testing ends after 1 cycle: {reason}" in " ".join(text.split())
        assert "writes snake_game.py v1" in text and "the program runs in the sandbox: it failed: exit status 1" in text

    drive(team_run, script)


@pytest.mark.slow
def test_the_inspectors_work_tab_lists_a_members_phases_and_files_as_of_the_viewed_time(team_run: Path) -> None:
    person = "Kenji Sato"

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, "+25m")  # after the programmer first wrote code in the TEAM_SEED run
        await app.inspect(person)
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        table = app.screen.query_one("#work-table", DataTable)
        want = query(
            team_run,
            "SELECT kind, json_extract(data, '$.phase'), json_extract(data, '$.path') FROM event "
            "WHERE seq <= ? AND kind IN ('phase', 'phase_end', 'artifact') AND (person = ? OR "
            "json_extract(data, '$.with') = ?) ORDER BY seq DESC",
            app.seq,
            person,
            person,
        )
        rows = table_rows(table)
        assert len(rows) == len(want) > 0
        for (kind, phase, path), (_, what, _) in zip(want, rows, strict=True):
            assert (path or phase) in what and what.split()[0] == {
                "phase": "began",
                "phase_end": "ended",
                "artifact": "wrote",
            }[kind]
        newest = next(i for i, row in enumerate(rows) if row[1].startswith("wrote"))
        table.move_cursor(row=newest)
        await pilot.pause()
        path, version = rows[newest][1].split()[1], int(rows[newest][1].split()[2][1:])
        ((content,),) = query(team_run, "SELECT content FROM artifact WHERE path = ? AND version = ?", path, version)
        shown = str(app.screen.query_one("#work-detail").render())
        assert content.splitlines()[0] in shown

    drive(team_run, script)


def test_the_work_tab_is_only_there_in_a_teams_run(recorded_run: Path) -> None:
    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await app.inspect("Sofia Marchetti")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        assert not app.screen.query("#work-table")
        assert isinstance(app.screen, InspectorScreen)

    drive(recorded_run, script)


@pytest.mark.slow
def test_the_map_marks_a_person_at_their_place_then_on_the_line_they_walk_as_far_as_the_time_walked(
    recorded_run: Path,
) -> None:
    # a walk from one sector to another, begun a minute or more after the walker came to where it starts
    walks = query(
        recorded_run,
        "SELECT seq, t, person, place, json_extract(data, '$.minutes'), json_extract(data, "
        "'$.route') FROM event WHERE kind = 'move' AND t > 0 ORDER BY seq",
    )
    for seq, depart, person, place, minutes, route in walks:
        sectors = [area.split(":")[0] for area in json.loads(route)]
        came = query(
            recorded_run,
            "SELECT kind, place, t FROM event WHERE person = ? AND seq < ? AND kind IN "
            "('spawn', 'arrive', 'move') ORDER BY seq DESC LIMIT 1",
            person,
            seq,
        )
        if (
            minutes >= 4
            and len(set(sectors)) > 1
            and came[0][:2] in (("arrive", place), ("spawn", place))
            and came[0][2] <= depart - 60
        ):
            break
    else:
        raise AssertionError("the recorded run has a walk between two sectors")
    stops = [s for i, s in enumerate(sectors) if i == 0 or s != sectors[i - 1]]  # the sectors passed, in order

    def drawn(app: HamletApp) -> tuple[Mark, str]:
        """The person's mark as the map placed it, and the character the map shows in its cell."""
        town = app.screen.query_one(TownMap)
        mark = town.marks[person]
        assert mark.cell is not None
        rows = town.render().plain.split("\n")  # type: ignore[union-attr]
        return mark, rows[mark.cell[1]][mark.cell[0]]

    async def script(app: HamletApp, pilot: Pilot[None]) -> None:
        await jump(pilot, f"+{depart - 30}s")
        mark, shown = drawn(app)
        assert (mark.sector, mark.walking, shown) == (place.split(":")[0], False, mark.mark)
        progress = []
        for share in (0.5, 0.75):
            await jump(pilot, f"+{depart + round(minutes * 60 * share)}s")
            walker, shown = drawn(app)
            assert walker.walking and shown == mark.mark and walker.cell != mark.cell
            if walker.walk is not None:  # between two sectors: on the line from one to the next of the route
                start, end, walked = walker.walk
                assert (start, end) in itertools.pairwise(stops) and 0 <= walked <= 1
                progress.append((stops.index(start), walked))
            else:  # crossing a sector of the route, room to room
                assert walker.sector in stops
                progress.append((stops.index(walker.sector), 0.0))
        assert progress[0] < progress[1] and any(p[1] > 0 for p in progress)

    drive(recorded_run, script)

"""The timeline rebuilds the world at any point of a run from snapshots plus events, and seeks in bounded work."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sim.tui.source import RunSource
from sim.tui.timeline import State, Timeline, apply, from_snapshot, plan_item
from tests.sim.tui.conftest import expected_people, query


class Counting:
    """A ``RunSource`` that counts the events and snapshot states it hands out."""

    def __init__(self, source: RunSource) -> None:
        self.source = source
        self.events_read = 0
        self.snapshots_read = 0
        self.moves_read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def events(self, after: int, upto: int) -> list[dict[str, Any]]:
        found = self.source.events(after, upto)
        self.events_read += len(found)
        return found

    def snapshot_state(self, snapshot_id: int) -> dict[str, Any]:
        self.snapshots_read += 1
        return self.source.snapshot_state(snapshot_id)

    def last_moves(self, people: list[str], upto: int) -> dict[str, dict[str, Any]]:
        self.moves_read += 1
        return self.source.last_moves(people, upto)


@pytest.fixture
def source(recorded_run: Path) -> Iterator[RunSource]:
    opened = RunSource(recorded_run)
    opened.run()
    yield opened
    opened.close()


def test_applying_the_events_after_the_first_snapshot_reproduces_every_later_snapshot(source: RunSource) -> None:
    marks = source.snapshot_marks()
    assert len(marks) >= 4, "the recorded run has a snapshot every simulated hour"
    state = from_snapshot(source.snapshot_state(marks[0][0]))
    state.seq = marks[0][3]
    for snap_id, _tick, _t, seq in marks[1:]:
        for event in source.events(state.seq, seq):
            apply(state, event)
        written = from_snapshot(source.snapshot_state(snap_id))
        assert (state.people, state.position, state.travel, state.activity, state.objects, state.plans) == (
            written.people,
            written.position,
            written.travel,
            written.activity,
            written.objects,
            written.plans,
        )


def test_seeking_reads_one_snapshot_and_only_the_events_after_it(source: RunSource) -> None:
    rows = Counting(source)
    timeline = Timeline(rows)
    marks = source.snapshot_marks()
    spacing = max(later[3] - earlier[3] for earlier, later in zip(marks, marks[1:], strict=False))
    for seq in (timeline.last_seq, 5, timeline.last_seq // 2, 1, timeline.last_seq - 3):
        rows.events_read = rows.snapshots_read = 0
        timeline.state(seq)
        assert rows.snapshots_read <= 1
        assert rows.events_read <= spacing


def test_a_state_is_the_same_reached_by_stepping_forward_or_by_seeking(source: RunSource) -> None:
    stepping, seeking = Timeline(source), Timeline(source)
    for seq in range(0, stepping.last_seq + 1, 7):
        walked = stepping.state(seq).copy()
        seeking._cached = None  # force a rebuild from the snapshot
        jumped = seeking.state(seq)
        assert (walked.people, walked.position, walked.travel, walked.activity, walked.plans) == (
            jumped.people,
            jumped.position,
            jumped.travel,
            jumped.activity,
            jumped.plans,
        ), seq


def test_positions_actions_and_last_lines_at_a_time_match_the_event_log(recorded_run: Path, source: RunSource) -> None:
    timeline = Timeline(source)
    for t in (0, 3600 + 1234, 2 * 3600 + 600, 3 * 3600 + 59 * 60):
        seq = source.seq_at(t)
        state = timeline.state(seq)
        for name, expected in expected_people(recorded_run, t).items():
            place = state.position.get(name) or f"→ {state.travel[name][0]}"
            said = timeline.last_said(name, seq)
            assert (place, state.activity.get(name, ""), said[1] if said else "") == (
                expected["place"],
                expected["action"],
                expected["said"],
            ), (t, name)


def test_walks_start_and_route_are_the_same_reached_by_stepping_or_from_a_snapshot_taken_during_them(
    recorded_run: Path, source: RunSource
) -> None:
    # the walks under way when each snapshot was taken, and their move events, from the log alone
    under_way: dict[int, dict[str, tuple[int, tuple[str, ...]]]] = {}
    for (seq,) in query(recorded_run, "SELECT seq FROM snapshot ORDER BY id"):
        rows = query(
            recorded_run,
            "SELECT person, t, json_extract(data, '$.route'), kind FROM event WHERE seq <= ?"
            " AND kind IN ('move', 'arrive', 'spawn') ORDER BY seq",
            seq,
        )
        last = {person: (t, route, kind) for person, t, route, kind in rows}
        under_way[seq] = {
            person: (t, tuple(json.loads(route))) for person, (t, route, kind) in last.items() if kind == "move"
        }
    assert any(under_way.values()), "the recorded run has walks under way at its snapshots"
    stepping, stepped = Timeline(source), 0
    for seq, walks in under_way.items():
        rows = Counting(source)
        seeking = Timeline(rows)
        jumped = seeking.state(seq)
        assert not jumped.routes  # the snapshot does not say: the log is asked, once for all of them
        assert seeking.journeys(jumped) == walks and seeking.journeys(jumped) == walks
        assert rows.moves_read == (1 if walks else 0)
        while stepped < seq:  # one event at a time: each walk's own move event says
            stepped += 1
            walked = stepping.state(stepped)
        assert walked.routes == walks and stepping.journeys(walked) == walks


def test_the_cost_so_far_is_the_sum_of_the_calls_up_to_the_tick(recorded_run: Path, source: RunSource) -> None:
    timeline = Timeline(source)
    for tick in (0, 10, 60, 10**6):
        (spent,) = query(
            recorded_run, "SELECT COALESCE(SUM(cost_usd), 0) FROM llm_call WHERE tick BETWEEN 0 AND ?", tick
        )[0]
        assert timeline.cost(tick) == pytest.approx(spent)


def test_a_resumed_file_with_fewer_events_is_rebuilt_rather_than_stepped_from_a_stale_state() -> None:
    class Rows:
        def __init__(self) -> None:
            self.log = [
                {"seq": 1, "tick": 0, "t": 0, "kind": "spawn", "person": "Ann", "place": "Home:room", "data": {}}
            ]

        def snapshot_marks(self, after_id: int = 0) -> list[tuple[int, int, int, int]]:
            return []

        def snapshot_state(self, snapshot_id: int) -> dict[str, Any]:
            raise AssertionError("no snapshots here")

        def events(self, after: int, upto: int) -> list[dict[str, Any]]:
            return [e for e in self.log if after < e["seq"] <= upto]

        def says(self, after: int) -> list[tuple[int, int, str, str]]:
            return []

        def call_costs(self, after_id: int) -> list[tuple[int, int, float]]:
            return []

        def last_seq(self) -> int:
            return len(self.log)

        def last_moves(self, people: list[str], upto: int) -> dict[str, dict[str, Any]]:
            return {
                e["person"]: e for e in self.log if e["seq"] <= upto and e["kind"] == "move" and e["person"] in people
            }

    rows = Rows()
    timeline = Timeline(rows)
    rows.log.append(
        {
            "seq": 2,
            "tick": 1,
            "t": 60,
            "kind": "move",
            "person": "Ann",
            "place": "Home:room",
            "data": {"to": "Park:lawn", "minutes": 5},
        }
    )
    timeline.refresh()
    assert timeline.state(2).travel == {"Ann": ("Park:lawn", 360)}
    rows.log.pop()
    timeline.refresh()
    assert timeline.state(1).position == {"Ann": "Home:room"}


def test_the_plan_item_is_the_last_one_started_and_asleep_outside_waking_hours() -> None:
    plan = {
        "wake_up": "07:00",
        "bedtime": "22:00",
        "items": [
            {"start": "09:00", "activity": "works"},
            {"start": "07:00", "activity": "has breakfast"},
            {"start": "18:00", "activity": "cooks"},
        ],
    }
    assert plan_item(plan, 6 * 60) == "asleep"
    assert plan_item(plan, 7 * 60 + 30) == "has breakfast"
    assert plan_item(plan, 12 * 60) == "works"
    assert plan_item(plan, 21 * 60 + 59) == "cooks"
    assert plan_item(plan, 22 * 60) == "asleep"
    assert plan_item({"mood": "calm", "intentions": ["bake bread"]}, 600) == "bake bread"
    assert plan_item(None, 600) == ""


def test_a_leave_takes_the_person_out_of_every_table() -> None:
    state = State(
        people=["Ann", "Bo"],
        position={"Ann": "Home:room", "Bo": "Home:room"},
        activity={"Ann": "reads"},
        plans={"Ann": {}},
    )
    apply(state, {"seq": 3, "tick": 2, "t": 9, "kind": "leave", "person": "Ann", "place": "Home:room", "data": {}})
    assert (state.people, state.position, state.activity, state.plans) == (["Bo"], {"Bo": "Home:room"}, {}, {})

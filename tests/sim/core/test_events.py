"""Typed events: one class per kind, rows decoded into them, one ``WorldState.apply`` for engine and viewer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sim.core import events
from sim.core.events import KINDS, Event, WorldState, event_class, event_dict
from sim.runfile.log import dumps
from sim.tui.feed import GROUPS, feed_line
from sim.tui.timeline import State
from sim.tui.view import describe
from tests.sim.event_fixtures import FIXTURES, RUNS

ROOT = Path(__file__).resolve().parents[3]


def fixture_rows() -> Iterator[dict]:
    """Every recorded row of the event-log fixtures."""
    for name in sorted(RUNS):
        for line in (FIXTURES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            yield json.loads(line)


def test_every_kind_of_the_glossary_has_its_class_in_the_glossarys_order() -> None:
    """The README's glossary and the registry name the same kinds, in the same order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| event |"))
    named = re.findall(r"`(\w+)`", row)
    assert tuple(named) == tuple(k for k in KINDS if k != "run_start")
    for kind in KINDS:
        assert kind == event_class(kind).KIND and event_class(kind).__doc__


def test_recorded_rows_decode_into_their_classes_and_keep_their_bytes() -> None:
    """A row decodes into its kind's class, every field it holds is declared, and it writes back the same text."""
    seen = set()
    for row in fixture_rows():
        event = Event.decode(row)
        assert type(event) is event_class(row["kind"]) is not Event
        assert type(event).open_fields or set(row["data"]) <= set(type(event).FIELDS), row
        assert dumps(event_dict(event)["data"]) == dumps(row["data"])
        assert (event.seq, event.tick, event.t, event.time, event.person, event.place) == (
            row["seq"],
            row["tick"],
            row["t"],
            row["time"],
            row["person"],
            row["place"],
        )
        assert describe(row) == event.describe() and event.describe()
        seen.add(row["kind"])
    assert {
        "spawn",
        "move",
        "arrive",
        "act",
        "say",
        "talk",
        "talk_end",
        "plan",
        "intervene",
        "object",
        "leave",
        "chain",
        "phase",
        "sandbox",
        "chain_end",
    } <= seen


def test_a_kind_nobody_declared_still_decodes_describes_and_shows() -> None:
    """An old or newer file's unknown kind is the base class: no effect, its fields shown as they are."""
    row = {
        "seq": 4,
        "tick": 1,
        "t": 60,
        "time": "2026-03-02T06:01:00",
        "kind": "dance",
        "person": "Ann",
        "place": "Home:room",
        "data": '{"style":"waltz"}',
    }
    event = Event.decode(row)
    assert type(event) is Event and event.kind == "dance" and event.data == {"style": "waltz"}
    assert event.describe() == "{'style': 'waltz'}" and event.colour == "white"
    state = State(people=["Ann"], position={"Ann": "Home:room"})
    state.apply(event)
    assert state.position == {"Ann": "Home:room"} and state.seq == 4
    line = feed_line({**row, "data": {"style": "waltz"}}).plain
    assert "dance" in line and "Ann: {'style': 'waltz'}" in line and "@ Home:room" in line


def test_a_kinds_fields_are_checked_when_it_is_made_and_read_from_its_data() -> None:
    """``new`` refuses a field the class does not declare or one it lacks; a keyword field has a trailing ``_``."""
    talk = events.Talk.new(5, "Ann", "Home:room", with_="Bo", topic="the bench")
    assert talk.data == {"with": "Bo", "topic": "the bench"} and talk.with_ == "Bo"
    assert Event(5, "talk", "Ann", "Home:room", {"with": "Bo", "topic": "the bench"}) == talk
    with pytest.raises(TypeError, match=r"unknown fields \['colour'\], missing fields \['to'\]"):
        events.Move.new(5, "Ann", "Home:room", colour="red")
    move = events.Move.new(5, "Ann", "Home:room", to="Park:lawn", minutes=0.004)
    assert move.route == [] and move.arrival == 6  # never the same second
    assert events.Move.new(5, "Ann", "Home:room", to="Park:lawn", minutes=2.5).arrival == 155
    with pytest.raises(TypeError, match="own attribute"):
        type("Bad", (Event,), {"__annotations__": {"place": "str"}}, kind="bad")


def test_the_engine_and_the_viewer_change_a_world_state_the_same_way() -> None:
    """The classes' ``apply``: arrival, travel, talking with, objects, plans, leaving."""
    state = State()
    state.apply(events.Spawn.new(0, "Ann", "Home:room", home="Home:room"))
    state.apply(events.Spawn.new(0, "Bo", "Home:room", home="Home:room"))
    state.apply(events.Move.new(10, "Ann", "Home:room", to="Park:lawn", minutes=5.0))
    assert state.people == ["Ann", "Bo"] and state.position["Ann"] is None and state.travel["Ann"] == ("Park:lawn", 310)
    assert state.routes["Ann"] == (10, ())
    state.apply(events.Arrive.new(310, "Ann", "Park:lawn"))
    state.apply(events.Act.new(310, "Ann", "Park:lawn", activity="sits", object="bench", until=None))
    assert state.position["Ann"] == "Park:lawn" and not state.travel and not state.routes
    assert state.activity["Ann"] == "sits"
    state.apply(events.TalkEnd.new(400, "Ann", "Park:lawn", with_="Bo", turns=2, reason="done"))
    assert state.activity == {"Ann": "talking with Bo", "Bo": "talking with Ann"}
    state.apply(events.ObjectState.new(500, None, "Park:lawn", object="bench", state="painted", by="intervention"))
    state.apply(Event(600, "plan", "Bo", None, {"scope": "day", "date": "2026-03-02", "items": [], "mood": "calm"}))
    assert state.objects == {"Park:lawn": {"bench": "painted"}} and state.plans == {"Bo": {"items": [], "mood": "calm"}}
    state.apply(events.Leave.new(700, "Bo", "Home:room", by="intervention"))
    assert state.people == ["Ann"] and "Bo" not in state.activity and "Bo" not in state.plans
    state.apply(events.Act.new(800, "Bo", None, activity="haunts", object=None, until=None))
    assert "Bo" not in state.activity  # someone no longer in the world does nothing


@dataclass(slots=True)
class Board(WorldState):
    """A world state of one's own: what a new kind's ``apply`` changes."""

    people: list[str] = field(default_factory=list)
    position: dict[str, str | None] = field(default_factory=dict)
    travel: dict[str, tuple[str, int]] = field(default_factory=dict)
    activity: dict[str, str] = field(default_factory=dict)
    objects: dict[str, dict[str, str]] = field(default_factory=dict)
    plans: dict[str, dict] = field(default_factory=dict)
    routes: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)


def test_adding_an_event_kind_is_one_class() -> None:
    """The recipe of docs/architecture.md: a class declares it; rows decode into it; the feed shows it."""

    class Wave(Event, kind="wave"):
        """A person waved at someone."""

        colour = "bold green"
        group = "conversations"
        at: str

        def describe(self) -> str:
            """Whom they wave at."""
            return f"waves at {self.at}"

        def apply(self, state: WorldState) -> None:
            """They are waving."""
            if self.person:
                state.activity[self.person] = f"waving at {self.at}"

    try:
        row = {
            "seq": 9,
            "tick": 2,
            "t": 90,
            "time": "2026-03-02T06:01:30",
            "kind": "wave",
            "person": "Ann",
            "place": "Home:room",
            "data": {"at": "Bo"},
        }
        event = Event.decode(row)
        assert isinstance(event, Wave) and event.at == "Bo" and Wave.new(90, "Ann", at="Bo").data == {"at": "Bo"}
        board = Board()
        board.apply(event)
        assert board.activity == {"Ann": "waving at Bo"}
        line = feed_line(row)
        assert "waves at Bo" in line.plain and any(span.style == "bold green" for span in line.spans)
    finally:
        del events._CLASSES["wave"]


def test_the_feeds_groups_come_from_the_classes() -> None:
    """Conversations, movement and the team's kinds, as each class names its group."""
    assert list(GROUPS) == ["conversations", "movement", "team"]
    assert set(GROUPS["conversations"]) == {"say", "talk", "talk_end"} and GROUPS["movement"] == ("move", "arrive")
    assert "sandbox" in GROUPS["team"] and "act" not in sum(GROUPS.values(), ())

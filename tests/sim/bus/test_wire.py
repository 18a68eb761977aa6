"""What workers and the world exchange comes back exactly as it was sent."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from sim.bus.wire import (
    decision_data,
    decision_of,
    lines_data,
    lines_of,
    percept_data,
    percept_of,
    turn_data,
    turn_of,
)
from sim.events import Event
from sim.mind import Decision, Do, Go, Line, Note, Percept, Say, Talk, Turn


def through_json(data: object) -> object:
    return orjson.loads(orjson.dumps(data))


def test_a_percept_survives_the_trip_to_a_worker() -> None:
    heard = Event(30, "say", "Bo", "Home:room", {"text": "hi", "to": "Ann"}, 7, 2, "2026-03-02T06:00:30")
    for now in (datetime(2026, 3, 2, 6, 0, 30, 123456), datetime(2026, 3, 2, 6, 0, tzinfo=UTC)):
        percept = Percept(now, "Home:room", (("Bo", "reads"),), (("bed", "made"),), (heard,), "noticed")
        assert percept_of(through_json(percept_data(percept))) == percept


def test_a_decision_of_every_kind_of_action_survives_the_trip_back() -> None:
    until = datetime(2026, 3, 2, 9, 15)
    decision = Decision([Note("plan", {"scope": "day", "items": [1, 2]}), Go("Park:lawn", "walks"),
                         Do("reads", until, "desk"), Say("hello", "Bo"), Talk("Bo", "the party", 6)], until)
    assert decision_of(through_json(decision_data(decision))) == decision
    assert decision_of(through_json(decision_data(Decision()))) == Decision()


def test_conversation_lines_and_turns_survive_the_trip() -> None:
    lines = [Line("Ann", "Hello"), Line("Bo", "Hi, Ann")]
    assert lines_of(through_json(lines_data(lines))) == lines
    assert turn_of(through_json(turn_data(Turn("Bye", True)))) == Turn("Bye", True)

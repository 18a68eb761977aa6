"""What a worker and the world say to each other about a mind, as JSON-ready data and back.

Percepts, decisions, conversation lines and turns travel as plain dicts and lists; times as
ISO 8601 text (``datetime.isoformat`` and ``fromisoformat`` give the same instant back, to the
microsecond and with its zone if it has one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sim.events import Event, event_dict
from sim.mind import Action, Decision, Do, Go, Line, Note, Percept, Say, Talk, Turn


def percept_data(percept: Percept) -> dict[str, Any]:
    """A percept as JSON-ready data."""
    return {"now": percept.now.isoformat(), "place": percept.place, "people": percept.people,
            "objects": percept.objects, "events": [event_dict(e) for e in percept.events],
            "reason": percept.reason}


def percept_of(data: dict[str, Any]) -> Percept:
    """The percept ``percept_data`` described."""
    return Percept(datetime.fromisoformat(data["now"]), data["place"],
                   tuple((p[0], p[1]) for p in data["people"]), tuple((o[0], o[1]) for o in data["objects"]),
                   tuple(Event(**e) for e in data["events"]), data["reason"])


def decision_data(decision: Decision) -> dict[str, Any]:
    """A decision as JSON-ready data."""
    return {"actions": [_action_data(a) for a in decision.actions],
            "wake": decision.wake.isoformat() if decision.wake is not None else None}


def decision_of(data: dict[str, Any]) -> Decision:
    """The decision ``decision_data`` described."""
    wake = data["wake"]
    return Decision([_action_of(a) for a in data["actions"]], datetime.fromisoformat(wake) if wake else None)


def _action_data(action: Action) -> list[Any]:
    if isinstance(action, Go):
        return ["go", action.place, action.purpose]
    if isinstance(action, Do):
        return ["do", action.activity, action.until.isoformat(), action.object]
    if isinstance(action, Say):
        return ["say", action.text, action.to]
    if isinstance(action, Talk):
        return ["talk", action.partner, action.topic, action.max_turns]
    return ["note", action.kind, action.data]


def _action_of(item: list[Any]) -> Action:
    kind, *fields = item
    if kind == "go":
        return Go(fields[0], fields[1])
    if kind == "do":
        return Do(fields[0], datetime.fromisoformat(fields[1]), fields[2])
    if kind == "say":
        return Say(fields[0], fields[1])
    if kind == "talk":
        return Talk(fields[0], fields[1], int(fields[2]))
    if kind == "note":
        return Note(fields[0], dict(fields[1]))
    raise ValueError(f"unknown action {kind!r}")


def lines_data(lines: list[Line]) -> list[list[str]]:
    """Conversation lines as [speaker, text] pairs."""
    return [[line.speaker, line.text] for line in lines]


def lines_of(data: list[list[str]]) -> list[Line]:
    """The lines ``lines_data`` described."""
    return [Line(speaker, text) for speaker, text in data]


def turn_data(turn: Turn) -> dict[str, Any]:
    """A speaker's turn as JSON-ready data."""
    return {"text": turn.text, "end": turn.end}


def turn_of(data: dict[str, Any]) -> Turn:
    """The turn ``turn_data`` described."""
    return Turn(str(data["text"]), bool(data["end"]))

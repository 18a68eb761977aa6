"""What the screens show at the viewed point of a run, as plain data: people rows, places, plan progress.

Everything here is computed from a ``Timeline`` state and the run's world; nothing draws. The
widgets in ``sim/tui/panes.py`` turn it into tables, trees and text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sim.core.events import Event
from sim.core.mind import plan_spans
from sim.tui.timeline import State, Timeline, plan_item
from sim.worldfile.scenario import Scenario


@dataclass(slots=True, frozen=True)
class View:
    """The viewed point: the last event ``seq`` that has happened, the viewed second ``t`` and the world then."""

    seq: int
    t: int
    when: datetime
    state: State


@dataclass(slots=True, frozen=True)
class PersonRow:
    """One line of the people table."""

    name: str
    place: str
    action: str
    plan: str
    said: str

    def cells(self) -> tuple[str, str, str, str, str]:
        """The row's cells in column order."""
        return (self.name, self.place, self.action, self.plan, self.said)


COLUMNS = ("name", "place", "action", "plan", "said")
"""The people table's columns, which are also its sort keys."""


def people_rows(view: View, timeline: Timeline) -> list[PersonRow]:
    """A row for everyone in the world at the viewed point, by name."""
    state = view.state
    minute = view.when.hour * 60 + view.when.minute
    rows = []
    for name in state.people:
        place = state.position.get(name)
        if place is None and name in state.travel:
            place = f"→ {state.travel[name][0]}"
        said = timeline.last_said(name, view.seq)
        line = f"{_clock(said[0], view)} {said[1]}" if said else ""
        rows.append(
            PersonRow(name, place or "", state.activity.get(name, ""), plan_item(state.plans.get(name), minute), line)
        )
    return rows


def sort_rows(rows: list[PersonRow], column: str, reverse: bool = False) -> list[PersonRow]:
    """``rows`` ordered by ``column`` (case-insensitive), then by name."""
    index = COLUMNS.index(column)
    return sorted(rows, key=lambda r: (r.cells()[index].casefold(), r.name), reverse=reverse)


def filter_rows(rows: list[PersonRow], text: str) -> list[PersonRow]:
    """The rows any of whose cells contain every word of ``text`` (case-insensitive)."""
    words = text.casefold().split()
    if not words:
        return rows
    return [r for r in rows if all(any(w in cell.casefold() for cell in r.cells()) for w in words)]


def places(view: View, scenario: Scenario) -> list[tuple[str, list[tuple[str, list[tuple[str, str]]]]]]:
    """Sectors in world order, each with its areas and who is in each doing what: (sector, [(area, [(person, activity)])])."""
    state = view.state
    here: dict[str, list[str]] = {}
    for person, spot in state.position.items():
        if spot is not None:
            here.setdefault(spot, []).append(person)
    out = []
    for sector in scenario.sectors:
        areas = []
        for area in sector.areas:
            area_id = f"{sector.name}:{area.name}"
            areas.append((area.name, [(p, state.activity.get(p, "")) for p in sorted(here.get(area_id, []))]))
        out.append((sector.name, areas))
    return out


def travelling(view: View) -> list[tuple[str, str, int]]:
    """Who is on the way, where to, and the second they arrive."""
    return [(p, dest, arrival) for p, (dest, arrival) in sorted(view.state.travel.items())]


def _clock(t: int, view: View) -> str:
    return (view.when + timedelta(seconds=t - view.t)).strftime("%H:%M")


def describe(event: dict[str, Any]) -> str:
    """One event row in words (without its time, person or place): its kind's sentence (``sim/core/events.py``)."""
    return Event.decode(event).describe()


def plan_progress(plan: dict[str, Any] | None, minute: int) -> list[tuple[str, str, str]]:
    """The day plan's items in time order as (``done``/``now``/``next``, start, activity) at ``minute``."""
    spans = plan_spans(plan)
    asleep = plan_item(plan, minute) == "asleep"
    started = [index for index, (start, _) in enumerate(spans) if start <= minute]
    current = started[-1] if started and not asleep else None
    rows = []
    for index, (start, activity) in enumerate(spans):
        mark = "now" if index == current else ("done" if index in started else "next")
        rows.append((mark, f"{start // 60:02d}:{start % 60:02d}", activity))
    return rows

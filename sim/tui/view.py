"""What the screens show at the viewed point of a run, as plain data: people rows, places, plan progress.

Everything here is computed from a ``Timeline`` state and the run's world; nothing draws. The
widgets in ``sim/tui/panes.py`` turn it into tables, trees and text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sim.mind import plan_spans
from sim.scenario import Scenario
from sim.tui.timeline import State, Timeline, plan_item


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
        rows.append(PersonRow(name, place or "", state.activity.get(name, ""), plan_item(state.plans.get(name), minute),
                              line))
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
    """One event in words (without its time, person or place)."""
    kind, data = event["kind"], event.get("data") or {}
    if kind == "run_start":
        return f"the run starts: {data.get('world')}, seed {data.get('seed')}, {data.get('people')} people"
    if kind == "spawn":
        return f"appears at {event.get('place')}"
    if kind == "move":
        return f"sets off to {data.get('to')} ({float(data.get('minutes', 0)):g} min): {data.get('purpose', '')}"
    if kind == "arrive":
        return f"arrives at {event.get('place')}"
    if kind == "act":
        until = f" until {str(data['until'])[11:16]}" if data.get("until") else ""
        used = f" with the {data['object']}" if data.get("object") else ""
        return f"{data.get('activity', '')}{used}{until}"
    if kind == "say":
        to = f" (to {data['to']})" if data.get("to") else ""
        if data.get("phase"):
            wrote = f" [writes {', '.join(data['files'])}]" if data.get("files") else ""
            asked = " (the conclusion, asked for)" if data.get("extract") else ""
            return f"[{data['phase']}] “{clip(str(data.get('text', '')), SAID)}”{to}{wrote}{asked}"
        return f"“{data.get('text', '')}”{to}"
    if kind == "talk":
        return f"starts talking with {data.get('with')} about {data.get('topic', '')}"
    if kind == "talk_end":
        return f"ends the talk with {data.get('with')} after {data.get('turns')} lines ({data.get('reason', '')})"
    if kind == "plan":
        items = "; ".join(f"{i.get('start')} {i.get('activity')}" for i in data.get("items", []))
        if data.get("scope") == "replan":
            return f"changes plans ({data.get('reason', '')}): {items}"
        how = " hour by hour" if data.get("scope") == "hours" else ""
        return f"plans the day{how}: {items or data}"
    if kind == "intervene":
        return f"intervention ({data.get('kind')}): {data.get('text', '')}"
    if kind == "object":
        return f"the {data.get('object')} now {data.get('state')}"
    if kind == "leave":
        return "leaves the world"
    return describe_team(kind, data)


SAID = 300
"""Characters of a phase's line the feed shows (a task prompt quotes the whole program)."""


def describe_team(kind: str, data: dict[str, Any]) -> str:
    """A team's event in words: its chain, phases, loops, files and program runs."""
    if kind == "chain":
        return f"the team takes up its task: {data.get('task')} ({data.get('phases')} phases)"
    if kind == "phase":
        cycle = f", {data['loop']} cycle {data['cycle']}" if data.get("loop") else ""
        return (f"opens {data.get('phase')} with {data.get('with')} ({data.get('instructor')} instructs, "
                f"{data.get('assistant')} assists; at most {count(int(data.get('turns') or 0), 'reply')}{cycle})")
    if kind == "phase_end":
        result = (f" → {', '.join(data['files'])}" if data.get("files")
                  else f" → {clip(str(data['conclusion']), 120)}" if data.get("conclusion") else "")
        return f"{data.get('phase')} ends after {count(int(data.get('replies') or 0), 'reply')}: {data.get('reason')}{result}"
    if kind == "loop":
        until = f", until {data['until']}" if data.get("until") else ""
        return f"loop {data.get('loop')} begins (at most {data.get('cycles')} cycles{until})"
    if kind == "loop_end":
        return f"loop {data.get('loop')} ends after {count(int(data.get('cycles') or 0), 'cycle')}: {data.get('reason')}"
    if kind == "artifact":
        made = f" in {data['phase']}" if data.get("phase") else " (the team's starting file)"
        return f"writes {data.get('path')} v{data.get('version')} ({data.get('lines')} lines){made}"
    if kind == "file_rejected":
        return f"proposes a file {data.get('path')!r} that is not saved: {data.get('reason')}"
    if kind == "sandbox":
        return f"the program runs in the sandbox: {run_outcome(data)}"
    if kind == "chain_end":
        if not data.get("program"):
            return "the team is done (no program written)"
        return (f"the team is done: completeness {data.get('completeness')}, executability "
                f"{data.get('executability')}, consistency {data.get('consistency')}, quality {data.get('quality')}")
    return str(data)


def run_outcome(data: dict[str, Any]) -> str:
    """How a program run ended, in a few words."""
    if data.get("ok"):
        return "it ran without error"
    if data.get("error"):
        return f"{'it was not run' if data.get('refused') else 'it could not run'}: {data['error']}"
    how = f"exit status {data.get('exit_code')}" if data.get("exit_code") is not None else f"killed by {data.get('signal')}"
    limit = f" at the {data['limit_hit']} limit" if data.get("limit_hit") not in (None, "none") else ""
    return f"it failed: {how}{limit}"


def count(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless one: 1 reply, 2 replies."""
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number} {noun if number == 1 else plural}"


def clip(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


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

"""What the world looked like at any point of a run: the newest snapshot before it, plus the events after.

A point of a run is an event ``seq`` (the last event that has happened) and the viewed simulated
second. ``Timeline.state(seq)`` rebuilds positions, journeys, activities, object states and day
plans from the newest snapshot whose ``seq`` is at most the one asked for, then applies the events
in between, decoded into their classes, with ``WorldState.apply`` as the engine did
(``sim/core/events.py``). Seeking therefore reads at most one snapshot's worth of events, whatever the
run's length; stepping forward applies only the new events to the last state.
Utterances and spending are indexed once (and grown as a live run writes more), so the last line
each person said and the cost so far are a binary search away.

This module knows nothing of the screen; ``sim/tui/app.py`` draws what it returns.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from sim.core.events import Event, WorldState
from sim.core.mind import clock_minutes, plan_spans


class Rows(Protocol):
    """The queries a timeline needs (``sim.tui.source.RunSource`` answers them)."""

    def snapshot_marks(self, after_id: int = 0) -> list[tuple[int, int, int, int]]:
        """(id, tick, t, seq) of the snapshots after ``after_id``."""
        ...

    def snapshot_state(self, snapshot_id: int) -> dict[str, Any]:
        """The state one snapshot holds."""
        ...

    def events(self, after: int, upto: int) -> list[dict[str, Any]]:
        """Events with ``after < seq <= upto``, in order, ``data`` decoded."""
        ...

    def says(self, after: int) -> list[tuple[int, int, str, str]]:
        """(seq, t, person, text) of the ``say`` events after ``after``."""
        ...

    def call_costs(self, after_id: int) -> list[tuple[int, int, float]]:
        """(id, tick, cost) of the LLM calls after ``after_id``."""
        ...

    def last_seq(self) -> int:
        """The newest event's ``seq``."""
        ...

    def last_moves(self, people: Collection[str], upto: int) -> dict[str, dict[str, Any]]:
        """Each of ``people``'s last ``move`` event at or before ``seq`` ``upto`` (``data`` decoded), if any."""
        ...


@dataclass(slots=True)
class State(WorldState):
    """The world after event ``seq``: who is where, travelling, doing what; objects; each day plan.

    ``routes`` holds when each walk under way began and the areas it passes, for the walks that
    began after the snapshot the state was rebuilt from (``Timeline.journeys`` finds the others).
    """

    seq: int = 0
    tick: int = 0
    t: int = 0
    people: list[str] = field(default_factory=list)
    position: dict[str, str | None] = field(default_factory=dict)
    travel: dict[str, tuple[str, int]] = field(default_factory=dict)
    activity: dict[str, str] = field(default_factory=dict)
    objects: dict[str, dict[str, str]] = field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: dict[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)

    def copy(self) -> State:
        """A copy that later ``apply`` calls on this one leave alone."""
        return State(
            self.seq,
            self.tick,
            self.t,
            list(self.people),
            dict(self.position),
            dict(self.travel),
            dict(self.activity),
            {k: dict(v) for k, v in self.objects.items()},
            dict(self.plans),
            dict(self.routes),
        )

    def apply(self, event: Event) -> None:
        """Change the state as ``event`` changed the engine's world; it is now the state after ``event``."""
        self.seq, self.tick, self.t = event.seq, event.tick, event.t
        WorldState.apply(self, event)


def from_snapshot(state: dict[str, Any]) -> State:
    """The ``State`` a snapshot's JSON (``Simulation.state()``) describes."""
    world = state.get("world", {})
    minds = state.get("minds", {})
    return State(
        seq=int(state.get("seq", 0)),
        tick=int(state.get("tick", 0)),
        t=int(state.get("clock", {}).get("now", 0)),
        people=sorted(state.get("people", [])),
        position=dict(world.get("position", {})),
        travel={k: (str(v[0]), int(v[1])) for k, v in world.get("travel", {}).items()},
        activity=dict(world.get("activity", {})),
        objects={k: dict(v) for k, v in world.get("objects", {}).items()},
        # the plan a person follows: the hour-level one where the mind keeps one (as the latest ``plan`` event says)
        plans={
            name: dict(mind.get("hours") or mind["plan"])
            for name, mind in minds.items()
            if isinstance(mind, dict) and mind.get("plan")
        },
    )


def apply(state: State, event: dict[str, Any]) -> None:
    """Change ``state`` as the engine changed its world when it logged ``event`` (a row, data decoded)."""
    state.apply(Event.decode(event))


def plan_item(plan: dict[str, Any] | None, minute: int) -> str:
    """The day plan's item under way at ``minute`` after midnight ("asleep" outside waking hours)."""
    if not plan:
        return ""
    if not plan.get("items"):  # the schedule mind's plan: a mood and intentions
        intentions = plan.get("intentions") or []
        return "; ".join(str(i) for i in intentions[:2]) or str(plan.get("mood", ""))
    wake, bed = clock_minutes(plan.get("wake_up")), clock_minutes(plan.get("bedtime"))
    if wake is not None and minute < wake or bed is not None and minute >= bed:
        return "asleep"
    current = ""
    for start, activity in plan_spans(plan):
        if start <= minute:
            current = activity
    return current


SNAPSHOT_COST = 2
"""Reading a snapshot costs about as much as applying this many events per person in it."""


class Timeline:
    """Rebuilds ``State`` at any event of a run from snapshots and events; grows as a live run writes."""

    def __init__(self, rows: Rows) -> None:
        self.rows = rows
        self.last_seq = 0
        self._marks: list[tuple[int, int, int, int]] = []  # (seq, id, tick, t) of snapshots, by seq
        self._mark_seqs: list[int] = []
        self._spacing = 0  # the most events between two snapshots (a seek never reads more)
        self._last_mark_id = 0
        self._said: dict[str, tuple[list[int], list[tuple[int, str]]]] = {}  # person -> (seqs, (t, text))
        self._said_upto = 0
        self._cost_by_tick: dict[int, float] = {}
        self._last_call_id = 0
        self._cost_ticks: list[int] = []
        self._cost_sums: list[float] = []
        self._cost_dirty = False
        self._cached: State | None = None
        self._journeys: dict[tuple[str, int], tuple[int, tuple[str, ...]] | None] = {}  # (person, arrival) -> journey
        self.snapshot_loads = 0  # how many snapshot states were read (seeks that could not step forward)
        self.refresh()

    def refresh(self) -> bool:
        """Take in rows written since the last call; True if there are new events."""
        before = self.last_seq
        self.last_seq = self.rows.last_seq()
        if self.last_seq < before:  # the run was resumed from an earlier snapshot: start over
            self._cached = None
            self._said, self._said_upto = {}, 0
            self._journeys = {}
        for snap_id, tick, t, seq in self.rows.snapshot_marks(self._last_mark_id):
            self._last_mark_id = snap_id
            at = bisect.bisect_right(self._mark_seqs, seq)
            self._mark_seqs.insert(at, seq)
            self._marks.insert(at, (seq, snap_id, tick, t))
            neighbours = self._mark_seqs[max(0, at - 1) : at + 2]
            self._spacing = max([self._spacing, *(b - a for a, b in zip(neighbours, neighbours[1:], strict=False))])
        for seq, t, person, text in self.rows.says(self._said_upto):
            seqs, lines = self._said.setdefault(person, ([], []))
            seqs.append(seq)
            lines.append((t, text))
            self._said_upto = seq
        self._said_upto = max(self._said_upto, self.last_seq)
        for call_id, tick, cost in self.rows.call_costs(self._last_call_id):
            self._last_call_id = call_id
            if tick >= 0 and cost:  # interviews (tick -1) are not part of the run's spending
                self._cost_by_tick[tick] = self._cost_by_tick.get(tick, 0.0) + cost
                self._cost_dirty = True
        return self.last_seq != before

    def state(self, seq: int) -> State:
        """The world after event ``seq`` (owned by the timeline: copy it to keep it)."""
        seq = max(0, min(seq, self.last_seq))
        at = bisect.bisect_right(self._mark_seqs, seq) - 1
        mark = self._marks[at] if at >= 0 else None
        cached = self._cached
        if cached is not None and cached.seq <= seq and (mark is None or cached.seq >= mark[0]):
            base = cached  # stepping forward from where we were is never more work than the snapshot
        elif (
            cached is not None
            and cached.seq <= seq
            and mark is not None
            and seq - cached.seq <= min(self._spacing, seq - mark[0] + SNAPSHOT_COST * len(cached.people))
        ):
            base = cached  # past a snapshot, but reading it would cost more than the events it saves
        elif mark is not None:
            base = from_snapshot(self.rows.snapshot_state(mark[1]))
            base.seq, base.tick, base.t = mark[0], mark[2], mark[3]
            self.snapshot_loads += 1
        else:
            base = State()
        for row in self.rows.events(base.seq, seq):
            base.apply(Event.decode(row))
        self._cached = base
        return base

    def journeys(self, state: State) -> dict[str, tuple[int, tuple[str, ...]]]:
        """When each person on the way in ``state`` set off, and the areas their route passes.

        Walks that began before the snapshot ``state`` was rebuilt from are looked up in the log,
        all in one read (their ``move`` events), and remembered by their arrival.
        """
        missing = [
            person
            for person, (_, arrival) in state.travel.items()
            if person not in state.routes and (person, arrival) not in self._journeys
        ]
        if missing:
            moves = self.rows.last_moves(missing, state.seq)
            for person in missing:
                move = moves.get(person)
                self._journeys[person, state.travel[person][1]] = (
                    None
                    if move is None
                    else (int(move["t"]), tuple(str(area) for area in move["data"].get("route") or ()))
                )
        found = {}
        for person, (_, arrival) in state.travel.items():
            journey = state.routes.get(person) or self._journeys.get((person, arrival))
            if journey is not None:
                found[person] = journey
        return found

    def snapshot_id(self, seq: int) -> int | None:
        """The id of the newest snapshot taken at or before event ``seq``."""
        at = bisect.bisect_right(self._mark_seqs, seq) - 1
        return self._marks[at][1] if at >= 0 else None

    def last_said(self, person: str, seq: int) -> tuple[int, str] | None:
        """(second, text) of the last thing ``person`` said at or before event ``seq``."""
        found = self._said.get(person)
        if not found:
            return None
        at = bisect.bisect_right(found[0], seq) - 1
        return found[1][at] if at >= 0 else None

    def cost(self, tick: int) -> float:
        """US dollars spent on LLM calls up to and including tick ``tick``."""
        if self._cost_dirty:
            self._cost_ticks = sorted(self._cost_by_tick)
            self._cost_sums = list(itertools.accumulate(self._cost_by_tick[t] for t in self._cost_ticks))
            self._cost_dirty = False
        at = bisect.bisect_right(self._cost_ticks, tick) - 1
        return self._cost_sums[at] if at >= 0 else 0.0

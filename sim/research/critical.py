"""The oracle bound: the critical path of a recorded run's model calls, against the wall time it took.

No schedule can finish a run faster than its longest chain of model calls that had to wait for
one another. This module rebuilds that dependency graph from the run file and measures its
longest path, so ``hamlet show`` can say how close the run came to the limit.

- A *unit* is one person's decision (or reflection, a tick of its own) at one tick (their
  ``llm_call`` rows of that person and tick), one conversation (both speakers' calls at its tick; a ``talk_end`` event names the
  two), or a team step (the calls of the team's players at a tick).
- A unit's calls run one after another, unless the recorded times show two of them overlapping
  (the two partners remembering a conversation with ``asyncio.gather``, say): an attempt ran
  from its ``wall_time`` (its end) minus its ``latency_ms``, and attempts whose spans overlap
  by more than ``TOLERANCE_S`` ran side by side. A unit weighs its longest chain of attempts
  that follow one another.
- A unit depends on the same person's previous unit (both people's, for a conversation), and
  on every unit of another person whose committed effects were in its percept, between the
  person's previous unit and this one: an event that person caused at this person's place while
  this person was there (positions follow ``spawn``, ``move``, ``arrive`` and ``leave``), and,
  when this person arrived somewhere, what stood there: the unit behind each person present
  (their arrival, activity or conversation) and behind each object's state. An event is
  caused by the unit of its person at its tick; an arrival by the unit that set off. Events of
  a tick's start (arrivals, interventions) are in that tick's percepts, the rest in the next
  tick's. Interventions are no unit's. A team step depends on the previous team step and on
  every unit of earlier ticks (its chain reads the whole world).
- Weights: a request the model answered (or failed: ``ok``, ``repaired``, ``invalid``,
  ``error``) counts one call and its ``latency_ms``; ``cached``, ``replay_miss`` and
  ``fallback`` rows weigh 0, and so do a fork's rows copied from its parent.

The wall time is the span of the run's own requests (the first one's start to the last one's
end, from ``llm_call``): what the schedule could shorten. The run row's ``created_at`` to
``updated_at`` (start-up and the final commit included) is given beside it. Both include any
time a resumed run stood still.

Everything is read with two queries and computed in one pass over the ticks, with dicts: each
place keeps the units behind its events as a stack (``_Trail``) and what stands in it as heaps
(``_Standing``), so a person takes in what happened around them when they next decide or leave,
in time that grows with the events, not with how many people share a place. The 1,000-person
day of ``benchmarks/towns.py`` (29,000 events) takes about 0.25 s, a million events about 8 s.
"""

from __future__ import annotations

import bisect
import heapq
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sim.core.events import Act, Arrive, Intervene, Leave, Move, ObjectState, RunStart, Spawn, TalkEnd
from sim.runfile.queries import call_times, run_row, sql_kind, sql_kinds

if TYPE_CHECKING:
    from sim.runfile.reader import RunReader
    from sim.worldfile.scenario import Scenario

REQUESTS = frozenset({"ok", "repaired", "invalid", "error"})
"""Statuses of ``llm_call`` rows that went to the model (the others weigh nothing)."""

TOLERANCE_S = 0.001
"""Two attempts overlap when one starts this much before the other ends (``wall_time`` has milliseconds)."""

# The kinds the bound reads, named through their classes (as the queries do: ``sql_kind``).
_SETTLING = frozenset({RunStart.KIND, Spawn.KIND, Arrive.KIND, Intervene.KIND})  # made as a tick starts
_CHANGES = frozenset({ObjectState.KIND, Leave.KIND})  # a researcher's when ``by`` says "intervention"
_ENTERS = frozenset({Spawn.KIND, Arrive.KIND})
_EXITS = frozenset({Move.KIND, Leave.KIND})
_ARRIVE, _ACT, _TALK_END, _OBJECT = Arrive.KIND, Act.KIND, TalkEnd.KIND, ObjectState.KIND
_EVENTS_SQL = (
    "SELECT tick, kind, person, place,"
    f" CASE kind WHEN {sql_kind(TalkEnd)} THEN json_extract(data, '$.with')"
    f" WHEN {sql_kind(ObjectState)} THEN json_extract(data, '$.object') END,"
    f" CASE WHEN kind IN {sql_kinds(ObjectState, Leave)} THEN json_extract(data, '$.by') END"
    " FROM event ORDER BY seq"
)
"""Each event as the bound reads it (``EventRow``): with whom a conversation ended, the object changed, who did it."""
_TEAM = "\x00team"  # the key of the team's steps among people's


class CallRow(NamedTuple):
    """One ``llm_call`` row as the bound reads it."""

    tick: int
    person: str | None
    status: str
    latency_ms: float
    wall_time: str  # ISO; when the attempt ended ("" if unknown)


class EventRow(NamedTuple):
    """One ``event`` row as the bound reads it, in ``seq`` order."""

    tick: int
    kind: str
    person: str | None
    place: str | None
    other: str | None = None  # a talk_end's partner, an object event's object
    by: str | None = None  # an object or leave event's cause ("intervention": a researcher's)


@dataclass(frozen=True, slots=True)
class Bound:
    """A run's oracle bound: its critical path (in calls and seconds) beside the wall time it took."""

    calls: int  # requests the run sent to the model
    units: int  # decisions, conversations and team steps
    overlapping_units: int  # units with attempts that ran side by side (counted in parallel)
    chain_calls: int  # the most requests on any chain of dependent units (weighted by count)
    critical_s: float  # the longest chain weighted by recorded latency: the oracle bound
    critical_calls: int  # requests on that chain
    critical_units: int  # units on that chain
    barrier_s: float  # each tick's slowest unit, summed: the bound of a tick-by-tick schedule
    wall_s: float | None  # the first request's start to the last one's end (llm_call wall times)
    run_s: float | None = None  # the run row's created_at to updated_at
    wall_source: str = "llm_call"  # where wall_s comes from

    @property
    def share(self) -> float | None:
        """How much of the limit the run reached: the oracle bound over the wall time."""
        return self.critical_s / self.wall_s if self.wall_s else None

    def as_json(self) -> dict[str, Any]:
        """The bound as JSON-ready data (seconds to the millisecond), with its share."""
        data = asdict(self)
        for key in ("critical_s", "barrier_s", "wall_s", "run_s"):
            if data[key] is not None:
                data[key] = round(data[key], 3)
        share = self.share
        data["share"] = None if share is None else round(share, 4)
        return data


def critical_path(
    calls: Iterable[CallRow], events: Iterable[EventRow], *, team: Collection[str] = (), since_tick: int = 0
) -> Bound:
    """The oracle bound of a run's calls and events (``team``: its players; calls of ticks to ``since_tick`` weigh 0)."""
    graph = _Graph(frozenset(team))
    spent: dict[int, dict[str, list[tuple[float, float | None]]]] = {}
    requests, first, last = 0, float("inf"), float("-inf")
    for call in calls:
        if call.tick <= since_tick or call.status not in REQUESTS:
            continue
        latency = call.latency_ms / 1000
        end = _seconds(call.wall_time)
        if end is not None:
            first, last = min(first, end - latency), max(last, end)
        spent.setdefault(call.tick, {}).setdefault(call.person or "", []).append((latency, end))
        requests += 1
    happened: dict[int, list[EventRow]] = {}
    for event in events:
        happened.setdefault(event.tick, []).append(event)
    for tick in sorted(spent.keys() | happened.keys()):
        graph.tick(spent.get(tick, {}), happened.get(tick, []))
    return graph.bound(requests, last - first if last >= first else None)


def read_bound(db: sqlite3.Connection, *, team: Collection[str] = (), since_tick: int = 0) -> Bound:
    """The oracle bound of the run file open in ``db``, with the run row's own span beside it."""
    bound = critical_path((CallRow(*row) for row in call_times(db)), _events(db), team=team, since_tick=since_tick)
    run = run_row(db, ("created_at", "updated_at"))
    began, ended = (_seconds(run["created_at"]), _seconds(run["updated_at"])) if run else (None, None)
    return replace(bound, run_s=ended - began if began is not None and ended is not None else None)


SCORING = "importance"
"""The ``purpose`` of the calls ``without_scoring`` takes off the path: a new memory's importance score."""


def without_scoring(db: sqlite3.Connection) -> dict[str, Bound]:
    """The oracle bound of the run file open in ``db`` as run, and were importance scoring off the critical path.

    A what-if for the speed targets (docs/benchmarks.md section 14), not a schedule Hamlet has:

    - ``"as run"``: ``read_bound``'s (no team, no fork prefix).
    - ``"trailing"``: without the importance calls that end their person's calls of a tick (nothing
      of theirs after them in that tick waited for the score). The most deferring the score until
      something reads it could gain: optimistic, since the person's next retrieval and the
      reflection trigger still read it.
    - ``"none"``: without any importance call, as if retrieval waited for no score (a departure
      from the paper, whose retrieval ranks by the score: section 4.1).
    """
    rows = db.cursor()
    rows.row_factory = None
    rows.execute("SELECT tick, person, status, latency_ms, wall_time, purpose FROM llm_call WHERE tick > 0 ORDER BY id")
    calls = [(CallRow(*row[:5]), row[5] == SCORING) for row in rows]
    last_read: dict[tuple[int, str | None], int] = {}  # (tick, person) -> their last call that is not a score
    for index, (call, scoring) in enumerate(calls):
        if not scoring:
            last_read[call.tick, call.person] = index
    trailing = [
        scoring and index > last_read.get((call.tick, call.person), -1) for index, (call, scoring) in enumerate(calls)
    ]
    happened = list(_events(db))
    return {
        "as run": critical_path((call for call, _ in calls), happened),
        "trailing": critical_path((call for (call, _), end in zip(calls, trailing, strict=True) if not end), happened),
        "none": critical_path((call for call, scoring in calls if not scoring), happened),
    }


def _events(db: sqlite3.Connection) -> Iterator[EventRow]:
    """Each event of the run file as the bound reads it, in ``seq`` order."""
    events = db.cursor()
    events.row_factory = None  # plain tuples, whatever the connection's factory
    # The bound's own reading of the log (whom each event involves), so it stays here, not among the shared queries.
    events.execute(_EVENTS_SQL)
    return (EventRow(*row) for row in events)


def run_bound(reader: RunReader, scenario: Scenario) -> Bound:
    """The oracle bound of ``reader``'s run: its team as ``scenario`` says, a fork's copied prefix weighing 0."""
    fork = reader.options().get("fork") or {}
    team = [role.player for role in scenario.team.roles] if scenario.team is not None else []
    return read_bound(reader.db, team=team, since_tick=int(fork.get("snapshot_tick", 0)))


def unit_weight(attempts: list[tuple[float, float | None]]) -> tuple[int, float, int, bool]:
    """A unit's weight from its attempts' (latency, end) in seconds: (most calls in a chain, longest chain in seconds,
    that chain's calls, whether any attempts overlapped)."""
    if len(attempts) < 2 or any(end is None for _, end in attempts):
        return len(attempts), sum(latency for latency, _ in attempts), len(attempts), False
    spans = sorted(
        ((end - latency, end, latency) for latency, end in attempts if end is not None), key=lambda span: span[1]
    )
    most: list[int] = []
    longest: list[tuple[float, int]] = []
    overlapped = False
    for start, _, latency in spans:
        calls, best = 0, (0.0, 0)
        for before, (_, end, _) in enumerate(spans[: len(most)]):
            if end <= start + TOLERANCE_S:
                calls, best = max(calls, most[before]), max(best, longest[before])
            else:
                overlapped = True
        most.append(calls + 1)
        longest.append((best[0] + latency, best[1] + 1))
    seconds, calls = max(longest)
    return max(most), seconds, calls, overlapped


class _Trail:
    """The units behind a place's events, kept so that the longest path since any event is found in log time."""

    __slots__ = ("events", "stacks")

    def __init__(self) -> None:
        self.events = 0  # events at the place so far
        # per weighting (in calls, in seconds): a stack of event numbers and units, paths non-increasing upwards
        self.stacks: tuple[tuple[list[int], list[int]], tuple[list[int], list[int]]] = (([], []), ([], []))

    def add(self, unit: int, paths: tuple[Sequence[float], Sequence[float]]) -> None:
        """One more event at the place, by ``unit``."""
        self.events += 1
        for (index, units), by in zip(self.stacks, paths, strict=True):
            while units and by[units[-1]] < by[unit]:
                index.pop()
                units.pop()
            index.append(self.events)
            units.append(unit)

    def since(self, seen: int) -> tuple[int, int]:
        """The units with the longest paths (in calls, in seconds) among events after number ``seen`` (-1: none).

        On a tie, the earliest.
        """
        (index, units), (index_s, units_s) = self.stacks
        at, at_s = bisect.bisect_right(index, seen), bisect.bisect_right(index_s, seen)
        return units[at] if at < len(units) else -1, units_s[at_s] if at_s < len(units_s) else -1


class _Standing:
    """What stands in a place (who is there, doing what; the objects' states) and the unit behind each."""

    __slots__ = ("by_key", "heaps")

    def __init__(self) -> None:
        self.by_key: dict[str, int] = {}  # a person, or an object ("\x00" + name) -> the unit behind it
        self.heaps: tuple[list[tuple[float, int, str]], list[tuple[float, int, str]]] = ([], [])

    def set(self, key: str, unit: int | None, paths: tuple[Sequence[float], Sequence[float]]) -> None:
        """``key`` stands as ``unit`` left it (None: as no unit did, or it is gone)."""
        if unit is None:
            self.by_key.pop(key, None)
            return
        self.by_key[key] = unit
        for heap, by in zip(self.heaps, paths, strict=True):
            heapq.heappush(heap, (-by[unit], unit, key))

    def longest(self, which: int) -> int:
        """The unit with the longest path behind anything standing (0: in calls, 1: in seconds; -1: none)."""
        heap = self.heaps[which]
        while heap and self.by_key.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)  # replaced or gone since, for good: later units have later numbers
        return heap[0][1] if heap else -1


class _Graph:
    """The dependency graph, built tick by tick: each unit's longest paths to it (in calls and in seconds)."""

    def __init__(self, team: frozenset[str]) -> None:
        self.team = team
        # per unit, the longest paths that end with it: in calls; in seconds, with that path's calls and units
        self.most: list[int] = []
        self.longest: list[float] = []
        self.via_calls: list[int] = []
        self.via_units: list[int] = []
        self.paths: tuple[Sequence[float], Sequence[float]] = (self.most, self.longest)
        self.overlapping = 0
        self.barrier = 0.0
        self.last: dict[str, int] = {}  # person (or the team) -> their newest unit
        # person -> the units with the longest paths (in calls, in seconds) whose effects they perceived since
        self.seen: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self.position: dict[str, str] = {}
        self.mark: dict[str, int] = {}  # person -> the events of their place they have taken in
        self.trails: dict[str, _Trail] = {}
        self.standing: dict[str, _Standing] = {}
        self.before = (-1, -1)  # the units of earlier ticks with the longest paths (what a team step waits for)

    # -- the graph ----------------------------------------------------------------------------

    def tick(self, spent: dict[str, list[tuple[float, float | None]]], happened: list[EventRow]) -> None:
        """Add one tick: its settling events, then its units, then what they committed."""
        committed = []
        for event in happened:
            if event.kind in _SETTLING or (event.kind in _CHANGES and event.by == "intervention"):
                author = self.last.get(event.person) if event.kind == _ARRIVE and event.person else None
                self._apply(event, author)
            else:
                committed.append(event)
        talks: dict[str, tuple[str, ...]] = {}
        for event in committed:
            if event.kind == _TALK_END and event.person and event.other:
                talks[event.person] = talks[event.other] = (event.person, event.other)
        acting = list(spent)
        acting += [event.person for event in committed if event.person is not None and event.person not in spent]
        units: dict[str, int] = {}
        slowest = 0.0
        before = self.before
        for person in acting:
            if person in units:
                continue
            if person in talks:
                members: tuple[str, ...] = talks[person]
            elif person in self.team:
                members = (*sorted({p for p in acting if p in self.team}), _TEAM)
            else:
                members = (person,)
            attempts = [attempt for member in members for attempt in spent.get(member, ())]
            unit, seconds = self._unit(members, attempts, before if _TEAM in members else None)
            slowest = max(slowest, seconds)
            for member in members:
                units[member] = unit
        self.barrier += slowest
        for event in committed:
            self._apply(event, units.get(event.person) if event.person is not None else None)

    def _unit(
        self, members: tuple[str, ...], attempts: list[tuple[float, float | None]], world: tuple[int, int] | None
    ) -> tuple[int, float]:
        """Add a unit of ``members`` (``world``: it waits for these units too); its number and its seconds."""
        calls, seconds, seconds_calls, overlapped = unit_weight(attempts)
        self.overlapping += overlapped
        after = [-1, -1] if world is None else list(world)
        for member in members:
            self._take_in(member)
            for which, by in enumerate(self.paths):
                after[which] = self._more(after[which], self.last.get(member), by)
                after[which] = self._more(after[which], self.seen[which].pop(member, None), by)
        most, longest = after
        unit = len(self.most)
        self.most.append(calls + (self.most[most] if most >= 0 else 0))
        self.longest.append(seconds + (self.longest[longest] if longest >= 0 else 0.0))
        self.via_calls.append(seconds_calls + (self.via_calls[longest] if longest >= 0 else 0))
        self.via_units.append(1 + (self.via_units[longest] if longest >= 0 else 0))
        for member in members:
            self.last[member] = unit
        self.before = (self._more(self.before[0], unit, self.most), self._more(self.before[1], unit, self.longest))
        return unit, seconds

    @staticmethod
    def _more(best: int, other: int | None, by: Sequence[float]) -> int:
        """Of two units (-1 or None: none), the one with the longer path ``by``; the earlier one on a tie."""
        if other is None or other < 0:
            return best
        if best < 0 or by[other] > by[best] or (by[other] == by[best] and other < best):
            return other
        return best

    def _saw(self, person: str, found: tuple[int, int]) -> None:
        """``person`` perceived what these units (in calls, in seconds) committed: their next unit waits for them."""
        for which, by in enumerate(self.paths):
            if found[which] >= 0:
                self.seen[which][person] = self._more(self.seen[which].get(person, -1), found[which], by)

    def _take_in(self, person: str) -> None:
        """``person`` perceives the events of their place since they last did (before a unit, or leaving)."""
        place = self.position.get(person)
        if place is None:
            return
        trail = self.trails.get(place)
        if trail is None:
            return
        self._saw(person, trail.since(self.mark.get(person, 0)))
        self.mark[person] = trail.events

    # -- the world ----------------------------------------------------------------------------

    def _apply(self, event: EventRow, author: int | None) -> None:
        """Follow positions and what stands in each place; the event joins its place's trail."""
        kind, person, place = event.kind, event.person, event.place
        paths = self.paths
        if kind in _ENTERS and person and place:
            self._leave(person)
            self.position[person] = place
            standing = self.standing.setdefault(place, _Standing())
            self._saw(person, (standing.longest(0), standing.longest(1)))  # who is there doing what, the objects
            standing.set(person, author, paths)
        elif kind in _EXITS and person:
            self._leave(person)
        elif kind == _ACT and person and place:
            self.standing.setdefault(place, _Standing()).set(person, author, paths)
        elif kind == _TALK_END and person and place and event.other:
            standing = self.standing.setdefault(place, _Standing())
            standing.set(person, author, paths)
            standing.set(event.other, author, paths)
        elif kind == _OBJECT and place and event.other:
            self.standing.setdefault(place, _Standing()).set("\x00" + event.other, author, paths)
        if place is not None and author is not None:
            trail = self.trails.get(place)
            if trail is None:
                trail = self.trails[place] = _Trail()
            trail.add(author, paths)
        if kind in _ENTERS and person and place:  # from now on, their place's events reach them
            trail = self.trails.get(place)
            self.mark[person] = trail.events if trail is not None else 0

    def _leave(self, person: str) -> None:
        """``person`` leaves their place, having perceived what happened there."""
        self._take_in(person)
        place = self.position.pop(person, None)
        if place is not None:
            self.standing[place].set(person, None, self.paths)
            self.mark.pop(person, None)

    # -- the answer ---------------------------------------------------------------------------

    def bound(self, requests: int, wall_s: float | None) -> Bound:
        """The bound, once every tick is in."""
        end = self.before[1]
        return Bound(
            calls=requests,
            units=len(self.most),
            overlapping_units=self.overlapping,
            chain_calls=self.most[self.before[0]] if self.before[0] >= 0 else 0,
            critical_s=self.longest[end] if end >= 0 else 0.0,
            critical_calls=self.via_calls[end] if end >= 0 else 0,
            critical_units=self.via_units[end] if end >= 0 else 0,
            barrier_s=self.barrier,
            wall_s=wall_s,
        )


def _seconds(stamp: str | None) -> float | None:
    """An ISO wall-clock time as POSIX seconds (None if there is none)."""
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None

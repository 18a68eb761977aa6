"""The clock: a priority queue of timed entries, totally ordered by (time, priority, counter).

Entries are world happenings (arrivals, interventions) and wake-ups. All entries at the same
second are taken together as one tick; world happenings come first (lower priority number).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

ARRIVE, INTERVENE, CONVERSE, WAKE, REFLECT = 0, 1, 2, 3, 4
"""Entry priorities: arrivals settle first, then interventions, conversations, wake-ups, reflections."""


@dataclass(order=True, slots=True)
class Entry:
    """A queued happening: ``kind`` is ``arrive``, ``intervene``, ``converse``, ``wake``, ``reflect`` or ``step``."""

    t: int
    priority: int
    counter: int
    kind: str = field(compare=False)
    person: str | None = field(compare=False, default=None)
    payload: dict[str, Any] = field(compare=False, default_factory=dict)


class Clock:
    """The event queue with per-person wake-ups, of which only the newest counts."""

    def __init__(self, fixed_step: int | None = None) -> None:
        self.now = 0
        self.fixed_step = fixed_step
        self._queue: list[Entry] = []
        self._counter = 0
        # person -> counter of their one valid wake entry; older wake entries are stale
        self._wake: dict[str, int] = {}
        self._wake_t: dict[str, int] = {}  # person -> the second of that entry (asked often while speculating)

    def push(self, t: int, priority: int, kind: str, person: str | None = None, **payload: Any) -> Entry:
        """Queue a happening at second ``t``; never earlier than now, and on the grid in fixed-step mode."""
        if self.fixed_step:
            # Smallville-style stepping: nothing happens between two steps.
            t = -(-t // self.fixed_step) * self.fixed_step
        self._counter += 1
        entry = Entry(max(t, self.now), priority, self._counter, kind, person, payload)
        heapq.heappush(self._queue, entry)
        return entry

    def wake(self, person: str, t: int, reason: str = "due") -> None:
        """Wake ``person`` at second ``t``, replacing any wake-up queued before."""
        entry = self.push(t, WAKE, "wake", person, reason=reason)
        self._wake[person] = entry.counter
        self._wake_t[person] = entry.t

    def wake_at(self, person: str) -> int | None:
        """When ``person`` is next woken, if at all."""
        return self._wake_t.get(person)

    def forget(self, person: str) -> None:
        """Cancel ``person``'s wake-up (they left the world)."""
        self._wake.pop(person, None)
        self._wake_t.pop(person, None)

    def _live(self, entry: Entry) -> bool:
        return entry.kind != "wake" or self._wake.get(entry.person or "") == entry.counter

    def next_time(self) -> int | None:
        """The time of the next live entry, dropping stale wake-ups on the way."""
        while self._queue and not self._live(self._queue[0]):
            heapq.heappop(self._queue)
        return self._queue[0].t if self._queue else None

    def pop_tick(self, until: int) -> tuple[int, list[Entry]] | None:
        """Take every live entry at the next time, if that time is before ``until``."""
        t = self.next_time()
        if t is None or t >= until:
            return None
        entries: list[Entry] = []
        while self._queue and self._queue[0].t == t:
            entry = heapq.heappop(self._queue)
            if self._live(entry):
                if entry.kind == "wake":
                    del self._wake[entry.person or ""]
                    del self._wake_t[entry.person or ""]
                entries.append(entry)
        self.now = t
        return t, entries

    def pending(self) -> list[Entry]:
        """Every live entry still queued, in no particular order (stale wake-ups left out)."""
        return [entry for entry in self._queue if self._live(entry)]

    def is_current(self, entry: Entry) -> bool:
        """Whether ``entry`` still counts: not a wake-up replaced or cancelled since it was queued."""
        return self._live(entry)

    # -- snapshots -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The queue as JSON-ready data, stale wake-ups left out."""
        live = sorted(entry for entry in self._queue if self._live(entry))
        return {
            "now": self.now,
            "counter": self._counter,
            "queue": [[e.t, e.priority, e.counter, e.kind, e.person, e.payload] for e in live],
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load a queue saved by ``state``."""
        self.now = state["now"]
        self._counter = state["counter"]
        self._queue = [Entry(*row) for row in state["queue"]]
        heapq.heapify(self._queue)
        self._wake = {e.person: e.counter for e in self._queue if e.kind == "wake" and e.person}
        self._wake_t = {e.person: e.t for e in self._queue if e.kind == "wake" and e.person}

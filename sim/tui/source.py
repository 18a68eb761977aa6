"""The viewer's read-only window on one run file: the run as it stands, and its rows by position.

A ``RunSource`` holds one read-only SQLite connection (a ``RunReader``'s) and asks
``sim.runfile.positions`` and the reader what the viewer shows: each a short read in its own
implicit transaction, so a live run's writer (WAL) is never held up, and each sees the newest
committed rows. What it keeps itself is the run row, re-read without the world's text, and the
world parsed once.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sim.core.simtime import RunTime
from sim.errors import UserError
from sim.runfile import control, positions
from sim.runfile.queries import run_row
from sim.runfile.reader import RunReader, refuse_writes
from sim.worldfile.scenario import Scenario, parse_scenario


@dataclass(slots=True, frozen=True)
class Filters:
    """What the feed shows: one person (or anyone), a sector or area (or anywhere), some kinds (or all)."""

    person: str | None = None
    place: str | None = None
    kinds: tuple[str, ...] = ()


class RunSource:
    """Read-only queries on one run file, for the viewer and its timeline."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.reader = RunReader(self.path)
        self.db = self.reader.db
        refuse_writes(self.db)
        self._run: dict[str, Any] | None = None
        self.scenario: Scenario | None = None

    def close(self) -> None:
        """Close the connection."""
        self.reader.close()

    # -- the run -------------------------------------------------------------------------

    def run(self) -> dict[str, Any] | None:
        """The run row, re-read each call (status and ``sim_now`` change while a run goes on); None before it exists.

        The world's text, which does not change, is read once: a live run is polled many times a
        second, and a big world's text is a megabyte.
        """
        row = run_row(self.db, [c for c in self._run or () if c != "scenario_yaml"])
        if row is None:
            return None
        self._run = {**(self._run or {}), **row}
        if self.scenario is None:
            self.scenario = parse_scenario(self._run["scenario_yaml"], f"{self.path}:run.scenario_yaml")
        return self._run

    def start(self) -> datetime:
        """The simulated datetime of second 0."""
        assert self.scenario is not None, "read run() first"
        return self.scenario.start

    def time(self) -> RunTime:
        """The run's simulated time; the viewer drops a moment's fraction of a second (``RunTime.second``)."""
        return RunTime(self.start())

    def options(self) -> dict[str, Any]:
        """The run's recorded options."""
        return dict(json.loads(self._run["options"])) if self._run else {}

    def paused(self) -> bool:
        """Whether the newest pause request to this run has not been answered by a resume or stop."""
        return control.paused(self.db)

    # -- events --------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The newest event's ``seq`` (0 when there is none)."""
        return positions.last_seq(self.db)

    def event(self, seq: int) -> dict[str, Any] | None:
        """One event, ``data`` decoded."""
        return positions.event(self.db, seq)

    def events(self, after: int, upto: int) -> list[dict[str, Any]]:
        """Events with ``after < seq <= upto`` in order."""
        return positions.events(self.db, after, upto)

    def seq_at(self, t: int) -> int:
        """The last event at or before second ``t`` (0 when none)."""
        return positions.seq_at(self.db, t)

    def last_moves(self, people: Collection[str], upto: int) -> dict[str, dict[str, Any]]:
        """Each of ``people``'s last ``move`` event at or before ``seq`` ``upto``, if any."""
        return positions.last_moves(self.db, people, upto)

    def tick_end(self, tick: int, forward: bool) -> tuple[int, int] | None:
        """(seq, t) of the last event of the next tick after ``tick`` (``forward``) or of the last tick before it."""
        return positions.tick_end(self.db, tick, forward)

    def says(self, after: int) -> list[tuple[int, int, str, str]]:
        """(seq, t, person, text) of every ``say`` event after ``after``, in order."""
        return positions.says(self.db, after)

    def feed(self, upto: int, filters: Filters, limit: int = 300) -> list[dict[str, Any]]:
        """The last ``limit`` events up to ``seq`` ``upto`` that pass ``filters``, oldest first."""
        return positions.feed(self.db, upto, filters.person, filters.place, filters.kinds, limit)

    # -- snapshots, memories, LLM calls --------------------------------------------------

    def snapshot_marks(self, after_id: int = 0) -> list[tuple[int, int, int, int]]:
        """(id, tick, t, seq) of the snapshots after ``after_id``, without their state."""
        return positions.snapshot_marks(self.db, after_id)

    def snapshot_state(self, snapshot_id: int) -> dict[str, Any]:
        """The state a snapshot holds."""
        state = positions.snapshot_state(self.db, snapshot_id)
        if state is None:
            raise UserError(f"{self.path}: snapshot {snapshot_id} is gone")
        return state

    def memories(self, person: str, until: int) -> list[dict[str, Any]]:
        """The memory rows of ``person`` formed at or before second ``until``, in stream order."""
        return self.reader.memories(person, until=until)

    def work(self, person: str, upto: int) -> list[dict[str, Any]]:
        """The phases ``person`` took part in and the files they wrote, as events up to ``seq`` ``upto``."""
        return positions.work(self.db, person, upto)

    def artifact(self, path: str, version: int) -> str | None:
        """The text of one version of a file the team wrote."""
        return self.reader.artifact(path, version)

    def interviews(self, person: str) -> list[dict[str, Any]]:
        """The interviews of ``person`` recorded in the file, oldest first."""
        return self.reader.interviews(person)

    def call_costs(self, after_id: int) -> list[tuple[int, int, float]]:
        """(id, tick, cost) of the LLM calls after ``after_id``."""
        return positions.call_costs(self.db, after_id)

    def calls(self, upto_tick: int, upto_t: int, limit: int = 500) -> list[dict[str, Any]]:
        """The last ``limit`` LLM calls made by tick ``upto_tick`` (interviews: asked as of second ``upto_t``), oldest first."""
        return positions.calls(self.db, upto_tick, upto_t, limit)

    def call(self, call_id: int) -> dict[str, Any] | None:
        """One LLM call with its request and reply."""
        return positions.call(self.db, call_id)

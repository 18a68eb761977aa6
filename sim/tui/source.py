"""The viewer's read-only window on one run file: the queries it needs, never blocking the writer.

A ``RunSource`` holds one read-only SQLite connection. Every query is a short read in its own
implicit transaction, so a live run's writer (WAL mode) is never held up, and each query sees the
newest committed rows. Rows are found by ``seq`` (events), ``id`` (LLM calls) or indexed columns,
so the cost of a look-up does not grow with the length of the run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from sim.core.simtime import RunTime
from sim.errors import UserError
from sim.runfile import queries as runfile
from sim.runfile.reader import RunReader
from sim.worldfile.scenario import Scenario, parse_scenario

CALL_COLUMNS = (
    "id, tick, t, person, purpose, model, attempt, status, cache_hit, fallback, prompt_tokens,"
    " completion_tokens, cost_usd, latency_ms"
)


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
        self.db.execute("PRAGMA query_only = ON")
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
        if self._run is None:
            row = self.db.execute("SELECT * FROM run WHERE id = 1").fetchone()
        else:
            columns = ", ".join(c for c in self._run if c != "scenario_yaml")
            row = self.db.execute(f"SELECT {columns} FROM run WHERE id = 1").fetchone()
        if row is None:
            return None
        self._run = {**(self._run or {}), **dict(row)}
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
        try:
            row = self.db.execute(
                "SELECT kind FROM control WHERE kind IN ('pause', 'resume', 'stop') ORDER BY id DESC LIMIT 1"
            ).fetchone()
        except sqlite3.OperationalError:  # a file from before live control
            return False
        return bool(row) and row[0] == "pause"

    # -- events --------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The newest event's ``seq`` (0 when there is none)."""
        return int(self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM event").fetchone()[0])

    def event(self, seq: int) -> dict[str, Any] | None:
        """One event, ``data`` decoded."""
        row = self.db.execute("SELECT * FROM event WHERE seq = ?", (seq,)).fetchone()
        return _event(row) if row else None

    def events(self, after: int, upto: int) -> list[dict[str, Any]]:
        """Events with ``after < seq <= upto`` in order."""
        cursor = self.db.cursor()
        cursor.row_factory = None  # plain tuples: a seek or a live run's new ticks read thousands
        rows = runfile.events_between(cursor, after, upto)  # tuples: a seek or a live run's new ticks read thousands
        return [
            {
                "seq": seq,
                "tick": tick,
                "t": t,
                "time": time,
                "kind": kind,
                "person": person,
                "place": place,
                "data": _loads(data or "{}"),
            }
            for seq, tick, t, time, kind, person, place, data in rows
        ]

    def seq_at(self, t: int) -> int:
        """The last event at or before second ``t`` (0 when none)."""
        row = self.db.execute("SELECT seq FROM event WHERE t <= ? ORDER BY t DESC, seq DESC LIMIT 1", (t,)).fetchone()
        return int(row[0]) if row else 0

    def last_moves(self, people: Collection[str], upto: int) -> dict[str, dict[str, Any]]:
        """Each of ``people``'s last ``move`` event at or before ``seq`` ``upto``, if any."""
        wanted, found = set(people), {}
        # newest first, in one read that stops at the last one needed: walks under way began a few
        # events back, not at the run's start
        rows = self.db.execute(
            f"SELECT {runfile.EVENT_COLUMNS} FROM event WHERE seq <= ? AND kind = 'move' ORDER BY seq DESC", (upto,)
        )
        for row in rows:
            if row["person"] in wanted and row["person"] not in found:
                found[row["person"]] = _event(row)
                if len(found) == len(wanted):
                    break
        return found

    def tick_end(self, tick: int, forward: bool) -> tuple[int, int] | None:
        """(seq, t) of the last event of the next tick after ``tick`` (``forward``) or of the last tick before it."""
        if forward:
            sql = (
                "SELECT seq, t FROM event WHERE tick = (SELECT MIN(tick) FROM event WHERE tick > ?)"
                " ORDER BY seq DESC LIMIT 1"
            )
        else:
            sql = "SELECT seq, t FROM event WHERE tick < ? ORDER BY tick DESC, seq DESC LIMIT 1"
        row = self.db.execute(sql, (tick,)).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def says(self, after: int) -> list[tuple[int, int, str, str]]:
        """(seq, t, person, text) of every ``say`` event after ``after``, in order."""
        rows = self.db.execute(
            "SELECT seq, t, person, data FROM event WHERE seq > ? AND kind = 'say' ORDER BY seq", (after,)
        )
        return [(int(seq), int(t), str(person), str(_loads(data).get("text", ""))) for seq, t, person, data in rows]

    def feed(self, upto: int, filters: Filters, limit: int = 300) -> list[dict[str, Any]]:
        """The last ``limit`` events up to ``seq`` ``upto`` that pass ``filters``, oldest first."""
        where: list[str] = ["seq <= ?"]
        args: list[Any] = [upto]
        if filters.person:
            where.append("(person = ? OR json_extract(data, '$.with') = ? OR json_extract(data, '$.to') = ?)")
            args += [filters.person] * 3
        if filters.place:
            where.append("(place = ? OR place LIKE ? ESCAPE '\\')")
            args += [filters.place, _escape(filters.place) + ":%"]
        if filters.kinds:
            where.append(f"kind IN ({','.join('?' * len(filters.kinds))})")
            args += list(filters.kinds)
        sql = f"SELECT * FROM event WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
        rows = self.db.execute(sql, [*args, limit]).fetchall()
        return [_event(row) for row in reversed(rows)]

    # -- snapshots, memories, LLM calls --------------------------------------------------

    def snapshot_marks(self, after_id: int = 0) -> list[tuple[int, int, int, int]]:
        """(id, tick, t, seq) of the snapshots after ``after_id``, without their state."""
        rows = self.db.execute("SELECT id, tick, t, seq FROM snapshot WHERE id > ? ORDER BY id", (after_id,))
        return [tuple(int(v) for v in row) for row in rows]  # type: ignore[misc]

    def snapshot_state(self, snapshot_id: int) -> dict[str, Any]:
        """The state a snapshot holds."""
        row = self.db.execute("SELECT state FROM snapshot WHERE id = ?", (snapshot_id,)).fetchone()
        if row is None:
            raise UserError(f"{self.path}: snapshot {snapshot_id} is gone")
        return dict(_loads(row[0]))

    def memories(self, person: str, until: int) -> list[dict[str, Any]]:
        """The memory rows of ``person`` formed at or before second ``until``, in stream order."""
        return self.reader.memories(person, until=until)

    def work(self, person: str, upto: int) -> list[dict[str, Any]]:
        """The phases ``person`` took part in and the files they wrote, as events up to ``seq`` ``upto``."""
        rows = self.db.execute(
            f"SELECT {runfile.EVENT_COLUMNS} FROM event WHERE seq <= ? AND kind IN ('phase', 'phase_end', 'artifact')"
            " AND (person = ? OR json_extract(data, '$.with') = ?) ORDER BY seq",
            (upto, person, person),
        ).fetchall()
        return [_event(row) for row in rows]

    def artifact(self, path: str, version: int) -> str | None:
        """The text of one version of a file the team wrote."""
        row = self.db.execute("SELECT content FROM artifact WHERE path = ? AND version = ?", (path, version)).fetchone()
        return str(row[0]) if row else None

    def interviews(self, person: str) -> list[dict[str, Any]]:
        """The interviews of ``person`` recorded in the file, oldest first."""
        try:
            rows = self.db.execute("SELECT * FROM interview WHERE person = ? ORDER BY id", (person,))
            return [dict(row) for row in rows]
        except sqlite3.OperationalError:  # a file from before interviews
            return []

    def call_costs(self, after_id: int) -> list[tuple[int, int, float]]:
        """(id, tick, cost) of the LLM calls after ``after_id``."""
        rows = self.db.execute("SELECT id, tick, cost_usd FROM llm_call WHERE id > ? ORDER BY id", (after_id,))
        return [(int(i), int(tick), float(cost or 0.0)) for i, tick, cost in rows]

    def calls(self, upto_tick: int, upto_t: int, limit: int = 500) -> list[dict[str, Any]]:
        """The last ``limit`` LLM calls made by tick ``upto_tick`` (interviews: asked as of second ``upto_t``), oldest first."""
        # "+tick": walk the calls newest first by id rather than sort every call made so far. Interviews and probes
        # (tick -1) are made after the fact, as of a time: they belong to the moment they were asked as of.
        rows = self.db.execute(
            f"SELECT {CALL_COLUMNS} FROM llm_call WHERE +tick <= ? AND (tick >= 0 OR t <= ?) ORDER BY id DESC LIMIT ?",
            (upto_tick, upto_t, limit),
        ).fetchall()
        return [dict(row) for row in reversed(rows)]

    def call(self, call_id: int) -> dict[str, Any] | None:
        """One LLM call with its request and reply."""
        row = self.db.execute("SELECT * FROM llm_call WHERE id = ?", (call_id,)).fetchone()
        return dict(row) if row else None


def _event(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    item["data"] = _loads(item["data"] or "{}")
    return item


def _loads(text: str) -> Any:
    """JSON from the run file: orjson, several times faster on snapshots and events; ``json`` for what it refuses.

    ``sim.runfile.log.dumps`` may write what orjson does not read (NaN, integers beyond 64 bits).
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

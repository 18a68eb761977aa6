"""The run file read by position, as a player of a run reads it: around an event's ``seq``, a tick, a row's ``id``.

What is at a position (an event, the end of a tick, the snapshots and LLM calls made by then) and
what is new after one (events, lines said, calls' costs, snapshots), read by the viewer as it
seeks and as it follows a live run. Each function is one short read in its own implicit
transaction, so a live run's writer (WAL) is never held up and each sees the newest committed
rows; rows are found by ``seq``, ``id`` or indexed columns, so a look-up's cost does not grow with
the run's length. ``db`` is a read-only connection (``sim.runfile.reader.RunReader``'s).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from typing import Any

import orjson

from sim.core.events import Artifact, Move, Phase, PhaseEnd, Say
from sim.runfile.queries import EVENT_COLUMNS, events_between, sql_kind, sql_kinds

CALL_COLUMNS = (
    "id, tick, t, person, purpose, model, attempt, status, cache_hit, fallback, prompt_tokens,"
    " completion_tokens, cost_usd, latency_ms"
)
"""The columns of an LLM call row ``calls`` returns: all but its request and reply."""

_LAST_MOVES = f"SELECT {EVENT_COLUMNS} FROM event WHERE seq <= ? AND kind = {sql_kind(Move)} ORDER BY seq DESC"
_SAYS = f"SELECT seq, t, person, data FROM event WHERE seq > ? AND kind = {sql_kind(Say)} ORDER BY seq"
_WORK = (
    f"SELECT {EVENT_COLUMNS} FROM event WHERE seq <= ? AND kind IN {sql_kinds(Phase, PhaseEnd, Artifact)}"
    " AND (person = ? OR json_extract(data, '$.with') = ?) ORDER BY seq"
)


# -- events ------------------------------------------------------------------------------


def last_seq(db: sqlite3.Connection) -> int:
    """The newest event's ``seq`` (0 when there is none)."""
    return int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM event").fetchone()[0])


def event(db: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    """One event, ``data`` decoded; None if there is none at ``seq``."""
    row = _named(db).execute("SELECT * FROM event WHERE seq = ?", (seq,)).fetchone()
    return _event(row) if row else None


def events(db: sqlite3.Connection, after: int, upto: int) -> list[dict[str, Any]]:
    """Events with ``after < seq <= upto`` in order, ``data`` decoded."""
    cursor = db.cursor()
    cursor.row_factory = None  # plain tuples: a seek or a live run's new ticks read thousands
    return [
        {
            "seq": seq,
            "tick": tick,
            "t": t,
            "time": time,
            "kind": kind,
            "person": person,
            "place": place,
            "data": loads(data or "{}"),
        }
        for seq, tick, t, time, kind, person, place, data in events_between(cursor, after, upto)
    ]


def seq_at(db: sqlite3.Connection, t: int) -> int:
    """The last event at or before second ``t`` (0 when none)."""
    row = db.execute("SELECT seq FROM event WHERE t <= ? ORDER BY t DESC, seq DESC LIMIT 1", (t,)).fetchone()
    return int(row[0]) if row else 0


def last_moves(db: sqlite3.Connection, people: Collection[str], upto: int) -> dict[str, dict[str, Any]]:
    """Each of ``people``'s last ``move`` event at or before ``seq`` ``upto``, if any."""
    wanted: set[str] = set(people)
    found: dict[str, dict[str, Any]] = {}
    # newest first, in one read that stops at the last one needed: walks under way began a few
    # events back, not at the run's start
    for row in _named(db).execute(_LAST_MOVES, (upto,)):
        if row["person"] in wanted and row["person"] not in found:
            found[row["person"]] = _event(row)
            if len(found) == len(wanted):
                break
    return found


def tick_end(db: sqlite3.Connection, tick: int, forward: bool) -> tuple[int, int] | None:
    """(seq, t) of the last event of the next tick after ``tick`` (``forward``) or of the last tick before it."""
    if forward:
        sql = (
            "SELECT seq, t FROM event WHERE tick = (SELECT MIN(tick) FROM event WHERE tick > ?)"
            " ORDER BY seq DESC LIMIT 1"
        )
    else:
        sql = "SELECT seq, t FROM event WHERE tick < ? ORDER BY tick DESC, seq DESC LIMIT 1"
    row = db.execute(sql, (tick,)).fetchone()
    return (int(row[0]), int(row[1])) if row else None


def says(db: sqlite3.Connection, after: int) -> list[tuple[int, int, str, str]]:
    """(seq, t, person, text) of every ``say`` event after ``after``, in order."""
    rows = db.execute(_SAYS, (after,))
    return [(int(seq), int(t), str(person), str(loads(data).get("text", ""))) for seq, t, person, data in rows]


def feed(
    db: sqlite3.Connection, upto: int, person: str | None, place: str | None, kinds: Collection[str], limit: int
) -> list[dict[str, Any]]:
    """The last ``limit`` events up to ``seq`` ``upto`` of ``person`` (or with or to them), at ``place`` (a sector
    or an area) and of ``kinds``, oldest first; None and empty ``kinds`` leave that out."""
    where: list[str] = ["seq <= ?"]
    args: list[Any] = [upto]
    if person:
        where.append("(person = ? OR json_extract(data, '$.with') = ? OR json_extract(data, '$.to') = ?)")
        args += [person] * 3
    if place:
        where.append("(place = ? OR place LIKE ? ESCAPE '\\')")
        args += [place, _escape(place) + ":%"]
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        args += list(kinds)
    sql = f"SELECT * FROM event WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
    rows = _named(db).execute(sql, [*args, limit]).fetchall()
    return [_event(row) for row in reversed(rows)]


def work(db: sqlite3.Connection, person: str, upto: int) -> list[dict[str, Any]]:
    """The phases ``person`` took part in and the files they wrote, as events up to ``seq`` ``upto``."""
    return [_event(row) for row in _named(db).execute(_WORK, (upto, person, person)).fetchall()]


# -- snapshots and LLM calls -----------------------------------------------------------------


def snapshot_marks(db: sqlite3.Connection, after_id: int) -> list[tuple[int, int, int, int]]:
    """(id, tick, t, seq) of the snapshots after ``after_id``, without their state."""
    rows = db.execute("SELECT id, tick, t, seq FROM snapshot WHERE id > ? ORDER BY id", (after_id,))
    return [tuple(int(v) for v in row) for row in rows]  # type: ignore[misc]


def snapshot_state(db: sqlite3.Connection, snapshot_id: int) -> dict[str, Any] | None:
    """The state a snapshot holds; None if there is no such snapshot."""
    row = db.execute("SELECT state FROM snapshot WHERE id = ?", (snapshot_id,)).fetchone()
    return None if row is None else dict(loads(row[0]))


def call_costs(db: sqlite3.Connection, after_id: int) -> list[tuple[int, int, float]]:
    """(id, tick, cost) of the LLM calls after ``after_id``."""
    rows = db.execute("SELECT id, tick, cost_usd FROM llm_call WHERE id > ? ORDER BY id", (after_id,))
    return [(int(i), int(tick), float(cost or 0.0)) for i, tick, cost in rows]


def calls(db: sqlite3.Connection, upto_tick: int, upto_t: int, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` LLM calls made by tick ``upto_tick`` (interviews: asked as of second ``upto_t``), oldest
    first, without their request and reply (``CALL_COLUMNS``)."""
    # "+tick": walk the calls newest first by id rather than sort every call made so far. Interviews and probes
    # (tick -1) are made after the fact, as of a time: they belong to the moment they were asked as of.
    rows = _named(db).execute(
        f"SELECT {CALL_COLUMNS} FROM llm_call WHERE +tick <= ? AND (tick >= 0 OR t <= ?) ORDER BY id DESC LIMIT ?",
        (upto_tick, upto_t, limit),
    )
    return [dict(row) for row in reversed(rows.fetchall())]


def call(db: sqlite3.Connection, call_id: int) -> dict[str, Any] | None:
    """One LLM call with its request and reply."""
    row = _named(db).execute("SELECT * FROM llm_call WHERE id = ?", (call_id,)).fetchone()
    return dict(row) if row else None


# -- rows ----------------------------------------------------------------------------------


def loads(text: str) -> Any:
    """JSON from the run file: orjson, several times faster on snapshots and events; ``json`` for what it refuses.

    ``sim.runfile.log.dumps`` may write what orjson does not read (NaN, integers beyond 64 bits).
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _named(db: sqlite3.Connection) -> sqlite3.Cursor:
    """A cursor whose rows are ``sqlite3.Row`` (by name), whatever the connection's own factory."""
    cursor = db.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor


def _event(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    item["data"] = loads(item["data"] or "{}")
    return item


def _escape(text: str) -> str:
    """``text`` as a literal in a LIKE pattern (``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

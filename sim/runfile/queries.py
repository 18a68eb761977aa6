"""The run file's shared queries: a new file and its run row, a resume's rewind, a fork's prefix, events by seq.

``sim.runfile.tables`` declares the tables, ``sim.runfile.log`` appends a running run's batches and
``sim.runfile.reader.RunReader`` answers a command's questions; this module holds the SQL that several
modules wrote out before (run, resume, fork, interview, probes, the bus feed and relay, the viewer, the
oracle bound), and the rule by which any query names an event kind: through its class (``sql_kind``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from sim.core.events import Event

# The writing functions import SQLAlchemy (through sim.runfile.log) when called: the relay's feed and the
# viewer read events through this module without loading it.

EVENT_COLUMNS = "seq, tick, t, time, kind, person, place, data"
"""An event row's columns, in the order ``events_between`` returns them."""

_RUN_SQL = (
    "INSERT INTO run (id, world, world_file, scenario_yaml, seed, options, status, message,"
    " sim_start, sim_end, sim_now, created_at, updated_at) VALUES (1,?,?,?,?,?,?,?,?,?,?,?,?)"
)


@dataclass(slots=True)
class RunRow:
    """The ``run`` row a new run file starts with (status ``running``); times are ISO simulated datetimes."""

    world: str
    world_file: str
    scenario_yaml: str
    seed: int
    options: dict[str, Any]
    sim_start: str
    sim_end: str
    sim_now: str

    def values(self) -> tuple[Any, ...]:
        """The row's values in the order of the INSERT, with the options as the file's JSON."""
        from sim.runfile.log import dumps, wall_now

        return (
            self.world,
            self.world_file,
            self.scenario_yaml,
            self.seed,
            dumps(self.options),
            "running",
            "",
            self.sim_start,
            self.sim_end,
            self.sim_now,
            wall_now(),
            wall_now(),
        )


def create(path: Path, row: RunRow) -> Engine:
    """Create the run file at ``path``, claim it for this process and write ``row``; no stub is left if that fails."""
    from sim.runfile.log import create_run_file
    from sim.runfile.writer import claim

    values = row.values()  # made before the file: a value it cannot hold fails here, leaving nothing behind
    engine = create_run_file(path)
    try:
        claim(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(_RUN_SQL, values)
    except BaseException:
        engine.dispose()
        for stub in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            stub.unlink(missing_ok=True)
        raise
    return engine


def reopen(path: Path, after_seq: int, after_tick: int, sim_end: str) -> Engine:
    """Claim a run file to resume it: drop what came after event ``after_seq`` and tick ``after_tick``, mark it running."""
    from sim.runfile.log import open_engine
    from sim.runfile.writer import claim

    engine = open_engine(path)
    claim(engine)
    with engine.begin() as conn:
        upgrade(conn)
        # Events after the snapshot are redone; their LLM replies stay and answer from the cache.
        conn.exec_driver_sql("DELETE FROM event WHERE seq > ?", (after_seq,))
        for table in ("memory", "artifact", "llm_call"):  # redone with the events
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE tick > ?", (after_tick,))
        conn.exec_driver_sql("UPDATE run SET status='running', message='', sim_end=? WHERE id=1", (sim_end,))
    return engine


def upgrade(conn: Any) -> None:
    """Give an older file that is written to again the columns this version writes (``LLM_CALL_ADDED``).

    Readers take an older file as it is; a file's ``schema_version`` is raised only here, with its columns.
    """
    from sim.runfile.tables import LLM_CALL_ADDED, SCHEMA_VERSION

    have = {row[1] for row in conn.exec_driver_sql("PRAGMA table_info(llm_call)")}
    for column, declared in LLM_CALL_ADDED.items():
        if column not in have:
            conn.exec_driver_sql(f"ALTER TABLE llm_call ADD COLUMN {column} {declared}")
    conn.exec_driver_sql(
        "UPDATE meta SET value = ? WHERE key = 'schema_version' AND CAST(value AS INTEGER) < ?",
        (str(SCHEMA_VERSION), SCHEMA_VERSION),
    )


def set_status(path: Path, status: str, message: str) -> None:
    """Write a run's status on a connection of its own (when its log can no longer write); raises if this fails too."""
    from sim.runfile.log import wall_now

    db = sqlite3.connect(path, timeout=1)
    try:
        with db:
            db.execute(
                "UPDATE run SET status = ?, message = ?, updated_at = ? WHERE id = 1", (status, message, wall_now())
            )
    finally:
        db.close()


def run_row(db: sqlite3.Connection | sqlite3.Cursor, columns: Iterable[str] = ()) -> dict[str, Any] | None:
    """The ``run`` row's ``columns`` (none given: all) by name, whatever ``db``'s row factory; None before it exists."""
    cursor = db.execute(f"SELECT {', '.join(columns) or '*'} FROM run WHERE id = 1")
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


def call_times(db: sqlite3.Connection) -> sqlite3.Cursor:
    """(tick, person, status, latency_ms, wall_time) of each LLM call of the run's ticks (after tick 0), in the
    order made: plain tuples, read as they are iterated."""
    cursor = db.cursor()
    cursor.row_factory = None  # whatever the connection's factory: a big run has a million calls
    return cursor.execute("SELECT tick, person, status, latency_ms, wall_time FROM llm_call WHERE tick > 0 ORDER BY id")


def sql_kind(event: type[Event]) -> str:
    """The kind ``event`` declares as an SQL literal (``'talk'``): a query names a kind through its class."""
    return f"'{_checked_kind(event)}'"


def sql_kinds(*events: type[Event]) -> str:
    """The kinds ``events`` declare as an SQL list for ``IN`` (``('say', 'talk_end')``)."""
    return "(" + ", ".join(sql_kind(event) for event in events) + ")"


def _checked_kind(event: type[Event]) -> str:
    # a kind is a lower-case word by the glossary's rule: written into SQL as it is, it needs no escaping
    if not event.KIND or not event.KIND.replace("_", "").isalpha() or not event.KIND.islower():
        raise ValueError(f"{event.__name__}: kind {event.KIND!r} is not a lower-case word")
    return event.KIND


def events_between(
    db: sqlite3.Connection | sqlite3.Cursor, after: int, upto: int, limit: int = -1
) -> list[tuple[Any, ...]]:
    """Event rows with ``after < seq <= upto`` in order, as tuples of ``EVENT_COLUMNS`` (``limit`` -1: all)."""
    return db.execute(
        f"SELECT {EVENT_COLUMNS} FROM event WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?", (after, upto, limit)
    ).fetchall()


def add_interviews(
    path: Path, exchanges: list[tuple[str, int, str, str, str, str]], calls: list[dict[str, Any]]
) -> None:
    """Add interview rows (person, second, time, question, answer, model) and their LLM call rows, beside any live writer."""
    from sqlmodel import SQLModel

    from sim.runfile.log import Batch, RunLog, open_engine, wall_now

    engine = open_engine(path)
    SQLModel.metadata.create_all(engine)  # files from before interviews existed gain the table
    with engine.begin() as conn:
        upgrade(conn)
        conn.exec_driver_sql(
            "INSERT INTO interview (person, t, time, question, answer, model, wall_time) VALUES (?,?,?,?,?,?,?)",
            [(*exchange, wall_now()) for exchange in exchanges],
        )
    log = RunLog(engine)
    log.submit(Batch(llm_calls=calls))
    log.close()


def add_probes(path: Path, probes: list[tuple[str, int, str, str, str, str, bool | None, str, bool]]) -> None:
    """Add probe rows (person, second, time, kind, subject, question, heard, what, keyword), beside any live writer."""
    from sqlmodel import SQLModel

    from sim.runfile.log import open_engine, wall_now

    engine = open_engine(path)
    SQLModel.metadata.create_all(engine)  # files from before probes existed gain the table
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO probe (person, t, time, kind, subject, question, heard, what, keyword, wall_time)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(*probe, wall_now()) for probe in probes],
        )
    engine.dispose()


def snapshot_before(db: sqlite3.Connection, t: int) -> dict[str, Any] | None:
    """The newest snapshot of a second before ``t``, or the one written before the first tick (tick 0); None if none."""
    row = db.execute(
        "SELECT id, tick, t, seq, state FROM snapshot WHERE t < ? OR tick = 0 ORDER BY id DESC LIMIT 1", (t,)
    ).fetchone()
    if row is None:
        return None
    return {"id": row[0], "tick": row[1], "t": row[2], "seq": row[3], "state": json.loads(row[4])}


def cost_until(db: sqlite3.Connection, tick: int) -> float:
    """What the LLM calls of ticks 0 to ``tick`` cost, in dollars."""
    return float(
        db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM llm_call WHERE tick >= 0 AND tick <= ?", (tick,)).fetchone()[
            0
        ]
    )


def count_calls(db: sqlite3.Connection, *, after_id: int, statuses: tuple[str, ...]) -> int:
    """How many LLM call rows after row ``after_id`` have one of ``statuses``."""
    marks = ",".join("?" * len(statuses))
    return int(
        db.execute(
            f"SELECT COUNT(*) FROM llm_call WHERE id > ? AND status IN ({marks})", (after_id, *statuses)
        ).fetchone()[0]
    )


def copy_prefix(parent: Path, branch: Path, snap: dict[str, Any], before_t: int) -> int:
    """Copy a fork's parent's rows up to snapshot ``snap`` into ``branch``; returns the LLM call rows copied.

    Live interventions are copied when applied by the snapshot's tick or before second ``before_t``.
    """
    from sim.runfile.reader import writable

    db = sqlite3.connect(f"file:{branch}", uri=True)
    # a parent on a read-only mount is read as it stands (see sim.runfile.reader.connect_read_only)
    mode = "mode=ro" if writable(parent) else "immutable=1"
    db.execute("ATTACH DATABASE ? AS parent", (f"file:{quote(str(parent.resolve()))}?{mode}",))
    try:
        with db:
            db.execute("INSERT INTO event SELECT * FROM parent.event WHERE seq <= ? ORDER BY seq", (snap["seq"],))
            db.execute("INSERT INTO memory SELECT * FROM parent.memory WHERE tick <= ?", (snap["tick"],))
            # the columns both files have: a parent from before schema 6 leaves the newer ones at their defaults
            parents = {r[1] for r in db.execute("PRAGMA parent.table_info(llm_call)")}
            columns = ", ".join(
                r[1] for r in db.execute("PRAGMA main.table_info(llm_call)") if r[1] != "id" and r[1] in parents
            )
            db.execute(
                f"INSERT INTO llm_call ({columns}) SELECT {columns} FROM parent.llm_call"
                " WHERE tick >= 0 AND tick <= ? ORDER BY id",
                (snap["tick"],),
            )
            db.execute(
                "INSERT INTO snapshot (tick, t, seq, state) SELECT tick, t, seq, state FROM parent.snapshot"
                " WHERE id < ? ORDER BY id",
                (snap["id"],),
            )
            with contextlib.suppress(sqlite3.OperationalError):  # a parent from before live control
                db.execute(
                    "INSERT INTO control (issued_at, source, kind, payload, status, tick, t)"
                    " SELECT issued_at, source, kind, payload, status, tick, t FROM parent.control"
                    " WHERE kind = 'intervene' AND status = 'applied' AND (tick <= ? OR t < ?) ORDER BY id",
                    (snap["tick"], before_t),
                )
        return int(db.execute("SELECT COUNT(*) FROM llm_call").fetchone()[0])
    finally:
        db.close()

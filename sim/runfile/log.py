"""The run log writer: one thread appends batches to the run file, one transaction per batch.

The engine hands over each tick's events, LLM calls and (sometimes) a snapshot; the writer
thread commits them in order, so the file always holds a consistent prefix of the run.
"""

from __future__ import annotations

import json
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import SQLModel

from sim import __version__
from sim.core.events import Event
from sim.errors import UserError, file_trouble
from sim.runfile.tables import APP_ID, SCHEMA_VERSION, MetaRow  # noqa: F401  (registers tables)

_EVENT_SQL = "INSERT INTO event (seq, tick, t, time, kind, person, place, data) VALUES (?,?,?,?,?,?,?,?)"
_LLM_COLUMNS = (
    "tick",
    "t",
    "person",
    "purpose",
    "model",
    "attempt",
    "status",
    "cache_key",
    "cache_hit",
    "fallback",
    "request",
    "response",
    "error",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_ms",
    "wall_time",
    "endpoint",
    "failovers",
    "prefix_tokens",
    "schema_tokens",
)
_LLM_DEFAULTS = {"endpoint": "", "failovers": "[]", "prefix_tokens": 0, "schema_tokens": 0}
"""What a row read from a file older than these columns (redone on resume) writes in them."""
_MEMORY_COLUMNS = ("person", "id", "tick", "t", "kind", "text", "importance", "evidence")
_MEMORY_SQL = f"INSERT INTO memory ({', '.join(_MEMORY_COLUMNS)}) VALUES ({', '.join('?' * len(_MEMORY_COLUMNS))})"
_ARTIFACT_COLUMNS = ("tick", "t", "path", "version", "phase", "role", "person", "content")
_ARTIFACT_SQL = (
    f"INSERT INTO artifact ({', '.join(_ARTIFACT_COLUMNS)}) VALUES ({', '.join('?' * len(_ARTIFACT_COLUMNS))})"
)
_LLM_SQL = f"INSERT INTO llm_call ({', '.join(_LLM_COLUMNS)}) VALUES ({', '.join('?' * len(_LLM_COLUMNS))})"


def dumps(value: Any) -> str:
    """JSON the way the run file stores it: compact, keys sorted, so equal data is equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def wall_now() -> str:
    """The real (wall-clock) time, UTC, for bookkeeping columns only."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def open_engine(path: Path) -> Engine:
    """A SQLAlchemy engine on ``path`` in WAL mode, tuned for one writer and many readers."""
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is safe against a killed process in WAL mode; only power loss may drop the tail.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine


def create_run_file(path: Path) -> Engine:
    """Create an empty run file with every table and the Hamlet markers; only its owner may read it."""
    # A program in a best-effort sandbox runs as another user: the run file (and SQLite's -wal and
    # -shm files, which take its mode) must not be readable to it.
    # O_EXCL: of two runs started at once with the same --out, one creates the file, the other stops.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise UserError(f"--out {path}: already exists; choose another name or delete it") from None
    os.chmod(path, 0o600)
    engine = open_engine(path)
    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO meta (key, value) VALUES (?, ?), (?, ?), (?, ?)",
            ("app", APP_ID, "schema_version", str(SCHEMA_VERSION), "hamlet_version", __version__),
        )
    return engine


@dataclass(slots=True)
class Batch:
    """What one transaction writes: events, LLM call attempts, memories, artifacts, a snapshot, a run update."""

    events: list[Event] = field(default_factory=list)
    llm_calls: list[dict[str, Any]] = field(default_factory=list)
    memories: list[dict[str, Any]] = field(default_factory=list)
    snapshot: dict[str, Any] | None = None  # its "state" may be given as text already (dumps)
    run: dict[str, Any] | None = None
    # control requests taken this tick: {"id", "tick", "t"}, marked applied with the tick's events
    controls: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)  # file versions a team wrote


class LogFailed(UserError):
    """Writing the run file failed (disk full, file locked or gone): the run stops, what was committed stays."""


@dataclass(frozen=True, slots=True)
class _Rows:
    """A batch frozen into the rows it writes: plain tuples and strings, safe to hand to another thread."""

    events: tuple[tuple[Any, ...], ...]
    llm_calls: tuple[tuple[Any, ...], ...]
    memories: tuple[tuple[Any, ...], ...]
    artifacts: tuple[tuple[Any, ...], ...]
    snapshot: tuple[Any, ...] | None
    run: tuple[tuple[str, Any], ...]
    controls: tuple[tuple[Any, ...], ...]
    escaped: int  # text values that could not be encoded as UTF-8 and were written escaped
    newest_seq: int


class RunLog:
    """Appends batches to a run file from a background thread; readers are never blocked (WAL).

    ``submit`` freezes a batch into rows on the caller's thread, so what is written is the state
    at that moment, whatever the caller changes afterwards (a snapshot taken at a tick's commit
    holds that tick's state, never a later one's).
    """

    def __init__(self, engine: Engine, max_pending: int = 64) -> None:
        self.engine = engine
        self._queue: queue.Queue[_Rows | None] = queue.Queue(maxsize=max_pending)
        self._error: BaseException | None = None
        # called on the writer thread after each commit with the newest event seq it holds (the bus feed)
        self.listeners: list[Callable[[int], None]] = []
        self._thread = threading.Thread(target=self._drain, name="hamlet-log-writer", daemon=True)
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        """Freeze a batch into rows and queue it; blocks only if the writer is far behind."""
        self._raise_if_failed()
        self._queue.put(freeze(batch))

    def flush(self) -> None:
        """Wait until everything submitted is committed."""
        self._queue.join()
        self._raise_if_failed()

    def close(self) -> None:
        """Commit what is pending and stop the writer thread."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.engine.dispose()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise LogFailed(f"writing the run file failed: {file_trouble(self._error) or self._error}") from self._error

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            batches = [item]
            # Group commit: take whatever else is already waiting into the same transaction.
            while item is not None:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batches.append(item)
            try:
                if self._error is None:
                    self._write([b for b in batches if b is not None])
            except BaseException as err:  # kept and re-raised in the engine's thread
                self._error = err
            finally:
                for _ in batches:
                    self._queue.task_done()
            if batches[-1] is None:
                return

    def _write(self, batches: list[_Rows]) -> None:
        if not batches:
            return
        escaped = sum(b.escaped for b in batches)
        with self.engine.begin() as conn:
            for batch in batches:
                if batch.events:
                    conn.exec_driver_sql(_EVENT_SQL, list(batch.events))
                if batch.llm_calls:
                    conn.exec_driver_sql(_LLM_SQL, list(batch.llm_calls))
                if batch.memories:
                    conn.exec_driver_sql(_MEMORY_SQL, list(batch.memories))
                if batch.artifacts:
                    conn.exec_driver_sql(_ARTIFACT_SQL, list(batch.artifacts))
                if batch.snapshot is not None:
                    conn.exec_driver_sql("INSERT INTO snapshot (tick, t, seq, state) VALUES (?,?,?,?)", batch.snapshot)
                if batch.controls:
                    conn.exec_driver_sql(
                        "UPDATE control SET status = 'applied', tick = ?, t = ? WHERE id = ?", list(batch.controls)
                    )
                if batch.run:
                    update = dict(batch.run, updated_at=wall_now())
                    assignments = ", ".join(f"{key} = :{key}" for key in update)
                    conn.execute(text(f"UPDATE run SET {assignments} WHERE id = 1"), update)
            if escaped:
                conn.exec_driver_sql(
                    "INSERT INTO meta (key, value) VALUES ('escaped_values', ?) ON CONFLICT(key) DO UPDATE"
                    " SET value = CAST(value AS INTEGER) + excluded.value",
                    (str(escaped),),
                )
        if self.listeners:
            newest = max(b.newest_seq for b in batches)
            if newest:
                for listener in self.listeners:
                    listener(newest)


def freeze(batch: Batch) -> _Rows:
    """The rows ``batch`` writes, computed now: later changes to the batch's objects do not reach the file."""
    clean = _Escaper()
    snap = batch.snapshot
    return _Rows(
        # Events are most of what is written: their names and places come from the world file (valid
        # text), and orjson refuses a string that is not UTF-8, so only their data needs the escaper.
        events=tuple((e.seq, e.tick, e.t, e.time, e.kind, e.person, e.place, clean.data(e.data)) for e in batch.events),
        llm_calls=tuple(
            clean.row(tuple(call[c] if c in call else _LLM_DEFAULTS[c] for c in _LLM_COLUMNS))
            for call in batch.llm_calls
        ),
        memories=tuple(clean.row(tuple(m[c] for c in _MEMORY_COLUMNS)) for m in batch.memories),
        artifacts=tuple(clean.row(tuple(a[c] for c in _ARTIFACT_COLUMNS)) for a in batch.artifacts),
        snapshot=None
        if snap is None
        else (
            snap["tick"],
            snap["t"],
            snap["seq"],
            clean.value(snap["state"]) if isinstance(snap["state"], str) else clean.json(snap["state"]),
        ),
        run=tuple((key, clean.value(value)) for key, value in (batch.run or {}).items()),
        controls=tuple((c["tick"], c["t"], c["id"]) for c in batch.controls),
        escaped=clean.count,
        newest_seq=batch.events[-1].seq if batch.events else 0,
    )


class _Escaper:
    """Makes text SQLite can store: a string with lone surrogates (a file name that is not UTF-8,
    bytes decoded with ``surrogateescape``) is written with backslash escapes instead, and counted."""

    def __init__(self) -> None:
        self.count = 0

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                self.count += 1
                return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value

    def row(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(self.value(v) for v in row)

    def data(self, data: dict[str, Any]) -> str:
        """An event's data as stored JSON (``dumps``, ~10x faster on the hot path)."""
        if not data:
            return "{}"
        try:
            # The same text as dumps for the strings, ints, lists and ordinary floats events hold
            # (orjson writes 1e16 where json writes 1e+16, null for NaN).
            return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # what orjson will not write: keys that are not strings, huge ints, non-UTF-8 text
            return self.json(data)

    def json(self, value: Any) -> str:
        """``dumps(value)``, with strings that are not UTF-8 escaped inside it first."""
        text = dumps(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return dumps(self._deep(value))
        return text

    def _deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.value(value)
        if isinstance(value, dict):
            return {self._deep(k): self._deep(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._deep(v) for v in value]
        return value

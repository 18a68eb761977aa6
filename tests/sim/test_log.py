"""The run file: batched writes in WAL mode, a consistent prefix for readers, and refusing strangers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sim.errors import NotARunFile, UserError
from sim.events import Event
from sim.log import Batch, RunLog, create_run_file
from sim.reader import RunReader


def batch(start: int, count: int) -> Batch:
    return Batch(events=[Event(t=i, kind="act", person="Ann", place="Home:room", data={"i": i}, seq=i,
                               tick=i, time=f"2026-01-01T00:00:{i % 60:02d}") for i in range(start, start + count)])


def test_run_files_use_wal_and_carry_the_hamlet_marker(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    RunLog(create_run_file(path)).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert dict(db.execute("SELECT key, value FROM meta").fetchall())["app"] == "hamlet"


def test_batches_are_committed_in_order_and_readable_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    log = RunLog(create_run_file(path))
    reader = RunReader(path)
    for n in range(10):
        log.submit(batch(1 + n * 100, 100))
        seen = [e["seq"] for e in reader.events()]
        assert seen == list(range(1, len(seen) + 1)), "a reader always sees a gap-free prefix"
    log.flush()
    assert len(list(reader.events())) == 1000
    assert [e["data"]["i"] for e in reader.events(since=5, until=7)] == [
        e["data"]["i"] for e in reader.events() if 5 <= e["t"] <= 7]
    reader.close()
    log.close()


def test_a_run_without_its_run_row_yet_says_so(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    RunLog(create_run_file(path)).close()
    with RunReader(path) as reader, pytest.raises(UserError, match="not written anything yet"):
        reader.run()


def test_a_file_from_a_newer_schema_asks_to_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    RunLog(create_run_file(path)).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(UserError, match="newer Hamlet"):
        RunReader(path)


def test_a_corrupted_file_is_refused_not_crashed_on(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    log = RunLog(create_run_file(path))
    log.submit(batch(1, 500))
    log.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    with pytest.raises((NotARunFile, sqlite3.DatabaseError)):
        RunReader(path).summary()


def test_writer_errors_surface_in_the_engine_thread(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    log = RunLog(create_run_file(path))
    log.submit(batch(1, 5))
    log.submit(batch(1, 5))  # same sequence numbers: the primary key refuses them
    with pytest.raises(RuntimeError, match="writing the run file failed"):
        log.flush()

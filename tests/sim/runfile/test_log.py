"""The run file: batched writes in WAL mode, a consistent prefix for readers, and refusing strangers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sim.core.events import Event
from sim.errors import NotARunFile, UserError
from sim.runfile.log import Batch, LogFailed, RunLog, create_run_file
from sim.runfile.reader import RunReader


def batch(start: int, count: int) -> Batch:
    return Batch(
        events=[
            Event(
                t=i,
                kind="act",
                person="Ann",
                place="Home:room",
                data={"i": i},
                seq=i,
                tick=i,
                time=f"2026-01-01T00:00:{i % 60:02d}",
            )
            for i in range(start, start + count)
        ]
    )


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
        e["data"]["i"] for e in reader.events() if 5 <= e["t"] <= 7
    ]
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
    with pytest.raises(LogFailed, match="writing the run file failed"):
        log.flush()


def test_a_batch_is_frozen_when_submitted_so_later_changes_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    log = RunLog(create_run_file(path))
    state = {"seen": ["Ann"]}
    event = Event(
        t=1,
        kind="act",
        person="Ann",
        place="Home:room",
        data={"activity": "reads"},
        seq=1,
        tick=1,
        time="2026-03-02T06:00:01",
    )
    log.submit(Batch(events=[event], snapshot={"tick": 1, "t": 1, "seq": 1, "state": state}))
    # The engine goes on changing its live objects after the commit (the next tick).
    state["seen"].append("Bob")
    event.data["activity"] = "sleeps"
    log.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT state FROM snapshot").fetchone()[0] == '{"seen":["Ann"]}'
    assert db.execute("SELECT data FROM event").fetchone()[0] == '{"activity":"reads"}'


def test_text_that_is_not_utf8_is_written_escaped_and_counted_never_killing_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    log = RunLog(create_run_file(path))
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")  # a file name a program made, not UTF-8
    log.submit(
        Batch(
            events=[
                Event(
                    t=1,
                    kind="act",
                    person="Ann",
                    place="Home:room",
                    data={"file": name},
                    seq=1,
                    tick=1,
                    time="2026-03-02T06:00:01",
                )
            ],
            memories=[
                {
                    "person": "Ann",
                    "id": 1,
                    "tick": 1,
                    "t": 1,
                    "kind": "observation",
                    "text": f"saw {name}",
                    "importance": 3,
                    "evidence": "[]",
                }
            ],
        )
    )
    log.submit(
        Batch(
            events=[
                Event(
                    t=2, kind="act", person="Ann", place="Home:room", data={}, seq=2, tick=2, time="2026-03-02T06:00:02"
                )
            ]
        )
    )
    log.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT data FROM event WHERE seq = 1").fetchone()[0] == '{"file":"caf\\\\udce9.txt"}'
    assert db.execute("SELECT text FROM memory").fetchone()[0] == "saw caf\\udce9.txt"
    assert db.execute("SELECT COUNT(*) FROM event").fetchone()[0] == 2, "the writer lived on"
    assert db.execute("SELECT value FROM meta WHERE key = 'escaped_values'").fetchone()[0] == "2"

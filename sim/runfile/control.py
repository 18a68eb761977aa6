"""The run file's ``control`` and ``rejection`` rows: live requests written, taken and applied; messages refused.

``sim.run.control`` checks a request before it becomes a row and its engine takes the pending ones;
``sim.bus.intake`` writes what the bus brings, requests and rejections, a batch per transaction.
``RunReader.controls`` counts them for ``hamlet show``; a fork copies the applied interventions
(``sim.runfile.queries.copy_prefix``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sim.runfile.reader import connect_read_only

# ``wall_now`` is imported where a request is written: the viewer reads ``paused`` without loading the writer.


def add_request(path: Path, kind: str, payload: str, source: str) -> int:
    """Write one checked request as a pending row, in a transaction of its own; returns its id.

    Raises ``sqlite3.OperationalError`` for a file that cannot take requests (written before live control).
    """
    db = sqlite3.connect(path, timeout=10)
    try:
        with db:
            return insert_request(db, kind, payload, source)
    finally:
        db.close()


def insert_request(db: sqlite3.Connection, kind: str, payload: str, source: str) -> int:
    """Write one checked request as a pending row in ``db``'s open transaction; returns its id."""
    from sim.runfile.log import wall_now

    cursor = db.execute(
        "INSERT INTO control (issued_at, source, kind, payload, status) VALUES (?,?,?,?,?)",
        (wall_now(), source, kind, payload, "pending"),
    )
    return int(cursor.lastrowid or 0)


def pending_after(db: sqlite3.Connection, after_id: int) -> list[tuple[int, str, str]]:
    """(id, kind, payload) of the pending requests after row ``after_id``, in the order written."""
    return db.execute(
        "SELECT id, kind, payload FROM control WHERE id > ? AND status = 'pending' ORDER BY id", (after_id,)
    ).fetchall()


def applied_interventions(path: Path, after_tick: int) -> list[tuple[int, str]]:
    """(second, payload) of the interventions applied after tick ``after_tick``, in order; none in an older file."""
    db = connect_read_only(path)
    try:
        return db.execute(
            "SELECT t, payload FROM control WHERE kind = 'intervene' AND status = 'applied' AND tick > ? ORDER BY id",
            (after_tick,),
        ).fetchall()
    except sqlite3.OperationalError:  # a file from before live control
        return []
    finally:
        db.close()


def paused(db: sqlite3.Connection) -> bool:
    """Whether the newest pause request has not been answered by a resume or stop."""
    try:
        row = db.execute(
            "SELECT kind FROM control WHERE kind IN ('pause', 'resume', 'stop') ORDER BY id DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:  # a file from before live control
        return False
    return bool(row) and row[0] == "pause"


def record_bus_batch(
    path: Path,
    requests: list[tuple[str, str]],
    rejections: list[tuple[str, str, str, str]],
    *,
    shed: int,
    broker_dropped: int,
) -> list[int]:
    """Write a batch of the bus's control messages in one transaction; returns the requests' ids.

    ``requests``: (kind, checked payload), written pending with source ``mqtt``; ``rejections``:
    (received_at, topic, reason, payload); ``shed`` and ``broker_dropped``: the totals so far of
    messages the relay did not read and the broker dropped, kept in ``meta``.
    """
    db = sqlite3.connect(path, timeout=30)
    try:
        with db:
            ids = [insert_request(db, kind, payload, "mqtt") for kind, payload in requests]
            db.executemany("INSERT INTO rejection (received_at, topic, reason, payload) VALUES (?,?,?,?)", rejections)
            db.executemany(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                [("bus_shed", str(shed)), ("bus_broker_dropped", str(broker_dropped))],
            )
    finally:
        db.close()
    return ids

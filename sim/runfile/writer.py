"""Who writes a run file: one process at a time claims it, and readers can tell a live writer from a dead one."""

from __future__ import annotations

import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from sim.errors import UserError


def this_writer() -> str:
    """This process as a writer claim names it: ``pid@host``."""
    return f"{os.getpid()}@{socket.gethostname()}"


def claim(engine: Any) -> None:
    """Record this process as the file's writer; refuse if another live process holds the claim.

    The check and the claim are one immediate transaction, so of two ``resume`` commands started
    at the same moment exactly one writes the file; the other gets one line naming the first.
    """
    me = this_writer()
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        old_level = db.isolation_level
        db.isolation_level = None  # our own BEGIN/COMMIT
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT value FROM meta WHERE key = 'writer'").fetchone()
            holder = row[0] if row else ""
            if holder and holder != me and writer_alive(holder):
                db.execute("ROLLBACK")
                raise UserError(
                    f"{engine.url.database}: being written by process {holder.split('@')[0]}; "
                    "wait for it to end (or stop it) before resuming"
                )
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('writer', ?)", (me,))
            db.execute("COMMIT")
        finally:
            db.isolation_level = old_level
    finally:
        raw.close()


def release(path: Path) -> None:
    """Drop this process's writer claim once a run is closed (best effort: a dead claim is ignored anyway)."""
    me = this_writer()
    try:
        db = sqlite3.connect(path, timeout=2)
        try:
            with db:
                db.execute("DELETE FROM meta WHERE key = 'writer' AND value = ?", (me,))
        finally:
            db.close()
    except sqlite3.Error:
        pass


def writer_gone(writer: str) -> bool:
    """Whether a ``running`` file's writer is known to be dead: no claim, or a process of this machine that ended."""
    pid, _, host = writer.partition("@")
    if not pid:
        return True
    return host == socket.gethostname() and not writer_alive(writer, this_process=True)


def writer_alive(writer: str, *, this_process: bool = False) -> bool:
    """Whether the process named by a writer claim (``pid@host``) is alive on this machine.

    This process itself counts only with ``this_process`` (a viewer inside the running process).
    """
    pid, _, host = writer.partition("@")
    if not pid.isdigit() or host != socket.gethostname():
        return False
    if int(pid) == os.getpid():
        return this_process
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

"""A run on the bus: its retained status, its event feed, and the control requests it takes from the bus.

A control message becomes a ``control`` row through ``sim.control.send`` (source ``mqtt``), the
same request a ``hamlet interview --whisper`` writes, so the engine takes it between ticks with
the same checks. A message Hamlet refuses (not JSON, another envelope version, another run, an
unknown verb, an intervention the world cannot take) becomes a ``rejection`` row and a warning.
"""

from __future__ import annotations

import logging
import socket
import sqlite3
from pathlib import Path
from typing import Any

from sim import control
from sim.bus.base import Bus, Outgoing
from sim.bus.feed import Feed
from sim.bus.topics import Rejected, control_topic, envelope, opened, status_topic
from sim.errors import UserError
from sim.log import RunLog, wall_now

log = logging.getLogger("sim.bus")
PAYLOAD_CHARS = 2000


class Relay:
    """What one run puts on the bus and takes from it (the workers aside)."""

    def __init__(self, bus: Bus, run: str, path: Path, facts: dict[str, Any]) -> None:
        self.bus = bus
        self.run = run
        self.path = path
        # what the status message says besides the status: world, seed, log file, host, process
        self.facts = {**facts, "log": str(path.resolve()), "host": socket.gethostname()}
        self.feed: Feed | None = None
        self.rejected = 0

    @staticmethod
    def will(run: str, path: Path) -> Outgoing:
        """The status the broker publishes if this process vanishes without a word."""
        return Outgoing(status_topic(run), envelope(run, status="lost", log=str(path.resolve()),
                                                    host=socket.gethostname()), retain=True)

    def attach(self, runlog: RunLog, after_seq: int = 0) -> None:
        """Publish every event the log commits after ``after_seq``, and take control requests."""
        self.feed = Feed(self.bus, self.run, self.path, after_seq)
        runlog.listeners.append(self.feed.committed_up_to)
        self.bus.subscribe(control_topic(self.run), self._control)

    def announce(self, status: str, **extra: Any) -> None:
        """Publish the retained status message."""
        self.bus.post(status_topic(self.run), envelope(self.run, status=status, **self.facts, **extra), retain=True)

    def close(self, status: str, timeout_s: float = 30.0) -> int:
        """Publish what the log committed (waiting up to ``timeout_s`` for the broker), then the final
        status; returns how many events did not reach the broker."""
        missing = 0
        if self.feed is not None:
            missing = self.feed.drain(timeout_s)
            self.feed.close()
            if missing:
                log.warning("%d events did not reach the broker (it is away); they are in %s", missing, self.path)
        self.announce(status, events=self.feed.committed if self.feed else 0)
        return missing

    # -- input ---------------------------------------------------------------------------

    def _control(self, topic: str, payload: bytes, retained: bool) -> None:
        verb = topic[len(control_topic(self.run, "")):]
        try:
            if retained:
                raise Rejected("a retained control message is never acted on; publish it without retain")
            if verb not in control.KINDS:
                raise Rejected(f"unknown control {verb!r}; publish to control/pause, resume, stop or intervene")
            fields = {k: v for k, v in opened(payload, self.run).items() if k not in ("v", "run")}
            if verb != "intervene" and fields:
                raise Rejected(f"{verb} takes no fields (got {', '.join(sorted(fields))})")
            request = control.send(str(self.path), verb, fields if verb == "intervene" else None, source="mqtt")
        except (Rejected, UserError) as err:
            self.reject(topic, payload, str(err))
            return
        log.info("control %s from the bus: request %d", verb, request)

    def reject(self, topic: str, payload: bytes, reason: str) -> None:
        """Record a refused message in the run file's ``rejection`` table, and say so on stderr."""
        self.rejected += 1
        log.warning("rejected a message on %s: %s", topic, reason)
        text = payload.decode("utf-8", errors="replace")[:PAYLOAD_CHARS]
        try:
            db = sqlite3.connect(self.path, timeout=10)
            try:
                with db:
                    db.execute("INSERT INTO rejection (received_at, topic, reason, payload) VALUES (?,?,?,?)",
                               (wall_now(), topic, reason, text))
            finally:
                db.close()
        except sqlite3.Error as err:  # a file from before rejections were recorded: the warning stays
            log.warning("could not record the rejection in %s (%s)", self.path, err)

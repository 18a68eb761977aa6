"""The event feed: a run's committed events, read back from its file by ``seq`` and published in order.

The log writer tells the feed how far it has committed; the feed reads the new rows on the bus
thread and publishes each on ``hamlet/<run>/<kind>/<person>``, at most ``WINDOW`` ahead of the
broker's acknowledgements. When the connection drops, what was not acknowledged is read again
from the file and published after reconnection, so a broker outage loses no event (a subscriber
may see an event twice across an outage: ``seq`` tells them apart).
"""

from __future__ import annotations

import functools
import sqlite3
import time
from pathlib import Path
from typing import Any

import orjson

from sim.bus.base import Bus, Outgoing
from sim.bus.topics import VERSION, event_topic
from sim.runfile import queries as runfile

WINDOW = 4000  # events published and not yet acknowledged, at most
READ = 1000  # rows read from the file at a time
ACK_EVERY = 50  # events between two acknowledgement callbacks


class Feed:
    """Publishes the events of one run file from ``after_seq`` on; ``committed`` is called by the log writer."""

    def __init__(self, bus: Bus, run: str, path: Path, after_seq: int = 0) -> None:
        self.bus = bus
        self.run = run
        self.path = path
        # seq of the last event: acknowledged by the broker / handed to the bus / committed to the file
        self.acked = self.sent = self.committed = after_seq
        self._db: sqlite3.Connection | None = None
        self._topics: dict[tuple[str, str | None], str] = {}
        self._pumping = False
        bus.on_connect(self._rewind)

    def committed_up_to(self, seq: int) -> None:
        """The file holds every event up to ``seq`` (called on the log writer's thread)."""
        if seq > self.committed:
            self.committed = seq
            self.bus.call(self._pump)

    def drain(self, timeout_s: float) -> int:
        """Wait until the broker has every committed event, or ``timeout_s``; returns how many it lacks."""
        deadline = time.monotonic() + timeout_s
        self.bus.call(self._pump)
        while self.acked < self.committed and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.committed - self.acked

    def close(self) -> None:
        """Close the feed's read connection (on the bus thread, where it was opened)."""

        def shut() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        self.bus.call(shut)

    # -- the bus thread ------------------------------------------------------------------

    def _rewind(self) -> None:
        self.sent = self.acked
        self._pump()

    def _pump(self) -> None:
        if self._pumping:
            return
        self._pumping = True
        try:
            while self.bus.connected and self.sent < self.committed and self.sent - self.acked < WINDOW:
                rows = self._read(min(READ, WINDOW - (self.sent - self.acked)))
                if not rows:
                    break
                last = rows[-1][0]
                for seq, tick, t, when, kind, person, place, data in rows:
                    head = orjson.dumps(
                        {
                            "v": VERSION,
                            "run": self.run,
                            "seq": seq,
                            "tick": tick,
                            "t": t,
                            "time": when,
                            "kind": kind,
                            "person": person,
                            "place": place,
                        }
                    )
                    payload = head[:-1] + b',"data":' + data.encode() + b"}"
                    self.sent = seq
                    # Acknowledgements come in order, so one callback every ACK_EVERY events says as much.
                    ack = functools.partial(self._acked, seq) if seq % ACK_EVERY == 0 or seq == last else None
                    self.bus.send(Outgoing(self._topic(kind, person), payload, on_ack=ack, volatile=True))
        finally:
            self._pumping = False

    def _read(self, limit: int) -> list[tuple[Any, ...]]:
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False, timeout=10)
        return runfile.events_between(self._db, self.sent, self.committed, limit)

    def _topic(self, kind: str, person: str | None) -> str:
        topic = self._topics.get((kind, person))
        if topic is None:
            topic = self._topics[(kind, person)] = event_topic(self.run, kind, person)
        return topic

    def _acked(self, seq: int) -> None:
        self.acked = max(self.acked, seq)
        if self.sent < self.committed and self.sent - self.acked <= WINDOW // 2:
            self._pump()

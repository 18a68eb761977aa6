"""A run's control messages from the bus: taken as fast as they arrive, each applied, rejected or counted.

The bus thread only queues a message (``put``) and goes back to reading the socket: a subscriber
that reads slowly has its messages dropped by the broker once the broker's queue for it is full
(mosquitto's ``max_queued_messages``), before Hamlet sees them. A thread of its own takes what
is queued and writes one transaction per batch: a pending ``control`` row for each request the
run can take (``sim.run.control`` checks it as it checks the CLI's and the viewer's), a ``rejection``
row with its reason for each it refuses.

Should more than ``QUEUE_MESSAGES`` messages or ``QUEUE_BYTES`` bytes wait, a message is shed:
not read, but counted per topic in a rejection row, in the run file's ``meta`` (``bus_shed``)
and in a warning. What the broker itself dropped never reaches Hamlet; mosquitto counts it on
``$SYS/broker/publish/messages/dropped`` (every client's drops), and ``watch_broker`` turns the
increase while the run is live into ``bus_broker_dropped`` and a warning.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path

from sim.bus.topics import Rejected, control_topic, opened
from sim.errors import UserError
from sim.run import control
from sim.runfile.control import record_bus_batch
from sim.runfile.log import wall_now

log = logging.getLogger("sim.bus")

MESSAGE_BYTES = 64 * 1024
"""The largest control message taken; a longer one is rejected unread (its first characters are kept)."""
PAYLOAD_CHARS = 2000  # of a rejected message, kept in its rejection row
QUEUE_MESSAGES = 100_000  # messages waiting to be checked before more are shed
QUEUE_BYTES = 64 * 1024 * 1024
BATCH = 2000  # messages checked and written in one transaction, at most
WARN_EACH = 10  # rejections warned about one by one in a window; the rest in one line at its end
WARN_WINDOW_S = 1.0
DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"


@dataclass(slots=True)
class Message:
    """A control message as received: its topic, payload, whether retained, and when it came."""

    topic: str
    payload: bytes
    retained: bool
    received_at: str
    refused: str | None = None  # a reason known on arrival (too large)


class Intake:
    """Takes one run's control messages off the bus thread and records what becomes of each."""

    def __init__(
        self, path: Path, run: str, *, queue_messages: int = QUEUE_MESSAGES, queue_bytes: int = QUEUE_BYTES
    ) -> None:
        self.path, self.run = path, run
        self.queue_messages, self.queue_bytes = queue_messages, queue_bytes
        self.requests = self.rejected = self.shed = 0  # totals so far, for tests and the last warning
        self.broker_dropped = 0
        self._prefix = control_topic(run, "")
        self._queue: deque[Message] = deque()
        self._bytes = 0
        self._shedding: Counter[str] = Counter()  # topic -> messages shed and not yet recorded
        self._dropped_seen: int | None = None  # the broker's dropped counter when last read
        self._dropped_unrecorded = False
        self._ready = threading.Condition()
        self._closing = False
        self._warned = self._unwarned = 0  # rejections warned about, and not, in this warning window
        self._window_end = 0.0
        self._thread = threading.Thread(target=self._serve, name="hamlet-relay-intake", daemon=True)
        self._thread.start()

    # -- the bus thread ------------------------------------------------------------------

    def put(self, topic: str, payload: bytes, retained: bool) -> None:
        """Queue one control message (the bus's handler: returns at once)."""
        refused = None
        if len(payload) > MESSAGE_BYTES:
            refused = (
                f"{len(payload):,} bytes; a control message may have at most {MESSAGE_BYTES:,} "
                f"(an intervention's text at most {control.TEXT_CHARS:,} characters)"
            )
            payload = payload[: PAYLOAD_CHARS * 4]  # what the rejection row keeps, at most, in UTF-8
        with self._ready:
            if len(self._queue) >= self.queue_messages or self._bytes + len(payload) > self.queue_bytes:
                self._shedding[topic] += 1
            else:
                self._queue.append(Message(topic, payload, retained, wall_now(), refused))
                self._bytes += len(payload)
            self._ready.notify()

    def broker_counter(self, topic: str, payload: bytes, retained: bool) -> None:
        """Take mosquitto's count of messages it dropped (``DROPPED_TOPIC``): the increase is recorded."""
        try:
            value = int(payload)
        except ValueError:
            return
        with self._ready:
            seen = self._dropped_seen
            self._dropped_seen = value
            if seen is None or value < seen:  # the first reading, or the broker restarted (from 0)
                return
            if value > seen:
                self.broker_dropped += value - seen
                self._dropped_unrecorded = True
                log.warning(
                    "the broker dropped %d messages to slow subscribers (%d while this run is live); "
                    "if they were for this run's relay, control messages were lost before Hamlet saw "
                    "them: raise the broker's max_queued_messages (docs/scaling.md)",
                    value - seen,
                    self.broker_dropped,
                )
                self._ready.notify()

    # -- any thread ----------------------------------------------------------------------

    def close(self, timeout_s: float = 30.0) -> None:
        """Record what is queued, then stop."""
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._thread.join(timeout_s)
        if self.shed or self.broker_dropped:
            log.warning(
                "control messages of this run not taken: %d shed by the relay, %d dropped by the broker "
                "(to any of its subscribers); hamlet show %s counts them",
                self.shed,
                self.broker_dropped,
                self.path,
            )

    # -- the intake thread ---------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            with self._ready:
                if not self._waiting() and not self._closing:
                    self._ready.wait(WARN_WINDOW_S if self._unwarned else None)
                if not self._waiting():
                    self._say_unwarned(force=self._closing)
                    if self._closing:
                        return  # everything is recorded
                    continue
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._bytes -= sum(len(m.payload) for m in batch)
                shed, self._shedding = self._shedding, Counter()
                self._dropped_unrecorded = False
            try:
                self._record(batch, shed)
            except sqlite3.Error as err:  # the thread goes on: the next batch may fare better
                log.error("could not record %d control messages in %s (%s)", len(batch), self.path, err)
            except Exception:  # a bug must not stop the intake: later messages are still taken
                log.exception("recording %d control messages in %s failed", len(batch), self.path)

    def _waiting(self) -> bool:
        return bool(self._queue or self._shedding or self._dropped_unrecorded)

    def _record(self, batch: list[Message], shed: Counter[str]) -> None:
        """Check a batch, write its requests, rejections and what was shed in one transaction, then say so."""
        requests, rejections = self._checked(batch)
        rows = [
            (m.received_at, m.topic, reason, m.payload.decode("utf-8", errors="replace")[:PAYLOAD_CHARS])
            for m, reason in rejections
        ]
        ids = record_bus_batch(
            self.path,
            requests,
            rows + self._shed_rows(shed),
            shed=self.shed + sum(shed.values()),
            broker_dropped=self.broker_dropped,
        )
        self.shed += sum(shed.values())
        self.requests += len(ids)
        self.rejected += len(rejections)
        self._report(requests, ids, rejections, shed)

    def _checked(self, batch: list[Message]) -> tuple[list[tuple[str, str]], list[tuple[Message, str]]]:
        """The batch's requests the run can take, as (verb, checked payload), and its messages refused, with why."""
        gate: control.Gate | None = None
        unreadable: str | None = None
        requests: list[tuple[str, str]] = []
        rejections: list[tuple[Message, str]] = []
        for message in batch:
            try:
                verb, fields = self._opened(message)
                if gate is None and unreadable is None:
                    try:
                        gate = control.Gate(self.path)  # one look at the run for the whole batch
                    except UserError as err:
                        unreadable = str(err)
                if gate is None:
                    raise UserError(unreadable or "the run file cannot be read")
                requests.append((verb, gate.payload(verb, fields)))
            except (Rejected, UserError) as err:
                rejections.append((message, str(err)))
            except Exception as err:  # a check that broke on odd input: still recorded, with what broke
                rejections.append((message, f"could not be checked ({type(err).__name__}: {err})"))
        return requests, rejections

    def _shed_rows(self, shed: Counter[str]) -> list[tuple[str, str, str, str]]:
        """A rejection row per topic whose messages were shed unread, with how many."""
        now = wall_now()
        return [
            (
                now,
                topic,
                f"shed: {count:,} messages not read; {self.queue_messages:,} messages or "
                f"{self.queue_bytes / 2**20:g} MiB were waiting to be checked",
                "",
            )
            for topic, count in shed.items()
        ]

    def _report(
        self, requests: list[tuple[str, str]], ids: list[int], rejections: list[tuple[Message, str]], shed: Counter[str]
    ) -> None:
        """Log a recorded batch: each request, rejections one by one up to the window's share, what was shed."""
        for (verb, _), request in zip(requests, ids, strict=True):
            log.info("control %s from the bus: request %d", verb, request)
        self._say_unwarned(force=False)
        for message, reason in rejections:
            if self._warned < WARN_EACH:
                log.warning("rejected a message on %s: %s", message.topic, reason)
                self._warned += 1
            else:
                self._unwarned += 1
        if shed:
            log.warning(
                "shed %d control messages unread: the relay had too many waiting (%d shed in all; see hamlet show)",
                sum(shed.values()),
                self.shed,
            )

    def _say_unwarned(self, *, force: bool) -> None:
        """Once a warning window is over (or at the end): how many rejections were not warned about one by one."""
        now = time.monotonic()
        if now < self._window_end and not force:
            return
        if self._unwarned:
            log.warning(
                "rejected %d more messages on %s... (reasons in the rejection table of %s)",
                self._unwarned,
                self._prefix,
                self.path,
            )
        self._warned = self._unwarned = 0
        self._window_end = now + WARN_WINDOW_S

    def _opened(self, message: Message) -> tuple[str, dict[str, object] | None]:
        """The verb and intervention fields of a message, or ``Rejected`` with the reason."""
        if message.refused is not None:
            raise Rejected(message.refused)
        if message.retained:
            raise Rejected("a retained control message is never acted on; publish it without retain")
        verb = message.topic[len(self._prefix) :]
        if verb not in control.KINDS:
            raise Rejected(f"unknown control {verb!r}; publish to control/pause, resume, stop or intervene")
        fields = {k: v for k, v in opened(message.payload, self.run).items() if k not in ("v", "run")}
        if verb != "intervene" and fields:
            raise Rejected(f"{verb} takes no fields (got {', '.join(sorted(fields))})")
        return verb, fields if verb == "intervene" else None

"""The bus interface, and the in-process bus that ships with it.

A bus carries messages by topic (MQTT's model: ``/``-separated levels, ``+`` and ``#``
wildcards in subscriptions). ``post`` may be called from any thread and never blocks: messages
are sent in order, and those posted while the broker is away are sent once it is back. Handlers
run on the bus's own thread (``LocalBus``: on the poster's), so a consumer with an event loop
hands each message over to it with ``hand_over``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from sim.bus.topics import matches

Handler = Callable[[str, bytes, bool], None]
"""Called with (topic, payload, retained) for each message that matches a subscription."""


def hand_over(loop: asyncio.AbstractEventLoop | None, function: Callable[..., None], *args: object) -> None:
    """Run ``function(*args)`` on ``loop`` (a handler's way into its consumer); dropped once that loop is closed."""
    if loop is None or loop.is_closed():
        return
    with contextlib.suppress(RuntimeError):  # closed in the meantime: the consumer has stopped listening
        loop.call_soon_threadsafe(function, *args)


@dataclass(slots=True)
class Outgoing:
    """A message to send; ``on_ack`` runs once the broker has it (messages are acknowledged in order).

    A ``volatile`` message is dropped, not kept, when the connection is lost: its sender
    (the event feed) sends it again from the run file after ``on_connect``.
    """

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    on_ack: Callable[[], None] | None = None
    volatile: bool = False
    done: bool = False


class Bus(ABC):
    """Publish, subscribe, and learn when the connection is (re)made."""

    remote = False  # whether messages leave this process

    def __init__(self) -> None:
        self._subscriptions: list[tuple[str, Handler]] = []
        self._connect_hooks: list[Callable[[], None]] = []

    @abstractmethod
    def start(self, timeout_s: float = 5.0) -> None:
        """Connect; raises ``UserError`` (one line) if the broker cannot be reached."""

    @abstractmethod
    def close(self, timeout_s: float = 10.0) -> int:
        """Send what is queued (waiting up to ``timeout_s`` for the broker), then disconnect;
        returns how many messages were left unsent."""

    @abstractmethod
    def send(self, message: Outgoing) -> None:
        """Queue ``message`` (any thread)."""

    @abstractmethod
    def call(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the bus's thread (any thread may ask)."""

    @property
    @abstractmethod
    def connected(self) -> bool:
        """Whether the broker is reachable now."""

    def post(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Queue one message (any thread)."""
        self.send(Outgoing(topic, payload, qos, retain))

    def subscribe(self, pattern: str, handler: Handler) -> Future[None] | None:
        """Call ``handler`` for every message matching ``pattern``, across reconnections; a bus that
        subscribes asynchronously returns a future done when the broker has the subscription."""
        self._subscriptions.append((pattern, handler))
        return None

    def on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` on the bus's thread after every connection, including the first."""
        self._connect_hooks.append(hook)

    def _deliver(self, topic: str, payload: bytes, retained: bool) -> None:
        for pattern, handler in list(self._subscriptions):
            if matches(pattern, topic):
                handler(topic, payload, retained)


class LocalBus(Bus):
    """The in-process bus: a post reaches this process's subscribers at once; nothing leaves it.

    Retained messages are kept per topic and handed to later subscribers, as a broker does.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()  # one delivery at a time, as a broker connection gives
        self._retained: dict[str, bytes] = {}
        self._started = False

    @property
    def connected(self) -> bool:
        """Always, once started."""
        return self._started

    def start(self, timeout_s: float = 5.0) -> None:
        """Nothing to reach."""
        self._started = True
        for hook in list(self._connect_hooks):
            hook()

    def close(self, timeout_s: float = 10.0) -> int:
        """Nothing is ever left unsent."""
        self._started = False
        return 0

    def subscribe(self, pattern: str, handler: Handler) -> Future[None] | None:
        """Subscribe, and hand over the retained messages that match at once."""
        super().subscribe(pattern, handler)
        with self._lock:
            for topic, payload in list(self._retained.items()):
                if matches(pattern, topic):
                    handler(topic, payload, True)
        return None

    def send(self, message: Outgoing) -> None:
        """Deliver to matching subscribers now, then acknowledge."""
        with self._lock:
            if message.retain:
                if message.payload:
                    self._retained[message.topic] = message.payload
                else:
                    self._retained.pop(message.topic, None)
            self._deliver(message.topic, message.payload, False)
            message.done = True
            if message.on_ack is not None:
                message.on_ack()

    def call(self, function: Callable[[], None]) -> None:
        """Run ``function`` now."""
        with self._lock:
            function()

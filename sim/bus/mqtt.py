"""The MQTT bus: aiomqtt on a thread of its own, with reconnection, backoff and in-order acknowledgements.

aiomqtt (2.x) makes one connection and gives up when it drops; ``MqttBus`` makes a new one
after a pause that doubles up to ``BACKOFF_MAX_S``, subscribes again, and sends what was
posted meanwhile. Messages go out at QoS 1 unless told otherwise; a message counts as sent when
the broker acknowledges it, and acknowledgements are reported in the order messages were posted.

Publishing goes through the paho client under aiomqtt: aiomqtt's own ``publish`` awaits each
acknowledgement with a timer task of its own, about 5,000 messages a second at most, while the
paho client with no in-flight limit sends as fast as the socket takes them (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import paho.mqtt.client as paho

from sim.bus.base import Bus, Handler, Outgoing, hand_over
from sim.errors import UserError

log = logging.getLogger("sim.bus")

BACKOFF_MIN_S = 0.2
BACKOFF_MAX_S = 5.0
KEEPALIVE_S = 10
SCHEMES = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True)
class Broker:
    """Where the broker is and how to log in: host, port, credentials, TLS files."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None  # kept in memory only; never written or published
    tls: bool = False
    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    @property
    def url(self) -> str:
        """The broker's URL without credentials, for messages and the run file."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def parse_broker(url: str, ca: str | None = None, cert: str | None = None, key: str | None = None) -> Broker:
    """``--mqtt URL`` (``mqtt://[user:pass@]host:port`` or ``mqtts://``) and the TLS files, checked."""
    shown = _redacted(url)
    usage = "write it as mqtt://[user:pass@]host:port, or mqtts://... for TLS"
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES:
        raise UserError(f"--mqtt {shown}: unknown scheme {parts.scheme or '(none)'!r}; {usage}")
    if not parts.hostname:
        raise UserError(f"--mqtt {shown}: no host; {usage}")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError:
        raise UserError(f"--mqtt {shown}: the port is not a number from 1 to 65535; {usage}") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise UserError(f"--mqtt {shown}: unexpected {parts.path or '?' + parts.query}; {usage}")
    if bool(cert) != bool(key):
        raise UserError("--mqtt-cert and --mqtt-key: give both, the client certificate and its private key")
    for flag, path in (("--mqtt-ca", ca), ("--mqtt-cert", cert), ("--mqtt-key", key)):
        if path is not None and not Path(path).is_file():
            raise UserError(f"{flag} {path}: no such file")
    return Broker(
        parts.hostname,
        port,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password is not None else None,
        parts.scheme == "mqtts" or bool(ca or cert),
        ca,
        cert,
        key,
    )


def _redacted(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def client_id(role: str) -> str:
    """A client id no other process will use: role, host, process and a random tail."""
    host = os.uname().nodename.split(".")[0][:20]
    return f"hamlet-{role}-{host}-{os.getpid()}-{random.randrange(16**6):06x}"


class MqttBus(Bus):
    """A bus on an MQTT broker; the connection lives on the ``hamlet-bus`` thread."""

    remote = True

    def __init__(
        self,
        broker: Broker,
        identifier: str,
        *,
        will: Outgoing | None = None,
        keepalive: int = KEEPALIVE_S,
        persistent: bool = False,
    ) -> None:
        super().__init__()
        self.broker = broker
        self.identifier = identifier
        self.will = will
        self.keepalive = keepalive
        # A persistent session: while this bus is away (reconnecting, or the broker restarting with
        # persistence), the broker keeps the QoS 1 messages of its subscriptions for it; ended on close.
        self.persistent = persistent
        self.reconnections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client: aiomqtt.Client | None = None
        self._outbox: deque[Outgoing] = deque()  # waiting for a connection, oldest first
        self._unacked: dict[int, Outgoing] = {}  # message id -> message sent and not yet acknowledged
        self._sent: deque[Outgoing] = deque()  # messages sent, oldest first, until they and all before are acked
        self._first = threading.Event()
        self._failure: str | None = None
        self._closing: asyncio.Event | None = None
        self._deadline = 0.0
        self._left = 0

    # -- the caller's side ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a connection is up."""
        return self._client is not None

    def start(self, timeout_s: float = 5.0) -> None:
        """Connect on the bus thread; one clear line if the broker cannot be reached or refuses us."""
        self._thread = threading.Thread(target=self._main, args=(timeout_s,), name="hamlet-bus", daemon=True)
        self._thread.start()
        if not self._first.wait(timeout_s + 2):
            self._failure = f"no answer within {timeout_s:g} s"
        if self._failure is not None:
            if self._closing is not None:
                hand_over(self._loop, self._closing.set)
            self._thread.join(2)
            raise UserError(
                f"--mqtt {self.broker.url}: cannot connect to the broker ({self._failure}); "
                "start it, or fix the URL, credentials or TLS files"
            )

    def close(self, timeout_s: float = 10.0) -> int:
        """Send what is queued (for up to ``timeout_s``), disconnect cleanly; returns messages left unsent."""
        if self._thread is None or not self._thread.is_alive() or self._loop is None:
            return len(self._outbox) + len(self._sent)
        self._deadline = time.monotonic() + timeout_s
        closing = self._closing
        assert closing is not None
        hand_over(self._loop, closing.set)
        self._thread.join(timeout_s + 5)
        return self._left

    def send(self, message: Outgoing) -> None:
        """Queue ``message``; any thread."""
        loop = self._loop
        if loop is None or self._thread is None:
            self._outbox.append(message)  # not started yet: sent on connecting
        elif threading.get_ident() == self._thread.ident:
            self._send_now(message)
        else:  # dropped if the bus has stopped: close() counted what was left
            hand_over(loop, self._send_now, message)

    def call(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the bus thread."""
        if self._loop is None or self._thread is None or threading.get_ident() == self._thread.ident:
            function()
        else:
            hand_over(self._loop, function)

    def subscribe(self, pattern: str, handler: Handler) -> Future[None] | None:
        """Subscribe (kept across reconnections); once connected, returns a future done at the broker's answer."""
        super().subscribe(pattern, handler)
        if self._loop is None or self._client is None:
            return None
        return asyncio.run_coroutine_threadsafe(self._subscribe(pattern), self._loop)

    # -- the bus thread ------------------------------------------------------------------

    def _main(self, timeout_s: float) -> None:
        asyncio.run(self._run(timeout_s))

    async def _run(self, timeout_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        delay = BACKOFF_MIN_S
        while True:
            was_up = False
            try:
                async with self._new_client(timeout_s) as client:
                    was_up = True
                    await self._up(client)
                    delay = BACKOFF_MIN_S
                    if await self._serve(client):
                        break
            except aiomqtt.MqttError as err:
                if not self._first.is_set():
                    self._failure = _reason(err)
                    self._first.set()
                    return
                if was_up:
                    log.warning("lost the broker at %s (%s); reconnecting, with backoff", self.broker.url, _reason(err))
            finally:
                self._down()
            if self._closing.is_set() and (self._idle() or time.monotonic() >= self._deadline):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), delay * (0.75 + random.random() / 2))
            delay = min(delay * 2, BACKOFF_MAX_S)
        self._left = len(self._outbox) + len(self._sent)
        if self.persistent:
            await self._end_session()

    async def _end_session(self) -> None:
        """Connect once more with a clean session, so the broker forgets this one and keeps nothing for it."""
        with contextlib.suppress(aiomqtt.MqttError, OSError):
            async with self._new_client(2.0, clean=True):
                pass

    def _new_client(self, timeout_s: float, *, clean: bool = False) -> aiomqtt.Client:
        will = None
        if self.will is not None:
            will = aiomqtt.Will(self.will.topic, self.will.payload, self.will.qos, self.will.retain)
        tls = (
            aiomqtt.TLSParameters(ca_certs=self.broker.ca, certfile=self.broker.cert, keyfile=self.broker.key)
            if self.broker.tls
            else None
        )
        return aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=self.identifier,
            will=will,
            keepalive=self.keepalive,
            timeout=timeout_s,
            tls_params=tls,
            clean_session=clean or not self.persistent,
            max_inflight_messages=0,  # 0: no limit (paho rescans its queue on every ack otherwise)
            # Nagle's algorithm holds small messages back for the peer's delayed ACK:
            # ~40 ms each way, measured as an 88 ms round trip through mosquitto.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )

    async def _up(self, client: aiomqtt.Client) -> None:
        inner: Any = client._client.on_publish

        def on_publish(c: Any, userdata: Any, mid: int, *rest: Any) -> None:
            inner(c, userdata, mid, *rest)
            self._acked(mid)

        client._client.on_publish = on_publish
        # paho logs twice per message through the logger aiomqtt gives it (6 % of publishing);
        # what matters (a lost connection) is reported by this module.
        client._client.disable_logger()
        for pattern in dict.fromkeys(p for p, _ in self._subscriptions):
            await client.subscribe(pattern, qos=1)
        self._client = client
        if self._first.is_set():
            self.reconnections += 1
            log.warning("reconnected to %s; sending %d queued messages", self.broker.url, len(self._outbox))
        self._first.set()
        while self._outbox and self._client is not None:
            self._send_now(self._outbox.popleft())
        for hook in list(self._connect_hooks):
            hook()

    async def _serve(self, client: aiomqtt.Client) -> bool:
        """Deliver messages until the connection drops (raises) or the bus closes (returns True)."""
        assert self._closing is not None
        receiving = asyncio.ensure_future(self._receive(client))
        closing = asyncio.ensure_future(self._closing.wait())
        await asyncio.wait({receiving, closing}, return_when=asyncio.FIRST_COMPLETED)
        if not closing.done():
            closing.cancel()
            receiving.result()  # the connection dropped: raises MqttError
            return False
        while not self._idle() and time.monotonic() < self._deadline and not receiving.done():
            await asyncio.sleep(0.01)
        lost = receiving.done() and not receiving.cancelled() and receiving.exception() is not None
        receiving.cancel()
        return not lost  # lost while draining: try again until the deadline

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload
            data = payload if isinstance(payload, bytes) else str(payload or "").encode()
            try:
                self._deliver(message.topic.value, data, bool(message.retain))
            except Exception:  # one bad handler must not take the connection down
                log.exception("handling a message on %s failed", message.topic.value)

    async def _subscribe(self, pattern: str) -> None:
        if self._client is not None:
            await self._client.subscribe(pattern, qos=1)

    def _send_now(self, message: Outgoing) -> None:
        client = self._client
        if client is None:
            if not message.volatile:
                self._outbox.append(message)
            return
        info = client._client.publish(message.topic, message.payload, message.qos, message.retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            if not message.volatile:
                self._outbox.append(message)
            return
        if message.qos == 0:
            message.done = True
            if message.on_ack is not None:
                message.on_ack()
        else:
            self._unacked[info.mid] = message
            self._sent.append(message)

    def _acked(self, mid: int) -> None:
        message = self._unacked.pop(mid, None)
        if message is None:
            return
        message.done = True
        sent = self._sent
        while sent and sent[0].done:
            first = sent.popleft()
            if first.on_ack is not None:
                first.on_ack()

    def _down(self) -> None:
        self._client = None
        kept = [m for m in self._sent if not m.done and not m.volatile]
        self._unacked.clear()
        self._sent.clear()
        self._outbox.extendleft(reversed(kept))

    def _idle(self) -> bool:
        return not self._outbox and not self._sent


def _reason(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    if isinstance(err, aiomqtt.MqttCodeError) and err.rc in (4, 5, 134, 135):
        return f"the broker refused the login: {text}"
    return text

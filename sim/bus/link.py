"""A run's link to the bus, made by ``hamlet run`` / ``resume`` with ``--mqtt``: relay and worker pool.

Everything is checked and connected before the run file is created, so a malformed URL, an
unreachable broker or a run with no worker to think for it fails with one line and writes
nothing. Without ``--mqtt`` there is no link: the bus is in-process and the engine does no bus
work at all. With it, the relay (status, events, controls) is a process of its own; only a run
with external workers connects the engine's process too, to talk to them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.bus.pool import Pool, no_workers
from sim.bus.relay import RelayProcess, record_rejection
from sim.bus.topics import run_id, world_topic
from sim.errors import UserError
from sim.llm.backends import Backend
from sim.llm.options import redact_url
from sim.log import RunLog

if TYPE_CHECKING:
    from sim.bus.mqtt import Broker, MqttBus

log = logging.getLogger("sim.bus")
WORKER_MODES = ("in-process", "external")


@dataclass(slots=True)
class BusOptions:
    """The bus options of ``hamlet run`` and ``resume``."""

    mqtt: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    workers: str = "in-process"
    worker_timeout_s: float = 10.0
    worker_wait_s: float = 30.0

    def tls(self) -> list[str]:
        """The TLS flags, to hand on to another process."""
        flags = (("--mqtt-ca", self.ca), ("--mqtt-cert", self.cert), ("--mqtt-key", self.key))
        return [item for flag, value in flags if value for item in (flag, value)]


def check(opts: BusOptions) -> Broker | None:
    """The broker ``opts`` names (None: no bus), after checking the options fit together."""
    if opts.workers not in WORKER_MODES:
        raise UserError(f"--workers {opts.workers!r}: choose in-process or external")
    if opts.mqtt is None:
        if opts.workers == "external":
            raise UserError("--workers external: workers are reached through a broker; add --mqtt mqtt://HOST:PORT")
        for flag, value in (("--mqtt-ca", opts.ca), ("--mqtt-cert", opts.cert), ("--mqtt-key", opts.key)):
            if value:
                raise UserError(f"{flag}: only with --mqtt")
        return None
    if opts.worker_timeout_s <= 0:
        raise UserError(f"--worker-timeout {opts.worker_timeout_s:g}: must be more than 0 seconds")
    from sim.bus.mqtt import parse_broker  # aiomqtt is imported only by runs that use it

    return parse_broker(opts.mqtt, opts.ca, opts.cert, opts.key)


class Link:
    """The bus of one run: its relay process and, with external workers, the pool on a bus of its own."""

    def __init__(self, relay: RelayProcess, bus: MqttBus | None, run: str, path: Path, opts: BusOptions,
                 url: str) -> None:
        self.relay, self.bus, self.run, self.path, self.opts, self.url = relay, bus, run, path, opts, url
        self.pool: Pool | None = None
        self._started = self._finished = self._closed = False

    @classmethod
    def open(cls, opts: BusOptions, path: Path, after_seq: int = 0) -> Link | None:
        """Start connecting for the run to be written at ``path`` (None without ``--mqtt``); ``ready`` waits."""
        broker = check(opts)
        if broker is None:
            return None
        assert opts.mqtt is not None
        run = run_id(path)
        relay = RelayProcess(opts.mqtt, opts.tls(), path, run, after_seq, opts.workers)
        bus = None
        if opts.workers == "external":
            from sim.bus.base import Outgoing
            from sim.bus.mqtt import MqttBus, client_id

            # Should this process vanish, the broker withdraws the run's world message from workers.
            bus = MqttBus(broker, client_id("world"), will=Outgoing(world_topic(run), b"", retain=True))
            try:
                bus.start()
            except UserError:
                relay.stop()
                raise
        return cls(relay, bus, run, path, opts, broker.url)

    def ready(self) -> None:
        """Wait until the relay is connected: one line if it could not be."""
        try:
            self.relay.ready()
        except UserError:
            self.close()
            raise

    @property
    def external(self) -> bool:
        """Whether minds think on external workers."""
        return self.bus is not None

    def recruit(self, backend: Backend, brief: dict[str, Any]) -> Pool:
        """Make the worker pool, announce the run to workers, and wait until one is alive."""
        assert self.bus is not None
        if backend.endpoint.base_url is None:  # workers reach the model over HTTP
            raise UserError(f"--workers external: not with --llm {backend.kind} (its model lives in this process); "
                            + ("replay the run in-process" if backend.offline else "use --llm scripted"))
        endpoint = backend.endpoint
        brief = {**brief, "concurrency": backend.concurrency, "endpoint": {
            "base_url": redact_url(endpoint.base_url) if endpoint.base_url else None, "model": endpoint.model, "json_mode": endpoint.json_mode,
            "timeout_s": endpoint.timeout_s, "backoff_s": endpoint.backoff_s,
            "price_in_per_mtok": endpoint.price_in_per_mtok, "price_out_per_mtok": endpoint.price_out_per_mtok,
            "fixed_model": endpoint.fixed_model}}
        pool = self.pool = Pool(self.bus, self.run, self.path, brief, timeout_s=self.opts.worker_timeout_s,
                                reject=functools.partial(record_rejection, self.path))
        if not pool.wait_for_workers(self.opts.worker_wait_s):
            raise no_workers(self.url, self.opts.worker_wait_s)
        pool.publish_brief()
        return pool

    def attach(self, runlog: RunLog) -> None:
        """The run file exists: the relay publishes its status and every event the log commits."""
        if self.pool is not None:
            self.pool.runlog = runlog
        runlog.listeners.append(self.relay.committed)
        self.relay.start()
        self._started = True

    def bind(self) -> None:
        """Serve the pool from the running event loop (the engine's)."""
        if self.pool is not None:
            self.pool.bind(asyncio.get_running_loop())

    async def aclose(self) -> None:
        """Stop the pool's work on the engine's loop."""
        if self.pool is not None:
            await self.pool.aclose()

    def finish(self, status: str) -> None:
        """After the log is closed: the relay publishes the rest of the events and the final status."""
        if self._started and not self._closed:
            self.relay.finish(status)
            self._finished = True
        self.close()

    def close(self) -> None:
        """Disconnect; a relay that never started publishing is stopped, one left mid-run says ``failed``."""
        if self._closed:
            return
        self._closed = True
        if self._started and not self._finished:
            self.relay.finish("failed")  # only reached when the run broke off before finishing
        elif not self._started:
            self.relay.stop()
        if self.bus is not None:
            left = self.bus.close()
            if left:
                log.warning("%d bus messages were not sent (the broker at %s is away)", left, self.url)

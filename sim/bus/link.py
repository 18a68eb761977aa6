"""A run's link to the bus, made by ``hamlet run`` / ``resume`` with ``--mqtt``: bus, relay and worker pool.

Everything is checked and connected before the run file is created, so a malformed URL, an
unreachable broker or a run with no worker to think for it fails with one line and writes
nothing. Without ``--mqtt`` there is no link: the bus is in-process and the engine does no bus
work at all.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.bus.base import Bus
from sim.bus.pool import Pool, no_workers
from sim.bus.relay import Relay
from sim.bus.topics import run_id
from sim.errors import UserError
from sim.llm.backends import Backend
from sim.log import RunLog

if TYPE_CHECKING:
    from sim.bus.mqtt import Broker

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
    """The bus of one run: its relay (status, events, controls) and, with external workers, the pool."""

    def __init__(self, bus: Bus, run: str, path: Path, opts: BusOptions, url: str) -> None:
        self.bus, self.run, self.path, self.opts, self.url = bus, run, path, opts, url
        self.relay: Relay | None = None
        self.pool: Pool | None = None
        self._closed = False

    @classmethod
    def open(cls, opts: BusOptions, path: Path) -> Link | None:
        """Connect to the broker for the run to be written at ``path`` (None without ``--mqtt``)."""
        broker = check(opts)
        if broker is None:
            return None
        from sim.bus.mqtt import MqttBus, client_id

        run = run_id(path)
        bus = MqttBus(broker, client_id("world"), will=Relay.will(run, path))
        bus.start()
        return cls(bus, run, path, opts, broker.url)

    @property
    def external(self) -> bool:
        """Whether minds think on external workers."""
        return self.opts.workers == "external"

    def recruit(self, backend: Backend, brief: dict[str, Any]) -> Pool:
        """Make the worker pool, announce the run to workers, and wait until one is alive."""
        if backend.offline:
            raise UserError("--workers external: not with --llm replay (its replies live in this process); "
                            "replay the run in-process")
        endpoint = backend.endpoint
        brief = {**brief, "concurrency": backend.concurrency, "endpoint": {
            "base_url": endpoint.base_url, "model": endpoint.model, "json_mode": endpoint.json_mode,
            "timeout_s": endpoint.timeout_s, "backoff_s": endpoint.backoff_s,
            "price_in_per_mtok": endpoint.price_in_per_mtok, "price_out_per_mtok": endpoint.price_out_per_mtok,
            "fixed_model": endpoint.fixed_model}}
        self.relay = self.relay or Relay(self.bus, self.run, self.path, {})
        pool = self.pool = Pool(self.bus, self.run, self.path, brief, timeout_s=self.opts.worker_timeout_s,
                                reject=self.relay.reject)
        if not pool.wait_for_workers(self.opts.worker_wait_s):
            raise no_workers(self.url, self.opts.worker_wait_s)
        pool.publish_brief()
        return pool

    def attach(self, runlog: RunLog, facts: dict[str, Any], after_seq: int = 0) -> None:
        """Publish the run's status and its events from ``after_seq`` on, and take its controls."""
        relay = self.relay = self.relay or Relay(self.bus, self.run, self.path, {})
        relay.facts.update(facts, workers=self.opts.workers)
        relay.attach(runlog, after_seq)
        relay.announce("running")

    def bind(self) -> None:
        """Serve the pool from the running event loop (the engine's)."""
        if self.pool is not None:
            self.pool.bind(asyncio.get_running_loop())

    async def aclose(self) -> None:
        """Stop the pool's work on the engine's loop."""
        if self.pool is not None:
            await self.pool.aclose()

    def finish(self, status: str) -> None:
        """After the log is closed: publish the rest of the events and the final status, then disconnect."""
        if self.relay is not None and self.relay.feed is not None:
            self.relay.close(status)
        self.close()

    def close(self) -> None:
        """Disconnect (what could not be sent is reported)."""
        if self._closed:
            return
        self._closed = True
        left = self.bus.close()
        if left:
            log.warning("%d bus messages were not sent (the broker at %s is away)", left, self.url)

"""A run's link to the bus, made by ``hamlet run`` / ``resume`` with ``--mqtt``: its relay process.

Everything is checked and connected before the run file is created, so a malformed URL or an
unreachable broker fails with one line and writes nothing. Without ``--mqtt`` there is no link:
the bus is in-process and the engine does no bus work at all. With it, the relay (status,
events, controls) is a process of its own; the engine's process does not connect to the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sim.bus.relay import RelayProcess
from sim.bus.topics import run_id
from sim.errors import UserError
from sim.runfile.log import RunLog

if TYPE_CHECKING:
    from sim.bus.mqtt import Broker


@dataclass(slots=True)
class BusOptions:
    """The bus options of ``hamlet run`` and ``resume``."""

    mqtt: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def tls(self) -> list[str]:
        """The TLS flags, to hand on to another process."""
        flags = (("--mqtt-ca", self.ca), ("--mqtt-cert", self.cert), ("--mqtt-key", self.key))
        return [item for flag, value in flags if value for item in (flag, value)]


def check(opts: BusOptions) -> Broker | None:
    """The broker ``opts`` names (None: no bus), after checking the options fit together."""
    if opts.mqtt is None:
        for flag, value in (("--mqtt-ca", opts.ca), ("--mqtt-cert", opts.cert), ("--mqtt-key", opts.key)):
            if value:
                raise UserError(f"{flag}: only with --mqtt")
        return None
    from sim.bus.mqtt import parse_broker  # aiomqtt is imported only by runs that use it

    return parse_broker(opts.mqtt, opts.ca, opts.cert, opts.key)


class Link:
    """The bus of one run: its relay process."""

    def __init__(self, relay: RelayProcess, run: str, path: Path, opts: BusOptions, url: str) -> None:
        self.relay, self.run, self.path, self.opts, self.url = relay, run, path, opts, url
        self._started = self._finished = self._closed = False

    @classmethod
    def open(cls, opts: BusOptions, path: Path, after_seq: int = 0) -> Link | None:
        """Start connecting for the run to be written at ``path`` (None without ``--mqtt``); ``ready`` waits."""
        broker = check(opts)
        if broker is None:
            return None
        assert opts.mqtt is not None
        run = run_id(path)
        relay = RelayProcess(opts.mqtt, opts.tls(), path, run, after_seq)
        return cls(relay, run, path, opts, broker.url)

    def ready(self) -> None:
        """Wait until the relay is connected: one line if it could not be."""
        try:
            self.relay.ready()
        except UserError:
            self.close()
            raise

    def attach(self, runlog: RunLog) -> None:
        """The run file exists: the relay publishes its status and every event the log commits."""
        runlog.listeners.append(self.relay.committed)
        self.relay.start()
        self._started = True

    def finish(self, status: str) -> None:
        """After the log is closed: the relay publishes the rest of the events and the final status."""
        if self._started and not self._closed:
            self.relay.finish(status)
            self._finished = True
        self.close()

    def close(self) -> None:
        """Stop the relay: one that never started publishing is stopped, one left mid-run says ``failed``."""
        if self._closed:
            return
        self._closed = True
        if self._started and not self._finished:
            self.relay.finish("failed")  # only reached when the run broke off before finishing
        elif not self._started:
            self.relay.stop()

"""A run on the bus: its retained status, its event feed, and the control requests it takes from the bus.

The relay runs in a process of its own (``python -m sim.bus.relay``), started by the run: it reads
the run file, which the run's writer tells it (one line on a pipe per commit) how far it goes,
so publishing never competes with the engine for the interpreter; and it keeps publishing what
was committed even if the run dies, then says ``lost``.

Control messages go to an ``Intake`` (``sim.bus.intake``): each becomes a ``control`` row (source
``mqtt``), the same request a ``hamlet interview --whisper`` writes, so the engine takes it between
ticks with the same checks; or a ``rejection`` row with its reason and a warning (not JSON, another
envelope version, another run, an unknown verb, too large, an intervention the world cannot take).

The status is retained: after a reconnection (the broker restarted, and may have published the
relay's will, ``lost``) the relay publishes it again, so it follows the run.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from sim.bus.base import Bus, Outgoing
from sim.bus.feed import Feed
from sim.bus.intake import DROPPED_TOPIC, Intake
from sim.bus.topics import control_topic, envelope, status_topic
from sim.errors import UserError
from sim.llm import child
from sim.runfile.queries import run_row

log = logging.getLogger("sim.bus")
DRAIN_S = 30.0  # how long the relay waits for an away broker to publish the rest, at the end


class Relay:
    """What one run puts on the bus and takes from it."""

    def __init__(self, bus: Bus, run: str, path: Path) -> None:
        self.bus, self.run, self.path = bus, run, path
        self.facts: dict[str, Any] = {"log": str(path.resolve()), "host": socket.gethostname()}
        self.feed: Feed | None = None
        self.intake: Intake | None = None
        self.status: tuple[str, dict[str, Any]] | None = None  # the newest status announced

    @staticmethod
    def will(run: str, path: Path) -> Outgoing:
        """The status the broker publishes if the relay vanishes without a word."""
        return Outgoing(
            status_topic(run),
            envelope(run, status="lost", log=str(path.resolve()), host=socket.gethostname()),
            retain=True,
        )

    def attach(self, after_seq: int) -> Feed:
        """Read what the status says from the run file, publish its events after ``after_seq``, take controls."""
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            facts = run_row(db, ("world", "world_file", "seed"))
        finally:
            db.close()
        assert facts is not None, "the run writes its row before it starts the relay"
        self.facts.update(facts)
        self.feed = Feed(self.bus, self.run, self.path, after_seq)
        self.intake = Intake(self.path, self.run)
        self.bus.on_connect(self._reannounce)
        self.bus.subscribe(control_topic(self.run), self.intake.put)
        self.bus.subscribe(DROPPED_TOPIC, self.intake.broker_counter)
        return self.feed

    def announce(self, status: str, **extra: Any) -> None:
        """Publish the retained status message."""
        self.status = (status, extra)
        self.bus.post(status_topic(self.run), envelope(self.run, status=status, **self.facts, **extra), retain=True)

    def _reannounce(self) -> None:
        # A broker that restarted holds the status it saved, or the relay's will (lost): say it again.
        if self.status is not None:
            status, extra = self.status
            self.announce(status, **extra)

    def finish(self, status: str, drain_s: float = DRAIN_S) -> int:
        """Publish what the file holds (waiting up to ``drain_s`` for the broker), then the final status;
        returns how many events did not reach the broker."""
        missing = 0
        self.status = None  # the run is over: a reconnection while draining must not say running again
        if self.intake is not None:
            self.intake.close()  # what came in before the end is recorded, then no more is taken
        if self.feed is not None:
            missing = self.feed.drain(drain_s)
            self.feed.close()
            if missing:
                log.warning("%d events did not reach the broker (it is away); they are in %s", missing, self.path)
        self.announce(status, events=self.feed.committed if self.feed else 0)
        return missing


# -- the run's side ------------------------------------------------------------------------


class RelayProcess:
    """The relay's process, seen from the run: started before the run file, told of every commit."""

    def __init__(self, url: str, tls: list[str], path: Path, run: str, after_seq: int) -> None:
        # The URL may hold a password: it goes through the environment, not the command line.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sim.bus.relay", str(path), "--run", run, "--after-seq", str(after_seq), *tls],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "HAMLET_MQTT": url},
            **child.server_options(),
        )
        self._lock = threading.Lock()
        self._pending = 0  # the newest seq not yet written to the pipe

    def ready(self) -> None:
        """Wait until the relay is connected (raises ``UserError`` with its one line if it could not)."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if line != "ready":
            self.process.wait(10)
            raise UserError(line.removeprefix("error: ") or "the bus relay did not start")

    def start(self) -> None:
        """The run file exists: start publishing it."""
        self._write(b"start\n", block=True)
        assert self.process.stdin is not None
        os.set_blocking(self.process.stdin.fileno(), False)  # a slow relay must never hold the log writer back

    def committed(self, seq: int) -> None:
        """The run file holds every event up to ``seq`` (called on the log writer's thread)."""
        self._pending = max(self._pending, seq)
        self._write(f"{self._pending}\n".encode(), block=False)

    def finish(self, status: str, timeout_s: float = DRAIN_S + 15) -> None:
        """Tell the relay how the run ended and wait for it to publish the rest."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            os.set_blocking(self.process.stdin.fileno(), True)
            self._write(f"{self._pending}\nend {status}\n".encode(), block=True)
            self.process.stdin.close()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            child.stop(self.process)

    def stop(self) -> None:
        """Stop the relay at once (the run never started)."""
        child.stop(self.process)

    def _write(self, data: bytes, *, block: bool) -> None:
        stdin: IO[bytes] | None = self.process.stdin
        if stdin is None or stdin.closed:
            return
        with self._lock:
            try:
                os.write(stdin.fileno(), data)  # lines are short: a pipe writes them whole or not at all
            except BlockingIOError:
                pass  # the pipe is full: a later line carries a newer seq
            except (BrokenPipeError, OSError):
                if block:
                    log.warning("the bus relay has stopped; events are still in the run file")


# -- the relay's side ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Relay one run file to the broker in ``$HAMLET_MQTT``, as told on standard input."""
    from sim.bus.mqtt import MqttBus, client_id, parse_broker

    logging.basicConfig(level=logging.WARNING, format="hamlet: %(name)s: %(message)s")
    # Each event published leaves a dozen short-lived objects (paho's message, its lock, ...): with the
    # default thresholds the cyclic collector ran every ~60 events and cost a fifth of the relay's time.
    gc.set_threshold(50_000, 20, 100)
    parser = argparse.ArgumentParser(prog="python -m sim.bus.relay", description=main.__doc__)
    parser.add_argument("run_file")
    parser.add_argument("--run", required=True, help="the run's name on the bus")
    parser.add_argument("--after-seq", type=int, default=0, help="events up to this seq are not published")
    parser.add_argument("--mqtt-ca")
    parser.add_argument("--mqtt-cert")
    parser.add_argument("--mqtt-key")
    args = parser.parse_args(argv)
    path = Path(args.run_file)
    try:
        broker = parse_broker(os.environ.get("HAMLET_MQTT", ""), args.mqtt_ca, args.mqtt_cert, args.mqtt_key)
        # Persistent: control messages sent while the relay reconnects wait for it at the broker.
        bus = MqttBus(broker, client_id("relay"), will=Relay.will(args.run, path), persistent=True)
        bus.start()
    except UserError as err:
        print(f"error: {err}", flush=True)
        return 2
    print("ready", flush=True)
    relay = Relay(bus, args.run, path)
    ended: list[str] = []
    done = threading.Event()

    def listen() -> None:
        feed = None
        for raw in sys.stdin.buffer:
            line = raw.decode().strip()
            if line == "start":
                feed = relay.attach(args.after_seq)
                relay.announce("running")
            elif line.startswith("end "):
                ended.append(line[4:])
            elif line.isdigit() and feed is not None:
                feed.committed_up_to(int(line))
        done.set()  # end of input: the run is over, or its process is gone

    signal.signal(signal.SIGTERM, lambda *_: done.set())  # the run died (its death signal): finish up
    threading.Thread(target=listen, name="hamlet-relay-input", daemon=True).start()
    done.wait()
    if relay.feed is not None:
        relay.finish(ended[0] if ended else "lost")
    left = bus.close()
    if left:
        log.warning("%d bus messages were not sent (the broker at %s is away)", left, broker.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

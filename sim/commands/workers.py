"""``hamlet workers``: processes that run the minds of runs started with ``--workers external``."""

from __future__ import annotations

import argparse
import os

from sim import bounds
from sim.commands import Subparsers
from sim.commands.options import tls_options
from sim.errors import UserError


def add_parser(sub: Subparsers) -> None:
    """Add ``hamlet workers``."""
    workers = sub.add_parser("workers", help="run minds for runs started with --workers external",
                             description="Start worker processes that run the minds of any run started with "
                             "hamlet run --mqtt URL --workers external, taking jobs through the broker. Each calls "
                             "the model server the run announces (or --base-url) with its own API key "
                             "(--api-key or OPENAI_API_KEY). Stop them with Ctrl-C. See docs/distributed.md.")
    workers.add_argument("--mqtt", metavar="URL", default=os.environ.get("HAMLET_MQTT"),
                         help="the broker: mqtt://[user:pass@]host:port or mqtts://... (default: $HAMLET_MQTT)")
    tls_options(workers)
    workers.add_argument("-n", "--processes", type=bounds.concurrency, default=1, metavar="N",
                         help="worker processes to start (default: 1, in this process)")
    workers.add_argument("--base-url", help="model server to call instead of the one each run announces")
    workers.add_argument("--api-key", help="API key for the model server (default: OPENAI_API_KEY); never sent")
    workers.add_argument("--concurrency", type=bounds.concurrency, help="LLM calls in flight per worker (default: the run's)")
    workers.add_argument("--heartbeat", type=bounds.seconds, default=1.0, metavar="SECONDS",
                         help="seconds between heartbeats (default: 1); keep it well under runs' --worker-timeout")


def run(args: argparse.Namespace) -> int:
    """Serve jobs in this process (``-n 1``), or supervise that many child processes, until stopped."""
    from sim.bus.mqtt import MqttBus, client_id, parse_broker
    from sim.bus.worker import Overrides, serve_one, supervise

    if not args.mqtt:
        raise UserError("--mqtt: name the broker, e.g. --mqtt mqtt://localhost:1883 (or set HAMLET_MQTT)")
    broker = parse_broker(args.mqtt, args.mqtt_ca, args.mqtt_cert, args.mqtt_key)
    if args.processes < 1:
        raise UserError(f"-n {args.processes}: start at least 1 worker")
    if args.heartbeat <= 0:
        raise UserError(f"--heartbeat {args.heartbeat:g}: must be more than 0 seconds")
    if args.concurrency is not None and args.concurrency < 1:
        raise UserError(f"--concurrency {args.concurrency}: must be at least 1")
    if args.processes == 1:
        overrides = Overrides(args.base_url, args.api_key, args.concurrency)
        return serve_one(lambda wid, will: MqttBus(broker, f"hamlet-worker-{wid}", will=will),
                         client_id("w").removeprefix("hamlet-w-"), overrides, args.heartbeat)
    probe = MqttBus(broker, client_id("probe"))
    probe.start()  # one clear line now if the broker cannot be reached, not one per process
    probe.close()
    # The children read the URL from the environment: a password in argv would show in ps.
    os.environ["HAMLET_MQTT"] = args.mqtt
    argv = ["workers", "-n", "1", "--heartbeat", str(args.heartbeat)]
    for flag, value in (("--mqtt-ca", args.mqtt_ca), ("--mqtt-cert", args.mqtt_cert), ("--mqtt-key", args.mqtt_key),
                        ("--base-url", args.base_url), ("--concurrency", args.concurrency)):
        if value is not None:
            argv += [flag, str(value)]
    if args.api_key:
        os.environ["OPENAI_API_KEY"] = args.api_key
    return supervise(argv, args.processes, broker.url)

"""The MQTT bus: events published per second to mosquitto on loopback, and what publishing costs a run.

Starts its own mosquitto (``set_tcp_nodelay true``, no persistence) on a free loopback port.

Publish: a run file of N events (``act`` events of a generated town's people, like a real run's)
is published by the real relay process (``python -m sim.bus.relay``, as a run starts it): from
the moment it learns the file holds N events until the broker has acknowledged the last one
(QoS 1, in order, at most ``feed.WINDOW`` unacknowledged) and the relay has published the final
status and exited; with no subscriber and with one ``mosquitto_sub -q 1`` reading everything.
Target: >= 20,000 events/s.

Runs: the generated town of ``--people`` (schedule minds, one LLM call a day each; or
``--mind generative``) for ``--hours`` (one simulated day) with the scripted model at
``--latency-ms`` (0), run by ``python -m sim run`` in a fresh process: without a bus, and with
``--mqtt`` (every event published). Wall time of the command, of the run itself (the run file's
``created_at`` to its last update: everything after the checks and connections), and the
overhead per tick over the run without a bus: (run - that run) / ticks. Each run's events
export is compared with the first one's.

Controls: a live run of Smallville on the bus (scripted model at 40 ms a reply) takes a burst of
``--controls`` control messages at QoS 1, sent by one paho client with no in-flight limit: four
in five are whispers, one in five malformed (four kinds in turn). Figures: how long the burst
took to send, until every message was recorded (a control or rejection row, or counted as shed
or dropped by the broker), and until every whisper was applied; what became of each.
Target: 100 % applied or recorded. (This part's broker sets ``max_queued_messages 0``, no limit.)

    python benchmarks/bench_bus.py                          # publish and runs: about 2 minutes
    python benchmarks/bench_bus.py --part publish --events 200000
    python benchmarks/bench_bus.py --part controls --controls 10000      # ~30 s
    python benchmarks/bench_bus.py --part runs --people 1000 --repeats 3
    python benchmarks/bench_bus.py --part runs --people 25 --mind generative --hours 4 --latency-ms 200
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

TARGET_PUBLISH = 20_000.0


class Broker:
    """A mosquitto of the benchmark's own on a free loopback port."""

    def __init__(self, folder: Path) -> None:
        if not shutil.which("mosquitto"):
            raise SystemExit("bench_bus: mosquitto is not installed (apt-get install mosquitto mosquitto-clients)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_queued_messages 0\n"
        )
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# -- publishing ---------------------------------------------------------------------------


def event_file(folder: Path, count: int) -> Path:
    """A run file holding a run row and ``count`` act events of 200 people."""
    from towns import person_name

    from sim.core.events import Event
    from sim.runfile.log import Batch, RunLog, create_run_file

    path = folder / "events.db"
    engine = create_run_file(path)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO run (id, world, world_file, scenario_yaml, seed, options, status, message, sim_start,"
            " sim_end, sim_now, created_at, updated_at) VALUES (1, 'Bench', 'bench.yaml', '', 1, '{}', 'running',"
            " '', '', '', '', '', '')"
        )
    log = RunLog(engine)
    names = [person_name(i) for i in range(200)]
    for start in range(0, count, 1000):
        log.submit(
            Batch(
                [
                    Event(
                        t,
                        "act",
                        names[t % 200],
                        "Office 3:open office",
                        {"activity": "works at a desk", "object": "desk", "until": "2026-03-02T12:00:00"},
                        seq=t + 1,
                        tick=t // 200,
                        time="2026-03-02T09:00:00",
                    )
                    for t in range(start, min(count, start + 1000))
                ]
            )
        )
    log.close()
    return path


def publish_once(url: str, path: Path, count: int) -> float:
    """Seconds the relay process takes from "the file holds ``count`` events" until it has published the
    last one (acknowledged) and the final status, and disconnected."""
    from sim.bus.relay import RelayProcess

    relay = RelayProcess(url, [], path, "bench", 0)
    relay.ready()
    relay.start()
    time.sleep(0.3)  # let it read the run row and publish the running status first
    began = time.perf_counter()
    relay.committed(count)
    relay.finish("finished")
    took = time.perf_counter() - began
    if relay.process.returncode != 0:
        raise RuntimeError(f"the relay failed ({relay.process.returncode})")
    return took


def publish_part(broker: Broker, folder: Path, count: int, repeats: int) -> str:
    path = event_file(folder, count)
    rows = []
    for subscribers in (0, 1):
        reader = None
        if subscribers:
            reader = subprocess.Popen(
                ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", "hamlet/#"],
                stdout=subprocess.DEVNULL,
            )
            time.sleep(0.5)
        rates = []
        for index in range(repeats):
            seconds = publish_once(broker.url, path, count)
            rates.append(count / seconds)
            print(
                f"  publish, {subscribers} subscriber(s), run {index + 1}/{repeats}: {count / seconds:,.0f} events/s",
                file=sys.stderr,
                flush=True,
            )
        if reader is not None:
            reader.terminate()
            reader.wait(10)
        rate = median(rates)
        rows.append(
            [
                f"events/s published, {subscribers} subscriber(s)",
                rate,
                min(rates),
                max(rates),
                f">= {TARGET_PUBLISH:,.0f}",
                verdict(rate >= TARGET_PUBLISH),
            ]
        )
    return (
        f"bench_bus publish: {count:,} events from a run file to mosquitto on loopback, QoS 1, "
        f"medians over {repeats} runs\n" + table(["figure", "median", "min", "max", "target", "verdict"], rows)
    )


# -- control messages ---------------------------------------------------------------------


def control_burst(count: int) -> list[tuple[str, bytes]]:
    """``count`` control messages for the run ``controls``: whispers, and one in five malformed."""
    whisper = {"v": 1, "run": "controls", "kind": "whisper", "person": "Walter Greaves"}
    bad = [
        b"{not json",
        b'{"v": 2, "run": "controls"}',
        b'{"v": 1, "run": "other"}',
        json.dumps({**whisper, "person": "Nobody", "text": "x"}).encode(),
    ]
    return [
        (
            "hamlet/controls/control/intervene",
            bad[(n // 5) % len(bad)] if n % 5 == 4 else json.dumps({**whisper, "text": f"whisper {n}"}).encode(),
        )
        for n in range(count)
    ]


def controls_part(broker: Broker, folder: Path, count: int, timeout: float) -> tuple[str, dict[str, Any]]:
    import paho.mqtt.client as paho

    run = folder / "controls.db"
    smallville = common.ROOT / "worlds" / "smallville.yaml"
    world = subprocess.Popen(
        common.run_command(
            smallville, run, "--hours", "48", "--embeddings", "hash", "--mqtt", broker.url, latency_ms=40
        ),
        cwd=common.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(common.ROOT)},
    )

    def one(sql: str) -> int:
        db = sqlite3.connect(f"file:{run}?mode=ro", uri=True)
        try:
            row = db.execute(sql).fetchone()
            return int(row[0]) if row else 0
        except sqlite3.OperationalError:  # the file is being created
            return 0
        finally:
            db.close()

    def wait(check: Any) -> float:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline or world.poll() is not None:
                raise RuntimeError("bench_bus controls: the run ended or timed out before every message was taken")
            time.sleep(0.05)
        return time.perf_counter() - began

    try:
        while not run.exists() or one("SELECT COUNT(*) FROM event") < 20:
            if world.poll() is not None:
                raise RuntimeError("bench_bus controls: the run did not start")
            time.sleep(0.05)
        messages = control_burst(count)
        client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="hamlet-bench-controls")
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        began = time.perf_counter()
        for info in [client.publish(topic, payload, qos=1) for topic, payload in messages]:
            info.wait_for_publish(timeout)
        sent_s = time.perf_counter() - began
        client.loop_stop()
        client.disconnect()
        dropped_sql = "SELECT value FROM meta WHERE key = 'bus_broker_dropped'"
        recorded_s = wait(
            lambda: (
                one("SELECT (SELECT COUNT(*) FROM control) + (SELECT COUNT(*) FROM rejection)")
                + one("SELECT value FROM meta WHERE key = 'bus_shed'")
                + one(dropped_sql)
                >= count
            )
        )
        whispers = one("SELECT COUNT(*) FROM control")
        applied_s = wait(lambda: one("SELECT COUNT(*) FROM control WHERE status = 'applied'") >= whispers)
        figures = {
            "sent": count,
            "sent_s": sent_s,
            "recorded_s": recorded_s,
            "applied_s": applied_s,
            "applied": one("SELECT COUNT(*) FROM control WHERE status = 'applied'"),
            "rejected": one("SELECT COUNT(*) FROM rejection WHERE reason NOT LIKE 'shed:%'"),
            "shed": one("SELECT value FROM meta WHERE key = 'bus_shed'"),
            "broker_dropped": one(dropped_sql),
        }
    finally:
        world.kill()
        world.wait(10)
    accounted = figures["applied"] + figures["rejected"] + figures["shed"] + figures["broker_dropped"]
    share = 100.0 * accounted / count
    rows = [
        ["seconds to send the burst", sent_s, "", verdict(None)],
        ["seconds from its start until all were recorded", recorded_s, "", verdict(None)],
        ["seconds from its start until all were applied", applied_s, "", verdict(None)],
        ["applied", figures["applied"], "", verdict(None)],
        ["rejected with a reason", figures["rejected"], "", verdict(None)],
        ["shed by the relay (counted)", figures["shed"], "", verdict(None)],
        ["dropped by the broker (counted)", figures["broker_dropped"], "", verdict(None)],
        ["% applied or recorded", share, "100", verdict(accounted == count)],
    ]
    return (
        f"bench_bus controls: {count:,} control messages in a burst to a live run (QoS 1, mosquitto on loopback)\n"
        + table(["figure", "value", "target", "verdict"], rows)
    ), figures


# -- runs with and without the bus ---------------------------------------------------------


def run_span(path: Path) -> tuple[float, int]:
    """The run's own wall time (file created to last update) and its number of ticks."""
    db = sqlite3.connect(path)
    try:
        created, updated = db.execute("SELECT created_at, updated_at FROM run").fetchone()
        ticks = db.execute("SELECT MAX(tick) FROM event").fetchone()[0]
    finally:
        db.close()
    return (datetime.fromisoformat(updated) - datetime.fromisoformat(created)).total_seconds(), int(ticks)


def events_export(path: Path, folder: Path) -> bytes:
    from sim.runfile.export import export_run

    (written,) = export_run(path, "jsonl", folder, ["event"])
    return written.read_bytes()


def one_run(world: Path, out: Path, extra: list[str], timeout: float) -> dict[str, Any]:
    began = time.perf_counter()
    proc = subprocess.run(
        common.run_command(world, out, "--embeddings", "hash", *extra),
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(common.ROOT)},
    )
    command = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"run failed ({proc.returncode}): {proc.stderr[-3000:]}")
    span, ticks = run_span(out)
    return {"command_s": command, "run_s": span, "ticks": ticks}


def runs_part(
    broker: Broker, folder: Path, people: int, repeats: int, timeout: float, mind: str, hours: float, latency_ms: float
) -> tuple[str, list[dict[str, Any]]]:
    """A town run without a bus and with ``--mqtt``, ``repeats`` times each: the table and every run's figures."""
    from towns import write_town

    world = write_town(folder, people, mind=mind) if mind != "schedule" else write_town(folder, people)
    common_args = ["--hours", str(hours), "--llm-latency-ms", str(latency_ms)]
    modes: list[tuple[str, list[str]]] = [("in-process", []), ("in-process, --mqtt", ["--mqtt", broker.url])]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in modes}
    reference: bytes | None = None
    same: dict[str, bool] = {}
    for index in range(repeats):
        for number, (name, extra) in enumerate(modes):
            out = folder / f"run-{number}-{index}.db"
            result = one_run(world, out, [*common_args, *extra], timeout)
            exported = events_export(out, folder / f"export-{number}")
            if reference is None:
                reference = exported
            same[name] = same.get(name, True) and exported == reference
            results[name].append(result)
            for leftover in folder.glob(out.name + "*"):
                leftover.unlink()
            print(
                f"  {name}, run {index + 1}/{repeats}: command {result['command_s']:.1f} s, "
                f"run {result['run_s']:.1f} s, {result['ticks']} ticks",
                file=sys.stderr,
                flush=True,
            )
    base = median(r["run_s"] for r in results["in-process"])
    rows = []
    for name, _ in modes:
        runs = results[name]
        run_s = median(r["run_s"] for r in runs)
        ticks = median(r["ticks"] for r in runs)
        rows.append(
            [
                name,
                median(r["command_s"] for r in runs),
                run_s,
                ticks,
                (run_s - base) / ticks * 1000 if name != "in-process" else 0.0,
                "yes" if same[name] else "NO",
            ]
        )
    text = (
        f"bench_bus runs: {people} people ({mind} mind) x {hours:g} simulated hours, scripted model at "
        f"latency {latency_ms:g} ms, medians over {repeats} runs\n"
        + table(["mode", "command s", "run s", "ticks", "overhead ms/tick", "same events"], rows)
    )
    return text, [{"mode": name, **r} for name, runs in results.items() for r in runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument(
        "--part",
        choices=("publish", "runs", "controls", "both"),
        default="both",
        help="both: publish and runs (controls runs only when asked)",
    )
    parser.add_argument("--controls", type=int, default=10_000, help="control messages in the burst (default: 10,000)")
    parser.add_argument("--events", type=int, default=100_000, help="events to publish (default: 100,000)")
    parser.add_argument("--people", type=int, default=1000, help="town size for the runs (default: 1000)")
    parser.add_argument(
        "--mind",
        choices=("schedule", "generative"),
        default="schedule",
        help="the town's mind (default: schedule, one LLM call a day)",
    )
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours per run (default: 24)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="scripted model: delay per reply (default: 0)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (default: 3)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds one run may take")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    args = parser.parse_args(argv)
    print(common.machine_line(), flush=True)
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-bus-") as tmp:
        folder = Path(tmp)
        broker = Broker(folder)
        figures: dict[str, Any] = {}
        try:
            if args.part in ("publish", "both"):
                print(publish_part(broker, folder, args.events, args.repeats), flush=True)
            if args.part == "controls":
                text, figures["controls"] = controls_part(broker, folder, args.controls, args.timeout)
                print(text, flush=True)
            if args.part in ("runs", "both"):
                text, figures["runs"] = runs_part(
                    broker, folder, args.people, args.repeats, args.timeout, args.mind, args.hours, args.latency_ms
                )
                print(text, flush=True)
        finally:
            broker.close()
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

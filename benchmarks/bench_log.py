"""Event log throughput: writing events through ``RunLog`` in batches, and reading them back.

Writes: a fresh run file (``create_run_file``) per repeat; the events are made beforehand
(``move``, ``act`` and ``arrive`` with the small data dicts the engine writes), then timed from
the first ``RunLog.submit(Batch(events=...))`` until ``RunLog.flush()`` returns, so the figure
is what the writer thread sustains: JSON encoding, inserts into the indexed ``event`` table,
one transaction per group of waiting batches. Batch sizes 100, 1,000 and 10,000 events.

Reads: ``RunReader(path).events()`` over the whole file (decoding each event's data).

Target: >= 200,000 events/s written (median of >= 5 repeats), at every batch size.

    python benchmarks/bench_log.py
    python benchmarks/bench_log.py --events 500000 --batch 1000 --repeats 7
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

TARGET_EVENTS_PER_S = 200_000


def make_events(count: int, people: int = 1000) -> list[Any]:
    """``count`` events as the engine makes them: a third each of move, arrive and act."""
    from datetime import datetime, timedelta

    from sim.core.events import Event

    start = datetime(2026, 3, 2, 6, 0)
    names = [f"Person {i}" for i in range(people)]
    places = [f"House {i}:kitchen" for i in range(people // 10)] + [f"Office {i}:open office" for i in range(25)]
    activities = ["has breakfast", "works at a desk", "eats lunch", "cooks dinner", "spends free time", "sleeps"]
    events = []
    for seq in range(1, count + 1):
        t = seq // 20
        who = names[seq % people]
        here, there = places[seq % len(places)], places[(seq * 7 + 3) % len(places)]
        kind = ("move", "arrive", "act")[seq % 3]
        if kind == "move":
            data: dict[str, Any] = {
                "to": there,
                "route": [here, "Town Square:fountain", there],
                "minutes": 4.5,
                "purpose": activities[seq % len(activities)],
            }
            place = here
        elif kind == "arrive":
            data, place = {}, there
        else:
            until = start + timedelta(seconds=t + 3600)
            data = {
                "activity": activities[seq % len(activities)],
                "object": "stove",
                "until": until.isoformat(timespec="seconds"),
            }
            place = there
        moment = (start + timedelta(seconds=t)).isoformat(timespec="seconds")
        events.append(Event(t, kind, who, place, data, seq, 1 + t // 60, moment))
    return events


def write_once(path: Path, events: list[Any], batch: int) -> float:
    """Seconds to write ``events`` to a new run file at ``path`` in batches of ``batch``."""
    from sim.runfile.log import Batch, RunLog, create_run_file

    log = RunLog(create_run_file(path))
    try:
        t0 = time.perf_counter()
        for i in range(0, len(events), batch):
            log.submit(Batch(events=events[i : i + batch]))
        log.flush()
        return time.perf_counter() - t0
    finally:
        log.close()


def read_once(path: Path) -> tuple[float, int]:
    """Seconds to read every event of ``path`` with ``RunReader.events()``, and how many there were."""
    from sim.runfile.reader import RunReader

    with RunReader(path) as reader:
        t0 = time.perf_counter()
        count = sum(1 for _ in reader.events())
        return time.perf_counter() - t0, count


def file_bytes(path: Path) -> int:
    """The run file's size with its WAL and shared-memory files, if any are left."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="events written per repeat (default: 200,000)")
    parser.add_argument(
        "--batch", type=int, nargs="+", default=[100, 1000, 10_000], help="batch sizes (default: 100 1000 10000)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="repeats per batch size (default: 5)")
    parser.add_argument("--json", metavar="FILE", help="also write every repeat's figures to FILE")
    args = parser.parse_args(argv)

    print(common.machine_line(), flush=True)
    events = make_events(args.events)
    from sim.runfile.log import Batch, freeze

    sample = freeze(Batch(events=events[:3])).events
    results: dict[int, list[dict[str, float]]] = {b: [] for b in args.batch}
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        for index in range(args.repeats):
            for size in args.batch:  # interleaved, so drifts of the machine hit every size alike
                path = Path(tmp) / f"log-{size}-{index}.db"
                seconds = write_once(path, events, size)
                size_bytes = file_bytes(path)
                read_s, count = read_once(path)
                assert count == len(events), (count, len(events))
                results[size].append(
                    {
                        "write_s": seconds,
                        "write_eps": len(events) / seconds,
                        "bytes_per_event": size_bytes / len(events),
                        "read_s": read_s,
                        "read_eps": count / read_s,
                    }
                )
                for leftover in Path(tmp).glob(path.name + "*"):
                    leftover.unlink()
                print(
                    f"  repeat {index + 1}/{args.repeats}, batches of {size:,}: write "
                    f"{len(events) / seconds:,.0f} events/s, read {count / read_s:,.0f} events/s",
                    file=sys.stderr,
                    flush=True,
                )

    rows = []
    for size in args.batch:
        runs = results[size]
        write_eps = median(r["write_eps"] for r in runs)
        rows.append(
            [
                f"{size:,}",
                len(events) // size,
                write_eps,
                min(r["write_eps"] for r in runs),
                max(r["write_eps"] for r in runs),
                median(r["bytes_per_event"] for r in runs),
                median(r["read_eps"] for r in runs),
                f">= {TARGET_EVENTS_PER_S:,}",
                verdict(write_eps >= TARGET_EVENTS_PER_S),
            ]
        )
    print(f"\nbench_log: {len(events):,} events (move/arrive/act) per repeat, medians over {args.repeats} repeats")
    print("sample rows:", *(json.dumps(r) for r in sample), sep="\n  ")
    print(
        table(
            [
                "batch size",
                "batches",
                "write events/s",
                "min",
                "max",
                "bytes/event",
                "read events/s",
                "target (write)",
                "verdict",
            ],
            rows,
        )
    )
    common.write_figures(args.json, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Schedules against the oracle bound: worlds/smallville.yaml for 4 simulated hours, scripted model at 200 ms a call.

The same run is made four ways (``--modes`` picks some), each a child process from start to exit:

    hamlet run WORLD --llm scripted --hours 4 --seed 5 --llm-latency-ms 200 --schedule barrier
    hamlet run WORLD ... --schedule lookahead
    hamlet run WORLD ... --schedule speculate
    hamlet run WORLD ... --concurrency 1          (the default schedule, one call in flight)

interleaved, so that drifts of the machine hit all alike. Each run file's oracle bound is
read by ``sim.research.critical`` (what ``hamlet show`` reports): the longest chain of requests
that had to wait for one another, weighted by their recorded latency, which no schedule can
beat. The table gives, as medians over the repeats:

- the whole command's wall time, and the span of the run's requests (the first one's start to
  the last one's end, from the ``llm_call`` wall times): what the schedule can shorten;
- the oracle bound (``critical_s``), the tick-by-tick bound (``barrier_s``: each tick's slowest
  unit, summed, the least ``--schedule barrier`` could take) and the share of the limit reached
  (``critical_s`` / the requests' span);
- the speed-ups of each schedule over ``--concurrency 1`` and over barrier, and the most any
  schedule could gain over each (its span / the oracle bound);
- the same most were importance scoring off the critical path (``sim.research.critical.
  without_scoring``): the scoring calls that end a person's calls of a tick weighing nothing (the
  most that deferring a score until something reads it could gain: optimistic), or every scoring
  call (as if retrieval waited for no score, which the paper's does). A what-if for the targets
  of the scheduling issue, not a schedule Hamlet has.

It also checks that the runs wrote the same events (the schedules must not change the log).

    python benchmarks/bench_schedule.py                  # 3 repeats of each (~4 minutes)
    python benchmarks/bench_schedule.py --repeats 1      # one of each, to check it works
    python benchmarks/bench_schedule.py --world TOWN.yaml --hours 24 --modes barrier,speculate
"""

from __future__ import annotations

import argparse
import hashlib
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import common
from common import median, run_hamlet, table

MODES: dict[str, list[str]] = {
    "barrier": ["--schedule", "barrier"],
    "lookahead": ["--schedule", "lookahead"],
    "speculate": ["--schedule", "speculate"],
    "concurrency 1": ["--concurrency", "1"],
}
"""The runs compared, by name, with the options each adds to the common command."""

SPEEDUPS = [
    ("barrier", "concurrency 1"),
    ("lookahead", "concurrency 1"),
    ("lookahead", "barrier"),
    ("speculate", "concurrency 1"),
    ("speculate", "barrier"),
]
"""The speed-ups reported: (faster, slower) by name, where both were run."""


def measured(out: Path, wall: float) -> dict[str, Any]:
    """The figures of one finished run file: its bound, its spans, its requests and a digest of its events."""
    from sim.research.critical import read_bound, without_scoring

    db = sqlite3.connect(out)
    try:
        bound = read_bound(db)
        what_if = without_scoring(db)
        digest = hashlib.sha256()
        for row in db.execute("SELECT seq, tick, t, kind, person, place, data FROM event ORDER BY seq"):
            digest.update(repr(row).encode())
        events = db.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    finally:
        db.close()
    return {
        "command_s": wall,
        "events": events,
        "events_sha256": digest.hexdigest(),
        **bound.as_json(),
        "critical_s_trailing_scoring_free": round(what_if["trailing"].critical_s, 3),
        "critical_s_scoring_free": round(what_if["none"].critical_s, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument(
        "--world",
        default=str(common.ROOT / "worlds" / "smallville.yaml"),
        help="the world file (default: worlds/smallville.yaml)",
    )
    parser.add_argument("--hours", type=float, default=4.0, help="simulated hours (default: 4)")
    parser.add_argument("--seed", type=int, default=5, help="the run's seed (default: 5)")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="scripted model delay per reply (default: 200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind (default: 3)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help=f"the runs to make, comma-separated (default: {','.join(MODES)})",
    )
    args = parser.parse_args(argv)
    chosen = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    unknown = [mode for mode in chosen if mode not in MODES]
    if unknown or not chosen:
        parser.error(f"--modes {args.modes!r}: choose among {', '.join(MODES)}")

    print(common.machine_line(), flush=True)
    base = [
        "run",
        args.world,
        "--llm",
        "scripted",
        "--hours",
        f"{args.hours:g}",
        "--seed",
        str(args.seed),
        "--llm-latency-ms",
        f"{args.latency_ms:g}",
        "--quiet",
    ]
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in chosen}
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        for index in range(args.repeats):
            for mode in chosen:  # interleaved
                extra = MODES[mode]
                out = Path(tmp) / f"{mode.replace(' ', '-')}-{index}.db"
                wall = run_hamlet([*base, *extra, "--out", str(out)], args.timeout)
                runs[mode].append(measured(out, wall))
                last = runs[mode][-1]
                print(
                    f"  run {index + 1}/{args.repeats}, {mode}: whole command {wall:.2f} s, requests span "
                    f"{last['wall_s']:.2f} s, oracle bound {last['critical_s']:.2f} s",
                    file=sys.stderr,
                    flush=True,
                )

    same = report(runs, args)
    common.write_figures(args.json, runs=runs)
    return 0 if same else 1


def report(runs: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> bool:
    """Print the tables of ``runs`` (mode -> each run's figures); whether every run wrote the same events."""

    def med(mode: str, key: str) -> float:
        return median(float(run[key]) for run in runs[mode] if run[key] is not None)

    def count(mode: str, key: str) -> int | float:
        value = med(mode, key)
        return int(value) if value == value and value == int(value) else value  # NaN stays

    modes = [mode for mode in MODES if runs.get(mode)]
    span = {mode: med(mode, "wall_s") for mode in modes}
    command = {mode: med(mode, "command_s") for mode in modes}
    same = len({run["events_sha256"] for mode in modes for run in runs[mode]}) == 1
    rows: list[list[Any]] = [
        ["LLM requests", *(count(m, "calls") for m in modes)],
        ["events", *(count(m, "events") for m in modes)],
        ["whole command wall (s)", *(command[m] for m in modes)],
        ["requests' span, llm_call wall times (s)", *(span[m] for m in modes)],
        ["run row, created_at to updated_at (s)", *(med(m, "run_s") for m in modes)],
        ["oracle bound, critical_s (s)", *(med(m, "critical_s") for m in modes)],
        ["  requests on it", *(count(m, "critical_calls") for m in modes)],
        ["  units on it", *(count(m, "critical_units") for m in modes)],
        ["  were scoring that ends a unit free (s)", *(med(m, "critical_s_trailing_scoring_free") for m in modes)],
        ["  were every scoring call free (s)", *(med(m, "critical_s_scoring_free") for m in modes)],
        ["tick-by-tick bound, barrier_s (s)", *(med(m, "barrier_s") for m in modes)],
        ["units with requests side by side", *(count(m, "overlapping_units") for m in modes)],
        ["share of the limit reached (critical_s / span)", *(f"{med(m, 'share'):.0%}" for m in modes)],
    ]
    print(
        f"\nbench_schedule: {Path(args.world).name} x {args.hours:g} simulated hours, seed {args.seed}, scripted "
        f"model at {args.latency_ms:g} ms a call, medians over {args.repeats} runs of each"
    )
    print(table(["figure", *modes], rows))
    print()
    speedups = [
        [f"{fast} over {slow}", span[slow] / span[fast], command[slow] / command[fast]]
        for fast, slow in SPEEDUPS
        if fast in span and slow in span
    ]
    # the bound differs between schedules only by the recorded latencies: lookahead's (else the first mode's)
    ref = "lookahead" if "lookahead" in modes else modes[0]
    bounds = {
        "the most any schedule could gain": med(ref, "critical_s"),
        "  were scoring ending a unit off the path": med(ref, "critical_s_trailing_scoring_free"),
        "  were no retrieval to wait for a score": med(ref, "critical_s_scoring_free"),
    }
    for slow in ("barrier", "concurrency 1"):
        if slow in span:
            speedups += [
                [f"{label} over {slow} (span / bound)", span[slow] / bound, ""] for label, bound in bounds.items()
            ]
    print(table(["speed-up (x)", "requests' span", "whole command"], speedups))
    print(f"\nthe {len(modes)} ways wrote {'the same events' if same else 'DIFFERENT events'}")
    return same


if __name__ == "__main__":
    sys.exit(main())

"""Schedules as the town grows: 3, 9, 25 and 100 generative people, 4 simulated hours, scripted model at 200 ms.

For each size, the generated town of ``towns.py`` (``town(N, seed=3, mind="generative")``: houses
of ten, the morning from 06:00) is run three ways, each a child process:

    hamlet run TOWN --llm scripted --hours 4 --seed 5 --llm-latency-ms 200 --schedule barrier
    hamlet run TOWN ... --schedule speculate
    hamlet run TOWN ... --schedule lookahead --concurrency 1      (one call in flight)

and each run file's oracle bound is read as ``bench_schedule.py`` reads it. The table gives, per
size: requests, the requests' span of each way, the oracle bound (of the barrier run, whose
latencies carry the least waiting for a slot), the speed-ups of speculation over one call at a
time and over barrier, the most any schedule respecting the bound's dependencies could gain over
barrier, and the share of the oracle reached (oracle / speculation's span; above 100 % where
speculation found that an event in someone's place did not change what they saw). Beside
it, AI Metropolis's published figures (Xie et al., MLSys 2025): 1.3-4.15 x over parallel
simulation with global synchronisation, up to 19.5 x over one thread, 74-97 % of an oracle
scheduler; their agents, model and hardware are not ours, so the comparison is of shape only.

    python benchmarks/bench_scaling.py                       # 3, 9, 25, 100 people, once each
    python benchmarks/bench_scaling.py --sizes 3,9 --hours 2  # a quick check
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import common
import yaml
from bench_schedule import measured
from common import run_hamlet, table
from towns import town

WAYS: dict[str, list[str]] = {
    "barrier": ["--schedule", "barrier"],
    "speculate": ["--schedule", "speculate"],
    "concurrency 1": ["--concurrency", "1"],
}
"""The runs compared at each size, with the options each adds to the common command."""

METROPOLIS = "1.3-4.15 x over global sync; up to 19.5 x over one thread; 74-97 % of the oracle"
"""AI Metropolis's published figures (Xie et al., MLSys 2025), for the table's last line."""


def main(argv: list[str] | None = None) -> int:
    """Run the towns, print the table; 1 if any size's runs wrote different events."""
    parser = common.parser(__doc__)
    parser.add_argument("--sizes", default="3,9,25,100", help="town sizes, comma-separated (default: 3,9,25,100)")
    parser.add_argument("--hours", type=float, default=4.0, help="simulated hours (default: 4)")
    parser.add_argument("--seed", type=int, default=5, help="the runs' seed (default: 5)")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="scripted model delay per reply (default: 200)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds one run may take")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    print(common.machine_line(), flush=True)
    figures: dict[int, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        for people in sizes:
            world = Path(tmp) / f"town{people}.yaml"
            world.write_text(yaml.safe_dump(town(people, seed=3, mind="generative"), allow_unicode=True))
            figures[people] = {}
            for way, extra in WAYS.items():
                out = Path(tmp) / f"{people}-{way.replace(' ', '-')}.db"
                command = common.run_args(world, out, "--hours", f"{args.hours:g}", "--seed", args.seed)
                command += ["--llm-latency-ms", f"{args.latency_ms:g}", *extra]
                wall = run_hamlet(command, args.timeout)
                figures[people][way] = measured(out, wall)
                print(f"  {people} people, {way}: {figures[people][way]['wall_s']:.1f} s", file=sys.stderr, flush=True)
    same = report(figures, args.hours, args.latency_ms)
    common.write_figures(args.json, sizes=figures)
    return 0 if same else 1


def report(figures: dict[int, dict[str, dict[str, Any]]], hours: float, latency_ms: float) -> bool:
    """Print the scaling table; whether each size's three runs wrote the same events."""
    rows: list[list[Any]] = []
    same = True
    for people, ways in figures.items():
        span = {way: float(run["wall_s"]) for way, run in ways.items()}
        oracle = float(ways["barrier"]["critical_s"])  # its latencies carry the least waiting for a slot
        same = same and len({run["events_sha256"] for run in ways.values()}) == 1
        rows.append(
            [
                people,
                ways["barrier"]["calls"],
                span["concurrency 1"],
                span["barrier"],
                span["speculate"],
                oracle,
                span["concurrency 1"] / span["speculate"],
                span["barrier"] / span["speculate"],
                span["barrier"] / oracle,
                f"{oracle / span['speculate']:.0%}",
            ]
        )
    print(f"\nbench_scaling: generated towns x {hours:g} simulated hours, scripted model at {latency_ms:g} ms a call")
    headers = [
        "people",
        "requests",
        "conc. 1 (s)",
        "barrier (s)",
        "speculate (s)",
        "oracle (s)",
        "spec. / conc. 1",
        "spec. / barrier",
        "barrier / oracle",
        "share of oracle",
    ]
    print(table(headers, rows))
    print(f"AI Metropolis, published: {METROPOLIS}")
    print(f"each size's three ways wrote {'the same events' if same else 'DIFFERENT events'}")
    return same


if __name__ == "__main__":
    sys.exit(main())

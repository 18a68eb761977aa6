"""How far ahead to think: ``--schedule speculate`` with ``--lookahead`` windows, speed against requests sent twice.

The same run, each a child process, once per window (in simulated seconds; ``none``: no limit),
interleaved over the repeats so that drifts of the machine hit all alike:

    hamlet run WORLD --llm scripted --hours 4 --seed 5 --llm-latency-ms 200 --schedule speculate --lookahead W

For each window, as medians over the repeats: the span of the run's requests (``llm_call`` wall
times, what the schedule can shorten), the requests the process sent (from its closing line:
kept ones and those a redo dropped), the wake-ups thought through ahead and dropped, and the
oracle bound (``sim.research.critical``). Window 0 thinks nothing ahead, as barrier does. It also
checks that every window wrote the same events.

    python benchmarks/bench_window.py                                  # smallville, 3 repeats (~3 minutes)
    python benchmarks/bench_window.py --world TOWN.yaml --hours 6 --latency-ms 50
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import common
from bench_schedule import measured
from common import median, table

SPECULATION = re.compile(r"speculation: (\d+) wake-ups thought ahead, (\d+) of them dropped and redone; (\d+) requests")


def windows(text: str) -> list[int | None]:
    """``0,60,none`` -> [0, 60, None]."""
    return [None if part.strip() == "none" else int(part) for part in text.split(",") if part.strip()]


def speculated(stdout: str, calls: int) -> dict[str, int]:
    """What the closing line says speculation did (no line: nothing thought ahead, every request kept)."""
    found = SPECULATION.search(stdout)
    if found is None:
        return {"thought": 0, "dropped": 0, "sent": calls}
    thought, dropped, sent = (int(group) for group in found.groups())
    return {"thought": thought, "dropped": dropped, "sent": sent}


def run_once(base: list[str], window: int | None, out: Path, timeout: float) -> dict[str, Any]:
    """One run with ``window``; its figures."""
    extra = [] if window is None else ["--lookahead", str(window)]
    wall, stdout = common.run_hamlet_out([*base, *extra, "--out", str(out)], timeout)
    figures = measured(out, wall)
    return {**figures, **speculated(stdout, int(figures["calls"]))}


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--world", default=str(common.ROOT / "worlds" / "smallville.yaml"), help="the world file")
    parser.add_argument("--hours", type=float, default=4.0, help="simulated hours (default: 4)")
    parser.add_argument("--seed", type=int, default=5, help="the run's seed (default: 5)")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="scripted model delay per reply (default: 200)")
    parser.add_argument("--windows", default="0,300,1800,none", help="--lookahead values, comma-separated")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each window (default: 3)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    args = parser.parse_args(argv)

    print(common.machine_line(), flush=True)
    base = ["run", args.world, "--llm", "scripted", "--hours", f"{args.hours:g}", "--seed", str(args.seed)]
    base += ["--llm-latency-ms", f"{args.latency_ms:g}", "--schedule", "speculate", "--quiet"]
    chosen = windows(args.windows)
    runs: dict[str, list[dict[str, Any]]] = {name(w): [] for w in chosen}
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        for index in range(args.repeats):
            for window in chosen:  # interleaved
                out = Path(tmp) / f"{name(window)}-{index}.db"
                runs[name(window)].append(run_once(base, window, out, args.timeout))
                last = runs[name(window)][-1]
                print(
                    f"  run {index + 1}/{args.repeats}, --lookahead {name(window)}: requests span "
                    f"{last['wall_s']:.2f} s, {last['sent']} sent for {last['calls']} kept",
                    file=sys.stderr,
                    flush=True,
                )

    def med(window: str, key: str) -> float:
        return median(float(run[key]) for run in runs[window] if run[key] is not None)

    slowest = med(name(chosen[0]), "wall_s")
    rows = [
        [
            window,
            med(window, "wall_s"),
            slowest / med(window, "wall_s"),
            med(window, "critical_s"),
            f"{med(window, 'critical_s') / med(window, 'wall_s'):.0%}",
            int(med(window, "calls")),
            int(med(window, "sent")),
            f"{med(window, 'sent') / med(window, 'calls') - 1:+.0%}",
            int(med(window, "thought")),
            int(med(window, "dropped")),
        ]
        for window in runs
    ]
    print(
        f"\nbench_window: {Path(args.world).name} x {args.hours:g} simulated hours, seed {args.seed}, scripted model "
        f"at {args.latency_ms:g} ms a call, --schedule speculate, medians over {args.repeats} runs of each"
    )
    headers = ["--lookahead (s)", "requests' span (s)", f"x over {name(chosen[0])}", "oracle (s)", "share"]
    print(table([*headers, "requests kept", "sent", "sent twice", "thought ahead", "dropped"], rows))
    same = len({run["events_sha256"] for each in runs.values() for run in each}) == 1
    print(f"\nevery window wrote {'the same events' if same else 'DIFFERENT events'}")
    common.write_figures(args.json, runs=runs)
    return 0 if same else 1


def name(window: int | None) -> str:
    """A window as the table shows it."""
    return "none" if window is None else str(window)


if __name__ == "__main__":
    sys.exit(main())

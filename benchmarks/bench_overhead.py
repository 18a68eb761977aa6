"""Framework overhead with an instant model: 25 and 1,000 people for one simulated day.

Each run goes through the real path of ``hamlet run WORLD --llm scripted`` (the lines of
``sim.run.session.run_world``, reproduced here so the benchmark can read the gateway's statistics),
in a fresh child process so that peak memory is measured per run. The scripted model answers
at once (latency 0) in its own process.

Figures, per town size (medians over the repeats):

- whole run: load and validate the world, start the model server, create the run file, set up
  the minds, run, drain the log, summarise (what ``hamlet run`` does); and the same plus the
  interpreter's start and imports ("command").
- run loop: the wall time of ``Simulation.run`` alone.
- gateway overhead per call: ``Gateway.stats.overheads`` (time in the gateway itself, not
  waiting for a slot, the model or a backoff), median and p95 over all calls of the run.
- engine time per person: (run loop - union of the intervals in which a model call was in
  flight) / people; the intervals come from the run file's ``llm_call`` rows.
- CPU per person: CPU seconds of the engine process during the run loop / people (includes the
  OpenAI client's own work, which the "model wait" intervals hide).

Targets: gateway overhead median <= 1 ms; engine time per person at 1,000 people <= 1.5 x that
at 25; 1,000 people x 1 day in <= 10 minutes and <= 4 GB peak RSS.

    python benchmarks/bench_overhead.py                  # 25 people x 5 runs, 1,000 x 3
    python benchmarks/bench_overhead.py --people 25 100 --repeats 3
    python benchmarks/bench_overhead.py --profile 1000   # one profiled run, top functions
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

TARGET_OVERHEAD_MS = 1.0
TARGET_RATIO = 1.5
TARGET_WALL_S = 600.0
TARGET_RSS_MB = 4096.0


# -- the driver -------------------------------------------------------------------------


def measure(
    people: int,
    repeats: int,
    folder: Path,
    hours: float,
    concurrency: int | None,
    timeout: float,
    town: dict[str, Any],
    schedule: str = "lookahead",
) -> list[dict[str, Any]]:
    """Run the town of ``people`` ``repeats`` times, each in its own process."""
    from towns import write_town

    world = write_town(folder, people, **town)
    results = []
    for index in range(repeats):
        out = folder / f"run{people}-{index}.db"
        args = [str(common.ROOT / "benchmarks" / "runner.py"), str(world), "--out", str(out), "--hours", str(hours)]
        if concurrency:
            args += ["--concurrency", str(concurrency)]
        args += ["--schedule", schedule]
        t0 = time.perf_counter()
        result = common.run_child(args, timeout)
        result["command_s"] = time.perf_counter() - t0
        results.append(result)
        for leftover in folder.glob(out.name + "*"):
            leftover.unlink()
        print(
            f"  {people} people, run {index + 1}/{repeats}: whole run {result['run_s']:.2f} s, "
            f"loop {result['loop_s']:.2f} s, overhead median {result['overhead_median_ms']:.3f} ms",
            file=sys.stderr,
            flush=True,
        )
    return results


def report(results: dict[int, list[dict[str, Any]]]) -> str:
    """The tables: one column per town size, medians over the repeats, targets and verdicts."""
    sizes = sorted(results)
    med = {
        n: {key: median(r[key] for r in runs) for key in runs[0] if isinstance(runs[0][key], int | float)}
        for n, runs in results.items()
    }
    rows: list[list[Any]] = []

    def row(label: str, key: str, unit: str = "", target: str = "", check: Any = None) -> None:
        values = [med[n][key] for n in sizes]
        checked = [] if check is None else [check(n, med[n][key]) for n in sizes]
        checked = [c for c in checked if c is not None]
        ok = all(checked) if checked else None
        rows.append([label + (f" ({unit})" if unit else ""), *values, target, verdict(ok) if target else "-"])

    rows.append(["runs (repeats)", *[len(results[n]) for n in sizes], "", "-"])
    row("events", "events")
    row("ticks", "ticks")
    row("LLM calls (rows in llm_call)", "llm_rows")
    row("LLM requests served", "llm_requests")
    row("most requests in flight", "max_in_flight")
    row("whole command, incl. Python start", "command_s", "s")
    row(
        "whole run (hamlet run's work)",
        "run_s",
        "s",
        "<= 600 s at 1,000",
        lambda n, v: v <= TARGET_WALL_S if n >= 1000 else None,
    )
    row("  load + validate world", "load_s", "s")
    row("  model server + run file", "server_and_file_s", "s")
    row("  set up people and minds (begin)", "begin_s", "s")
    row("  run loop (Simulation.run)", "loop_s", "s")
    row("  drain log at close", "drain_s", "s")
    row("  summary (hamlet show)", "summary_s", "s")
    row("model wait, union of intervals", "model_wait_union_s", "s")
    row(
        "gateway overhead per call, median", "overhead_median_ms", "ms", "<= 1 ms", lambda n, v: v <= TARGET_OVERHEAD_MS
    )
    row("gateway overhead per call, p95", "overhead_p95_ms", "ms")
    row("engine time per person", "engine_ms_per_person", "ms")
    row("CPU per person in the run loop", "cpu_ms_per_person", "ms")
    row("events/s in the run loop", "events_per_s")
    row("peak RSS, engine process", "rss_self_mb", "MB")
    row("peak RSS, model server", "rss_model_server_mb", "MB")
    row(
        "peak RSS, both",
        "rss_total_mb",
        "MB",
        "<= 4 GB at 1,000",
        lambda n, v: v <= TARGET_RSS_MB if n >= 1000 else None,
    )
    row("run file size", "file_mb", "MB")
    text = table(["figure", *[f"{n:,} people" for n in sizes], "target", "verdict"], rows)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        lines = ["", f"per-person cost, {large:,} vs {small:,} people (medians; target <= {TARGET_RATIO} x):"]
        ratio_rows = []
        for label, key in (
            ("engine time per person", "engine_ms_per_person"),
            ("CPU per person in the run loop", "cpu_ms_per_person"),
            ("whole run per person", "run_per_person_ms"),
        ):
            ratio = med[large][key] / med[small][key]
            target = key == "engine_ms_per_person"
            ratio_rows.append(
                [
                    label,
                    med[small][key],
                    med[large][key],
                    ratio,
                    f"<= {TARGET_RATIO}" if target else "",
                    verdict(ratio <= TARGET_RATIO) if target else "-",
                ]
            )
        lines.append(table(["figure (ms)", f"{small:,}", f"{large:,}", "ratio", "target", "verdict"], ratio_rows))
        text += "\n" + "\n".join(lines)
    return text


def profile(people: int, folder: Path, hours: float, top: int, part: str, town: dict[str, Any]) -> None:
    """One run of the town of ``people`` under cProfile, in this process; prints the top functions.

    ``part`` is ``run`` (everything ``hamlet run`` does) or ``loop`` (the run loop only).
    """
    import cProfile
    import pstats

    from runner import measured_run
    from towns import write_town

    world = write_town(folder, people, **town)
    profiler = cProfile.Profile()
    if part == "loop":
        result = measured_run(str(world), str(folder / "profiled.db"), hours=hours, loop_profiler=profiler)
    else:
        profiler.enable()
        result = measured_run(str(world), str(folder / "profiled.db"), hours=hours)
        profiler.disable()
    print(
        f"profiled {part} of {people:,} people (times under the profiler): whole run {result['run_s']:.1f} s, "
        f"run loop {result['loop_s']:.1f} s"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--people", type=int, nargs="+", default=[25, 1000], help="town sizes (default: 25 1000)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs per town size (default: 5 below 500 people, 3 from 500 on)"
    )
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours per run (default: 24)")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="LLM calls in flight (default: the scripted backend's)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    parser.add_argument("--profile", type=int, metavar="PEOPLE", help="profile one run of PEOPLE people instead")
    parser.add_argument(
        "--profile-part",
        choices=("run", "loop"),
        default="run",
        help="--profile the whole run (default) or the run loop only",
    )
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    parser.add_argument(
        "--one-cafe", action="store_true", help="one café for the whole town (crowded: hundreds in one place at lunch)"
    )
    parser.add_argument(
        "--schedule", choices=("lookahead", "speculate", "barrier"), default="lookahead", help="the runs' schedule"
    )
    parser.add_argument(
        "--mind", choices=("schedule", "generative"), default="schedule", help="everyone's mind (default: schedule)"
    )
    args = parser.parse_args(argv)

    town: dict[str, Any] = {"cafes": 1} if args.one_cafe else {}
    if args.mind != "schedule":
        town["mind"] = args.mind
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        if args.profile:
            profile(args.profile, Path(tmp), args.hours, args.top, args.profile_part, town)
            return 0
        print(common.machine_line(), flush=True)
        results: dict[int, list[dict[str, Any]]] = {}
        for people in args.people:
            repeats = args.repeats or (5 if people < 500 else 3)
            results[people] = measure(
                people, repeats, Path(tmp), args.hours, args.concurrency, args.timeout, town, args.schedule
            )
            for r in results[people]:
                r["rss_total_mb"] = r["rss_self_mb"] + r["rss_model_server_mb"]
                r["run_per_person_ms"] = r["run_s"] / r["people"] * 1000
    kind = "one café for all" if args.one_cafe else "one café per 100 people"
    print(
        f"\nbench_overhead: scripted model at latency 0, {args.hours:g} simulated hours, {kind}, {args.mind} minds, "
        f"--schedule {args.schedule}, medians over the runs"
    )
    print(report(results))
    common.write_figures(args.json, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

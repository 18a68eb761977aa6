"""Latency hiding: 25 people for one simulated day against the scripted model at 200 ms a call.

The town is ``benchmarks/towns.py``'s with every person on the generative mind (all components
on: day plans, decomposition, importance, reflection, reactions, re-plans, conversations), the
workload whose latency matters; ``--mind schedule`` measures the one-call-a-day schedule mind.

The engine should keep a tick's calls in flight together, so that a run costs about the
longest chain of sequential calls in each tick, not the number of calls. The chain is counted
by the gateway along each task's causal chain (``Stats.chains``): a person's calls within a tick
follow one another, a conversation's turns follow one another, and branches started together by
``asyncio.gather`` (people deciding, the two partners remembering a conversation) do not add up;
the longest per tick, summed over ticks, is the least number of round trips any engine would need.

    ratio = run loop wall time / (chain x 200 ms)          target <= 1.2

The same world is then run with ``--concurrency 1`` (one call in flight at a time), whose
ideal is (requests x 200 ms); the speed-up is the run loop at concurrency 1 / the run loop at
the default concurrency. Two wall times are given for the default concurrency, labelled:

- run loop: ``Simulation.run`` alone, measured in the process (benchmarks/runner.py);
- whole command: ``python -m sim run WORLD --llm scripted --llm-latency-ms 200 --quiet`` as a
  child process, from start to exit: interpreter start, imports, world check, model server
  start, run file, run, summary.

    python benchmarks/bench_latency.py                       # 3 runs of each
    python benchmarks/bench_latency.py --people 100 --latency-ms 50 --repeats 3
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

TARGET_RATIO = 1.2


def loop_run(
    world: Path, folder: Path, name: str, latency_ms: float, concurrency: int | None, timeout: float
) -> dict[str, Any]:
    """One measured run (benchmarks/runner.py) in a fresh process."""
    out = folder / f"{name}.db"
    args = [
        str(common.ROOT / "benchmarks" / "runner.py"),
        str(world),
        "--out",
        str(out),
        "--latency-ms",
        str(latency_ms),
    ]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    result = common.run_child(args, timeout)
    for leftover in folder.glob(out.name + "*"):
        leftover.unlink()
    return result


def command_run(
    world: Path, folder: Path, name: str, latency_ms: float, concurrency: int | None, timeout: float
) -> float:
    """Wall seconds of the real command ``python -m sim run ... --llm scripted``, start to exit."""
    out = folder / f"{name}.db"
    options = ["--concurrency", str(concurrency)] if concurrency else []
    wall = common.run_hamlet(common.run_args(world, out, *options, latency_ms=latency_ms), timeout)
    for leftover in folder.glob(out.name + "*"):
        leftover.unlink()
    return wall


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--people", type=int, default=25, help="town size (default: 25)")
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default: 24)")
    parser.add_argument("--latency-ms", type=float, default=200.0, help="scripted model delay per reply (default: 200)")
    parser.add_argument(
        "--mind",
        choices=["generative", "schedule"],
        default="generative",
        help="the mind everyone runs (default: generative)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each kind (default: 3)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one run may take")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    args = parser.parse_args(argv)

    from towns import write_town

    print(common.machine_line(), flush=True)
    latency = args.latency_ms / 1000
    modes: dict[str, int | None] = {"default": None, "1": 1}
    loops: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    commands: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        folder = Path(tmp)
        world = write_town(folder, args.people, hours=args.hours, mind=args.mind)
        for index in range(args.repeats):
            for mode, limit in modes.items():  # interleaved, so drifts of the machine hit both alike
                run = loop_run(world, folder, f"loop-{mode}-{index}", args.latency_ms, limit, args.timeout)
                loops[mode].append(run)
                if limit is None:  # the command's start-up is the same at any concurrency
                    commands[mode].append(
                        command_run(world, folder, f"cmd-{mode}-{index}", args.latency_ms, limit, args.timeout)
                    )
                print(
                    f"  run {index + 1}/{args.repeats}, concurrency {run['concurrency']}: run loop "
                    f"{run['loop_s']:.3f} s" + (f", whole command {commands[mode][-1]:.2f} s" if limit is None else ""),
                    file=sys.stderr,
                    flush=True,
                )

    def med(mode: str, key: str) -> float:
        return median(r[key] for r in loops[mode])

    chain = med("default", "chain_calls")
    requests = med("1", "llm_requests")
    ideal = {"default": chain * latency, "1": requests * latency}
    loop_wall = {m: med(m, "loop_s") for m in modes}
    command_wall = {"default": median(commands["default"])}
    ratio = loop_wall["default"] / ideal["default"]
    rows: list[list[Any]] = [
        ["concurrency limit", loops["default"][0]["concurrency"], 1, "", "-"],
        ["people", args.people, args.people, "", "-"],
        ["events", med("default", "events"), med("1", "events"), "", "-"],
        ["ticks", med("default", "ticks"), med("1", "ticks"), "", "-"],
        ["ticks with LLM calls", med("default", "ticks_with_calls"), med("1", "ticks_with_calls"), "", "-"],
        ["LLM requests sent", med("default", "llm_requests"), requests, "", "-"],
        ["most requests in flight (server)", med("default", "max_in_flight"), med("1", "max_in_flight"), "", "-"],
        ["longest chain, summed over ticks (calls)", chain, med("1", "chain_calls"), "", "-"],
        ["ideal wall (s)", ideal["default"], ideal["1"], "", "-"],
        ["run loop wall (s)", loop_wall["default"], loop_wall["1"], "", "-"],
        [
            "run loop / ideal",
            ratio,
            loop_wall["1"] / ideal["1"],
            f"<= {TARGET_RATIO} (default)",
            verdict(ratio <= TARGET_RATIO),
        ],
        ["whole command wall, incl. start-up (s)", command_wall["default"], "", "", "-"],
        ["where the run loop goes:", "", "", "", ""],
        [
            "  first request sent, after loop start (ms)",
            med("default", "first_request_after_ms"),
            med("1", "first_request_after_ms"),
            "",
            "-",
        ],
        [
            "  calls in flight: union of intervals (s)",
            med("default", "model_wait_union_s"),
            med("1", "model_wait_union_s"),
            "",
            "-",
        ],
        [
            "  no call in flight: loop - union (s)",
            med("default", "loop_s") - med("default", "model_wait_union_s"),
            med("1", "loop_s") - med("1", "model_wait_union_s"),
            "",
            "-",
        ],
        [
            "  call latency as logged, median (ms)",
            med("default", "call_latency_median_ms"),
            med("1", "call_latency_median_ms"),
            "",
            "-",
        ],
        [
            "  call latency as logged, max (ms)",
            med("default", "call_latency_max_ms"),
            med("1", "call_latency_max_ms"),
            "",
            "-",
        ],
        [
            "  gateway overhead per call, median (ms)",
            med("default", "overhead_median_ms"),
            med("1", "overhead_median_ms"),
            "",
            "-",
        ],
        ["  CPU of the engine process in the loop (s)", med("default", "loop_cpu_s"), med("1", "loop_cpu_s"), "", "-"],
    ]
    print(
        f"\nbench_latency: {args.people} people on the {args.mind} mind x {args.hours:g} simulated hours, scripted model at "
        f"{args.latency_ms:g} ms a call, medians over {args.repeats} runs of each"
    )
    print(table(["figure", "default concurrency", "concurrency 1", "target", "verdict"], rows))
    speed_loop = loop_wall["1"] / loop_wall["default"]
    print()
    print(table(["speed-up of the default concurrency over concurrency 1", "x"], [["run loop", speed_loop]]))
    common.write_figures(args.json, loops=loops, commands=commands)
    return 0


if __name__ == "__main__":
    sys.exit(main())

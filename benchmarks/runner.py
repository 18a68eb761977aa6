"""One measured run of a world with the scripted model, through the real path of ``hamlet run``.

``measured_run`` does what ``sim.run.session.run_world`` does (the same calls, in the same order:
load and check the world, start the backend, preflight, create the run file, set up the
simulation, run, drain the log, summarise), and keeps hold of the ``Simulation`` and its
``Gateway`` so that their figures can be read. Nothing in ``sim`` is patched.

Run it in a fresh process so that peak memory belongs to one run:

    python benchmarks/runner.py WORLD.yaml --out RUN.db [--latency-ms 200] [--concurrency N]

prints one JSON object of figures on its last line (``common.run_child`` reads it).
"""

from __future__ import annotations

import time

_BEGAN = time.perf_counter()

import argparse  # noqa: E402  (the clock above starts before the imports it measures)
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

logging.basicConfig(level=logging.WARNING)  # as the CLI does, before wordllama's import sets INFO

import common  # noqa: E402,F401  (puts the repository first on sys.path)
from common import median, percentile, union_seconds  # noqa: E402


def measured_run(
    world: str,
    out: str,
    *,
    hours: float | None = None,
    latency_ms: float = 0.0,
    concurrency: int | None = None,
    schedule: str = "lookahead",
    loop_profiler: Any = None,
) -> dict[str, Any]:
    """Run ``world`` like ``hamlet run WORLD --llm scripted --quiet`` and return its figures.

    ``loop_profiler`` (a ``cProfile.Profile``), if given, is enabled around the run loop only.
    """
    import asyncio
    import resource
    import sqlite3
    import urllib.request
    from datetime import datetime

    import agents  # noqa: F401  (registers the minds, as the CLI does)
    from sim.core.simtime import RunTime, iso
    from sim.llm.backends import LLMOptions, open_backend
    from sim.run import session
    from sim.run.build import prepare, run_options, simulation
    from sim.runfile import queries as runfile
    from sim.runfile.log import Batch, RunLog
    from sim.runfile.queries import RunRow
    from sim.runfile.reader import RunReader
    from sim.worldfile.scenario import load_scenario

    imported = time.perf_counter()
    opts = session.RunOptions(
        hours=hours,
        out=out,
        quiet=True,
        llm=LLMOptions(llm="scripted", concurrency=concurrency, latency_ms=latency_ms),
        schedule=schedule,
    )
    world_path = Path(world)
    scenario = load_scenario(world_path)
    seed = scenario.seed
    end = session.end_second(scenario, scenario.start, opts, scenario.hours)
    path = session.out_path(world_path, seed, opts.out)
    prepare(scenario, opts.settings, task_source=str(world_path), model=opts.llm.model)
    loaded = time.perf_counter()
    with open_backend(opts.llm, scenario.model, seed) as backend:
        asyncio.run(session.preflight_run(backend, scenario))
        options = run_options(opts.llm, backend, None, [])
        engine = runfile.create(
            path,
            RunRow(
                scenario.name,
                str(world_path),
                world_path.read_text(encoding="utf-8"),
                seed,
                options,
                iso(scenario.start),
                iso(RunTime(scenario.start).when(end)),
                iso(scenario.start),
            ),
        )
        log = RunLog(engine)
        sim = simulation(scenario, log, backend, seed=seed, budget_usd=None)
        gateway = sim.gateway
        started = time.perf_counter()
        sim.begin()
        begun = time.perf_counter()
        loop: dict[str, float] = {}

        async def run() -> str:
            cpu0, t0 = time.process_time(), time.perf_counter()
            loop["start_epoch"] = time.time()
            if loop_profiler is not None:
                loop_profiler.enable()
            try:
                return await sim.run(end)
            finally:
                if loop_profiler is not None:
                    loop_profiler.disable()
                loop["wall"] = time.perf_counter() - t0
                loop["cpu"] = time.process_time() - cpu0
                await gateway.aclose()

        status = asyncio.run(run())
        ran = time.perf_counter()
        with urllib.request.urlopen(backend.endpoint.base_url.rstrip("/") + "/hamlet/stats") as reply:
            served = json.load(reply)
        log.submit(Batch(run={"status": status, "message": ""}))
        log.close()
        closed = time.perf_counter()
    with RunReader(path) as reader:
        summary = reader.summary()
    finished = time.perf_counter()

    # Requests actually sent: every attempt except answers from the cache and declared fallbacks.
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT tick, person, wall_time, latency_ms FROM llm_call WHERE status NOT IN ('cached', 'fallback')"
    ).fetchall()
    db.close()
    # The longest chain of requests that waited for one another, per tick, as the gateway counted
    # them along each task's causal chain (a person's calls in turn; a conversation's turns).
    longest = gateway.stats.chains
    intervals = []
    for _, _, wall_time, latency_ms_row in rows:
        stop = datetime.fromisoformat(wall_time).timestamp()
        intervals.append((stop - latency_ms_row / 1000, stop))
    waited = union_seconds(intervals)
    latencies = [row[3] for row in rows]
    first_request = min((start for start, _ in intervals), default=float("nan"))
    overheads = [s * 1000 for s in gateway.stats.overheads]
    people = len(scenario.people)
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size = path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(path.name + "-*"))
    return {
        "people": people,
        "status": status,
        "events": sim.seq,
        "ticks": sim.tick,
        "llm_rows": summary["llm_calls"],
        "llm_requests": served["requests"],
        "max_in_flight": served["max_in_flight"],
        "concurrency": backend.concurrency,
        "latency_ms": latency_ms,
        "ticks_with_calls": len(longest),
        "chain_calls": sum(longest.values()),
        "imports_s": imported - _BEGAN,
        "load_s": loaded - imported,
        "server_and_file_s": started - loaded,
        "begin_s": begun - started,
        "loop_s": loop["wall"],
        "loop_cpu_s": loop["cpu"],
        "drain_s": closed - ran,
        "summary_s": finished - closed,
        "run_s": finished - imported,
        "model_wait_union_s": waited,
        "model_wait_sum_s": gateway.stats.model_wait_s,
        "call_latency_median_ms": median(latencies),
        "call_latency_max_ms": max(latencies, default=float("nan")),
        "first_request_after_ms": (first_request - loop["start_epoch"]) * 1000,
        "overhead_median_ms": median(overheads),
        "overhead_p95_ms": percentile(overheads, 0.95),
        "overhead_n": len(overheads),
        "engine_ms_per_person": (loop["wall"] - waited) / people * 1000,
        "cpu_ms_per_person": loop["cpu"] / people * 1000,
        "events_per_s": sim.seq / loop["wall"],
        "rss_self_mb": self_rss,
        "rss_model_server_mb": child_rss,
        "file_mb": size / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("world", help="world file (YAML)")
    parser.add_argument("--out", required=True, help="run file to create")
    parser.add_argument("--hours", type=float, help="simulated hours (default: the world's)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="scripted model: delay per reply")
    parser.add_argument("--concurrency", type=int, help="LLM calls in flight (default: the backend's)")
    parser.add_argument("--schedule", default="lookahead", help="how the run takes its ticks (default: lookahead)")
    args = parser.parse_args(argv)
    figures = measured_run(
        args.world,
        args.out,
        hours=args.hours,
        latency_ms=args.latency_ms,
        concurrency=args.concurrency,
        schedule=args.schedule,
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

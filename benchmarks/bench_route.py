"""Many model servers: what routing costs a call, and a run that loses one of its servers.

1. *Routing overhead*: ``RoutingTransport.send`` over three servers that answer at once (in
   process, no HTTP), against the same server's ``send`` called directly, for calls from 1,000
   people; the difference per call is what routing adds (ranking the person's servers, the
   server's slot, the reply stamped with its server). Also with one server gone (its people's
   calls pass it over to the next). Medians of ``--repeats`` runs of ``--calls`` calls each.
2. *A server killed mid-run*: ``worlds/smallville.yaml`` for ``--hours`` on three scripted model
   servers (``--endpoint URL,concurrency=4`` each, ``--llm-latency-ms`` per reply), the one most
   people rank first killed once it has answered 10 calls; the run's status, its calls, the
   failovers recorded and each server's figures as ``hamlet show --json`` gives them.

    python benchmarks/bench_route.py                 # about 30 s
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

from sim.llm.route import RoutingTransport
from sim.llm.transport import Reply, Request, Unreachable

TARGET_MS = 0.1


class Instant:
    """A server that answers every request at once, or refuses the connection when ``gone``."""

    def __init__(self) -> None:
        self.gone = False
        self.reply = Reply("{}", 1, 1)

    async def send(self, request: Request) -> Reply:
        if self.gone:
            raise Unreachable("APIConnectionError: Connection error.")
        return self.reply

    async def aclose(self) -> None:
        pass


def overhead(calls: int, gone: bool) -> float:
    """Microseconds routing adds to a call: routed calls minus direct calls, per call."""
    servers = [Instant() for _ in range(3)]
    router = RoutingTransport([(f"http://10.0.0.{i}:8000/v1", s, 8) for i, s in enumerate(servers)])
    requests = [Request("m", [], None, {}, "k", f"Person {i % 1000}") for i in range(calls)]
    for request in requests[:1000]:
        router.rank(request.affinity)  # each person's ranking is made once; a run makes it at the first call
    if gone:
        servers[0].gone = True

    async def direct() -> float:
        began = time.perf_counter()
        for request in requests:
            await servers[1].send(request)
        return time.perf_counter() - began

    async def routed() -> float:
        began = time.perf_counter()
        for request in requests:
            await router.send(request)
        return time.perf_counter() - began

    async def both() -> float:
        if gone:
            await router.send(requests[0])  # marks the gone server down, as the first failed call does
        return (await routed() - await direct()) / calls * 1e6

    return asyncio.run(both())


def killed_run(hours: float, latency_ms: float, folder: Path) -> dict[str, Any]:
    """Run the town on three scripted servers, kill the busiest once it has answered 10 calls; the outcome."""
    from sim.llm.scripted import ScriptConfig, ScriptedProcess
    from sim.worldfile.scenario import load_scenario

    servers = [ScriptedProcess(ScriptConfig(seed=1, latency_ms=latency_ms)) for _ in range(3)]
    out = folder / "killed.db"
    try:
        ranks = RoutingTransport([(s.base_url, Instant(), 4) for s in servers])
        people = load_scenario(common.ROOT / "worlds" / "smallville.yaml").people
        busiest = Counter(ranks.rank(p.name)[0].name for p in people).most_common(1)[0][0]
        victim = next(s for s in servers if s.base_url == busiest)
        began = time.perf_counter()
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sim",
                "run",
                "worlds/smallville.yaml",
                "--hours",
                str(hours),
                "--llm",
                "openai",
                "--model",
                "scripted",
                "--out",
                str(out),
                "--quiet",
                *[a for s in servers for a in ("--endpoint", f"{s.base_url},concurrency=4")],
            ],
            cwd=common.ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        killed_after = None
        while run.poll() is None:
            time.sleep(0.05)
            if killed_after is None and out.exists() and _answered(out, victim.base_url) >= 10:
                victim.stop()
                killed_after = time.perf_counter() - began
        _, err = run.communicate()
        wall = time.perf_counter() - began
        if run.returncode != 0:
            raise RuntimeError(err[-2000:])
    finally:
        for server in servers:
            server.stop()
    shown = subprocess.run(
        [sys.executable, "-m", "sim", "show", str(out), "--json"],
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(shown.stdout)
    db = sqlite3.connect(out)
    moved = db.execute("SELECT COUNT(*) FROM llm_call WHERE failovers != '[]'").fetchone()[0]
    db.close()
    return {
        "status": summary["status"],
        "calls": summary["llm_calls"],
        "fallbacks": summary["fallbacks"],
        "moved": moved,
        "wall_s": wall,
        "killed_after_s": killed_after,
        "victim": victim.base_url,
        "endpoints": summary["endpoints"],
    }


def _answered(path: Path, server: str) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM llm_call WHERE endpoint = ?", (server,)).fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--calls", type=int, default=100_000, help="calls per overhead run (default: 100,000)")
    parser.add_argument("--repeats", type=int, default=5, help="overhead runs (default: 5)")
    parser.add_argument("--hours", type=float, default=3.0, help="simulated hours of the killed run (default: 3)")
    parser.add_argument(
        "--latency-ms", type=float, default=40.0, help="scripted servers' delay per reply (default: 40)"
    )
    args = parser.parse_args(argv)
    print(common.machine_line(), flush=True)
    healthy = median(overhead(args.calls, False) for _ in range(args.repeats))
    one_gone = median(overhead(args.calls, True) for _ in range(args.repeats))
    print(
        f"\nbench_route: routing overhead over 3 servers, {args.calls:,} calls from 1,000 people, "
        f"medians of {args.repeats} runs"
    )
    print(
        table(
            ["figure", "value", "target", "verdict"],
            [
                [
                    "routing overhead per call, all servers up (ms)",
                    healthy / 1000,
                    f"<= {TARGET_MS}",
                    verdict(healthy / 1000 <= TARGET_MS),
                ],
                [
                    "routing overhead per call, one server gone (ms)",
                    one_gone / 1000,
                    f"<= {TARGET_MS}",
                    verdict(one_gone / 1000 <= TARGET_MS),
                ],
            ],
        )
    )
    with tempfile.TemporaryDirectory(prefix="hamlet-route-") as tmp:
        run = killed_run(args.hours, args.latency_ms, Path(tmp))
    print(
        f"\nsmallville.yaml, {args.hours:g} simulated hours on 3 scripted servers ({args.latency_ms:g} ms a reply, "
        f"concurrency 4 each), {run['victim']} killed {run['killed_after_s']:.1f} s in, after 10 answers"
    )
    print(
        table(
            ["figure", "value"],
            [
                ["status", run["status"]],
                ["LLM calls", run["calls"]],
                ["fallbacks", run["fallbacks"]],
                ["attempts that failed over (rows with failovers)", run["moved"]],
                ["wall time (s)", run["wall_s"]],
            ],
        )
    )
    print()
    print(
        table(
            [
                "server",
                "calls",
                "prompt tokens",
                "completion tokens",
                "errors",
                "failovers away",
                "median latency (ms)",
            ],
            [
                [
                    url,
                    e["calls"],
                    e["prompt_tokens"],
                    e["completion_tokens"],
                    e["errors"],
                    e["failovers"],
                    e["median_latency_ms"],
                ]
                for url, e in run["endpoints"].items()
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

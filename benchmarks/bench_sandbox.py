"""Sandbox overhead: start-to-exit of a trivial program, sandboxed and plain, side by side.

The program is ``print("hi")`` in ``main.py``. Sandboxed: ``run_program({"main.py": ...})``
with the default limits and the strongest isolation this machine allows (and, for reference,
best-effort), from the call until the ``Outcome`` is back: the launcher, the namespaces, the
read-only root, the limits, the program, the kill of strays and the report. Plain: the same
file in a temporary folder, ``subprocess.run([sys.executable, "-I", "main.py"])`` with its
output captured, from the call until it returns. The kinds are interleaved, so drifts of the
machine hit them alike; one warm-up run each is not counted.

Target: the sandboxed median is at most 100 ms above the plain median.

    python benchmarks/bench_sandbox.py
    python benchmarks/bench_sandbox.py --runs 100 --json sandbox.json
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import common
from common import median, percentile, table, verdict

TARGET_OVERHEAD_MS = 100.0
PROGRAM = 'print("hi")\n'


def timed(action: Callable[[], object]) -> float:
    """Milliseconds ``action`` takes."""
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--runs", type=int, default=50, help="runs of each kind (default: 50)")
    parser.add_argument("--json", metavar="FILE", help="also write every run's figures to FILE")
    args = parser.parse_args(argv)

    print(common.machine_line(), flush=True)
    from sim.teams.sandbox import Limits, available_isolation, run_program

    isolation = available_isolation()
    best_effort = Limits(isolation="best-effort")

    def sandboxed() -> None:
        outcome = run_program({"main.py": PROGRAM})
        assert outcome.ok and outcome.stdout == "hi\n", outcome

    def sandboxed_best_effort() -> None:
        outcome = run_program({"main.py": PROGRAM}, limits=best_effort)
        assert outcome.ok and outcome.stdout == "hi\n", outcome

    with tempfile.TemporaryDirectory(prefix="hamlet-bench-") as tmp:
        Path(tmp, "main.py").write_text(PROGRAM)

        def plain() -> None:
            proc = subprocess.run([sys.executable, "-I", "main.py"], cwd=tmp, capture_output=True, check=True)
            assert proc.stdout == b"hi\n"

        kinds: dict[str, Callable[[], None]] = {"plain subprocess": plain, f"sandbox ({isolation})": sandboxed}
        if isolation != "best-effort":
            kinds["sandbox (best-effort)"] = sandboxed_best_effort
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        for action in kinds.values():
            action()  # warm-up: page cache, the launcher's compiled code, the isolation probe
        for index in range(args.runs):
            for kind, action in kinds.items():
                times[kind].append(timed(action))
            if (index + 1) % 10 == 0:
                print(f"  {index + 1}/{args.runs} runs", file=sys.stderr, flush=True)

    plain_ms = median(times["plain subprocess"])
    rows = []
    for kind, values in times.items():
        overhead = median(values) - plain_ms
        is_target = kind == f"sandbox ({isolation})"
        rows.append(
            [
                kind,
                median(values),
                percentile(values, 0.9),
                min(values),
                max(values),
                overhead if kind != "plain subprocess" else "",
                f"<= {TARGET_OVERHEAD_MS:.0f} ms" if is_target else "-",
                verdict(overhead <= TARGET_OVERHEAD_MS) if is_target else verdict(None),
            ]
        )
    print(f'\nbench_sandbox: start-to-exit of print("hi"), {args.runs} runs of each kind, milliseconds')
    print(table(["kind", "median", "p90", "min", "max", "overhead (median)", "target", "verdict"], rows))
    common.write_figures(args.json, isolation=isolation, runs_ms=times)
    return 0


if __name__ == "__main__":
    sys.exit(main())

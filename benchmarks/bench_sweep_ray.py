"""Sweeps on Ray: a sweep of 8 runs on the local executor and on a local Ray of 2 CPUs, and the cost of a killed task.

The sweep is the README's: ``hamlet sweep worlds/smallville.yaml --seeds 1-4 --set
reaction=on,off --hours 38 --llm scripted --parallel 2`` (nine generative people for 38
simulated hours, 8 runs, two at a time). Each repeat runs it once with ``--executor local`` and
once with ``--executor ray`` (in turn, each a fresh ``hamlet sweep`` command into a fresh folder,
Ray started and stopped by the command), and times the whole command. Then, with Ray, the same
sweep once more while the benchmark kills (SIGKILL) the worker process writing one run (the
run file names its writer) once it has committed a snapshot at or past half its span: Ray
retries the task, which resumes the run from its file.

- *wall time*: the median of the repeats, per executor, and Ray's over the local executor's
  (target: at most 1.15);
- *identical*: ``runs.csv`` and ``sweep.csv`` the same bytes in every sweep, both executors and
  the killed ones included;
- *killed task*: the sweep's wall time with the kill (median), what it adds to Ray's, and the
  simulated time the retry redid (from the snapshot it resumed from to where the kill landed);
- *Ray alone*: ``ray.init(num_cpus=2)`` and ``ray.shutdown()`` with nothing to run, for scale.

    python benchmarks/bench_sweep_ray.py                 # 3 repeats, about 7 minutes on 2 cores
    python benchmarks/bench_sweep_ray.py --repeats 1 --hours 12
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict

TARGET_RATIO = 1.15
KILLED = "reaction-on_seed1.db"  # the run whose worker is killed
_RAY_ALONE = """
import json, logging, time
began = time.perf_counter()
import ray
imported = time.perf_counter()
ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
started = time.perf_counter()
ray.shutdown()
print(json.dumps({"import": imported - began, "init": started - imported, "shutdown": time.perf_counter() - started}))
"""


def sweep_command(out: Path, executor: str, hours: float) -> list[str]:
    """The benchmark's sweep, into ``out``, on ``executor``."""
    return [
        sys.executable,
        "-m",
        "sim",
        "sweep",
        "worlds/smallville.yaml",
        "--seeds",
        "1-4",
        "--set",
        "reaction=on,off",
        "--hours",
        f"{hours:g}",
        "--llm",
        "scripted",
        "--parallel",
        "2",
        "--out",
        str(out),
        "--executor",
        executor,
    ]


def one_sweep(out: Path, executor: str, hours: float, kill: bool, timeout: float) -> dict[str, Any]:
    """Run the sweep once (killing one run's worker at half its span if ``kill``): its wall time and tables."""
    load = os.getloadavg()[0]
    began = time.perf_counter()
    proc = subprocess.Popen(
        sweep_command(out, executor, hours), cwd=common.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    killed: dict[str, Any] = {}
    while kill and not killed and proc.poll() is None and time.perf_counter() - began < timeout:
        killed = _kill_at_half(out / KILLED, hours)
        time.sleep(0.02)
    try:
        _, err = proc.communicate(timeout=max(1.0, timeout - (time.perf_counter() - began)))
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"sweep on {executor} failed ({proc.returncode}):\n{err[-3000:]}")
    if kill and not killed:
        raise RuntimeError(f"{KILLED} ended before it could be killed at half its span")
    # "run 3/8 done: seed=1 reaction=on (12.3 s, resumed from its run file)": each run's own seconds
    took = {
        line.split(": ", 1)[1].rsplit(" (", 1)[0]: line.rsplit(" (", 1)[1]
        for line in err.splitlines()
        if line.startswith("run ") and " done: " in line
    }
    if killed:
        with sqlite3.connect(out / KILLED) as db:
            status = db.execute("SELECT status FROM run").fetchone()[0]
        retry = took.get("seed=1 reaction=on", "")
        killed.update(
            status=status,
            resumed=retry.endswith(", resumed from its run file)"),
            retry_s=float(retry.split(" s", 1)[0]) if retry else float("nan"),
        )
    return {
        "wall": wall,
        "load": load,
        "runs": (out / "runs.csv").read_bytes(),
        "sweep": (out / "sweep.csv").read_bytes(),
        "killed": killed,
        "run_s": [float(t.split(" s", 1)[0]) for t in took.values()],
    }


def _kill_at_half(path: Path, hours: float) -> dict[str, Any]:
    """SIGKILL the process writing ``path`` once it holds a snapshot at or past half the span; what was killed."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
        try:
            snapshot = db.execute("SELECT tick, t FROM snapshot ORDER BY tick DESC LIMIT 1").fetchone()
            writer = db.execute("SELECT value FROM meta WHERE key = 'writer'").fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    if not snapshot or not writer or snapshot[1] < hours * 3600 / 2:
        return {}
    os.kill(int(writer[0].split("@")[0]), signal.SIGKILL)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:  # what the dead process committed
        last = db.execute("SELECT max(t) FROM event").fetchone()[0]
    return {"snapshot_h": snapshot[1] / 3600, "killed_h": max(last, snapshot[1]) / 3600}


def ray_alone(timeout: float) -> dict[str, Any]:
    """Seconds to import Ray, start a local Ray of 2 CPUs and stop it, with nothing to run."""
    return common.run_child(["-c", _RAY_ALONE], timeout)


def main(argv: list[str] | None = None) -> int:
    """Run the sweeps and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--hours", type=float, default=38, help="simulated hours of each run (default: 38)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one sweep may take")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON after the table")
    args = parser.parse_args(argv)
    print(common.machine_line())
    results: dict[str, list[dict[str, Any]]] = {"local": [], "ray": [], "killed": []}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-ray-") as tmp:
        folder = Path(tmp)
        for i in range(args.repeats):
            for name, executor, kill in (("local", "local", False), ("ray", "ray", False), ("killed", "ray", True)):
                print(f"  {name}, {i + 1}/{args.repeats}…", file=sys.stderr, flush=True)
                results[name].append(one_sweep(folder / f"{name}{i}", executor, args.hours, kill, args.timeout))
        alone = [ray_alone(120) for _ in range(args.repeats)]
    load_after = os.getloadavg()[0]
    walls = {name: [r["wall"] for r in rs] for name, rs in results.items()}
    local, ray, killed = (median(walls[name]) for name in ("local", "ray", "killed"))
    ratio = ray / local
    tables = {(r["runs"], r["sweep"]) for rs in results.values() for r in rs}
    kills = [r["killed"] for r in results["killed"]]
    redone = median([k["killed_h"] - k["snapshot_h"] for k in kills])
    rows = [
        [
            "sweep of 8 runs, 2 at a time: wall time, median (s)",
            local,
            ray,
            f"{ratio:.2f}x",
            f"<= {TARGET_RATIO}x",
            verdict(ratio <= TARGET_RATIO),
        ],
        ["  each repeat (s)", _each(walls["local"]), _each(walls["ray"]), "", "", "-"],
        [
            "  a run's own time, median of all (s)",
            median([t for r in results["local"] for t in r["run_s"]]),
            median([t for r in results["ray"] for t in r["run_s"]]),
            "",
            "",
            "-",
        ],
        [
            "  1-minute load average before each",
            _each([r["load"] for r in results["local"]]),
            _each([r["load"] for r in results["ray"]]),
            "",
            "",
            "-",
        ],
        [
            "runs.csv and sweep.csv identical in every sweep (killed ones too)",
            "",
            "yes" if len(tables) == 1 else "NO",
            "",
            "identical",
            verdict(len(tables) == 1),
        ],
        ["a task killed at half its span: sweep wall time, median (s)", "", killed, f"{killed / local:.2f}x", "", "-"],
        ["  each repeat (s); over Ray's median (s)", "", _each(walls["killed"]), f"+{killed - ray:.1f} s", "", "-"],
        [
            "  killed at / resumed from (simulated h), median redone (h)",
            "",
            "; ".join(f"{k['killed_h']:.1f}/{k['snapshot_h']:.0f}" for k in kills),
            f"{redone:.2f} h",
            "",
            "-",
        ],
        [
            "  the killed run's retry, resumed (s); a run's own time, median of all (s)",
            "",
            _each([k["retry_s"] for k in kills]),
            f"{median([t for r in results['ray'] for t in r['run_s']]):.1f} s",
            "",
            "-",
        ],
        [
            "  the killed run finished, resumed from its run file",
            "",
            "yes" if all(k["status"] == "finished" and k["resumed"] for k in kills) else "NO",
            "",
            "yes",
            verdict(all(k["status"] == "finished" and k["resumed"] for k in kills)),
        ],
        [
            "Ray alone: import, start (2 CPUs), stop, median (s)",
            "",
            " / ".join(f"{median([a[k] for a in alone]):.2f}" for k in ("import", "init", "shutdown")),
            "",
            "",
            "-",
        ],
    ]
    print(table(["figure", "local", "ray", "ray / local", "target", "verdict"], rows))
    print(f"load average after the runs: {load_after:.2f}")
    if args.json:
        print(
            json.dumps(
                {
                    "local_s": walls["local"],
                    "ray_s": walls["ray"],
                    "killed_s": walls["killed"],
                    "ratio": ratio,
                    "identical": len(tables) == 1,
                    "kills": kills,
                    "ray_alone": alone,
                }
            )
        )
    return 0


def _each(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())

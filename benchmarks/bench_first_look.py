"""The README's first command on the embedded model: how long a newcomer waits, and whether the town reads.

Runs ``python -m sim run WORLD --hours H --out FILE --quiet`` (the README's first command, run
from a checkout: the embedded llama.cpp model, SmolLM2-135M) as a child process and reports:

- first look: seconds from the command's start to the first thing a person does in the log
  (the first ``act``, ``move`` or ``say``; spawns do not count), and to its exit;
- the calls, prompt and completion tokens, and the model's median latency per call;
- readability (``sim.research.readable.check``): the share of lines said, activities and plan
  items that read as words (an upper bound: the check passes nonsense made of real words), the
  hour plans' median spread over the waking day, and actions in another household's home;
- a random sample of the texts, to read for oneself.

Targets (issue #18): first events within 60 s, done within 4 minutes on 2 cores; sentence share
at least 0.95. Wall-clock figures depend on the machine's load: the load average is printed first.

    python benchmarks/bench_first_look.py                       # the README's command as it is
    python benchmarks/bench_first_look.py --hours 2 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

from sim.research.readable import check, texts

FIRST = "SELECT 1 FROM event WHERE kind IN ('act', 'move', 'say') LIMIT 1"


def first_look(world: Path, hours: float, people: str | None, out: Path) -> dict[str, Any]:
    """Run the command once; the seconds to the first person's event and to the end, and the run's figures."""
    began = time.perf_counter()
    cast = ["--people", people] if people else []
    child = subprocess.Popen(
        [sys.executable, "-m", "sim", "run", str(world), "--hours", str(hours), *cast, "--out", str(out), "--quiet"],
        cwd=common.ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = None
    while child.poll() is None:
        if first is None and out.exists():
            try:
                with sqlite3.connect(f"file:{out}?mode=ro", uri=True, timeout=1) as db:
                    if db.execute(FIRST).fetchone():
                        first = time.perf_counter() - began
            except sqlite3.Error:
                pass  # the file is being created
        time.sleep(0.25)
    wall = time.perf_counter() - began
    if child.returncode != 0:
        raise SystemExit(f"the run failed: {child.stderr.read() if child.stderr else ''}")
    with sqlite3.connect(out) as db:
        calls, prompt, completion = db.execute(
            "SELECT COUNT(DISTINCT cache_key), SUM(prompt_tokens), SUM(completion_tokens) FROM llm_call"
        ).fetchone()
        latencies = [ms for (ms,) in db.execute("SELECT latency_ms FROM llm_call WHERE latency_ms > 0")]
        events = [
            (k, json.loads(d))
            for k, d in db.execute("SELECT kind, data FROM event WHERE kind IN ('say', 'act', 'plan') ORDER BY seq")
        ]
    return {
        "first_event_s": first,
        "wall_s": wall,
        "calls": calls,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "latency_ms_median": common.median(latencies),
        "readable": check(out),
        "texts": list(texts(events)),
    }


def main() -> int:
    """Run the first look ``--repeats`` times; print each run and the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=common.ROOT / "worlds" / "smallville.yaml")
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--people", help="the README's --people (default: the whole world)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--sample", type=int, default=30, help="texts to print for reading (0: none)")
    args = parser.parse_args()
    print(common.machine_line())
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(args.repeats):
            run = first_look(args.world, args.hours, args.people, Path(folder) / f"run{index}.db")
            runs.append(run)
            shares = {k: v["share"] for k, v in run["readable"]["sentences"].items()}
            print(
                f"run {index + 1}: first event {run['first_event_s'] or float('nan'):.1f} s, done {run['wall_s']:.1f} s, "
                f"{run['calls']} calls, {run['prompt_tokens']} prompt + {run['completion_tokens']} completion tokens, "
                f"median call {run['latency_ms_median']:.0f} ms; sentence share {shares}; hour plans' spread "
                f"{run['readable']['plan_spread_median']}; foreign uses {len(run['readable']['foreign_uses'])}"
            )
    if len(runs) > 1:
        print(
            f"medians: first event {common.median(r['first_event_s'] or float('nan') for r in runs):.1f} s, "
            f"done {common.median(r['wall_s'] for r in runs):.1f} s"
        )
    if args.sample:
        sample = random.Random(7).sample(runs[-1]["texts"], min(args.sample, len(runs[-1]["texts"])))
        print(f"\n{len(sample)} texts of the last run, drawn at random (seed 7):")
        for kind, text in sample:
            print(f"  [{kind}] {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Research tools: every metric over a 1,000,000-event run, and a fork at the last hour of a generative day.

Metrics. The run file of ``million.py`` (1,000 people of ``towns.py`` on the ``schedule`` mind,
about 40 simulated days, 1,000,000 events; built once, or reused with ``--file``, never
written to). Its world declares no fact, so the measuring process gives it one (in memory)
whose gathering is the first café's morning of the last day: attendance is then computed over
every stay of the run (the schedule mind keeps no memories, so diffusion finds only the seeded
person). Timed, each in a fresh process:

- *all metrics*: open the file with ``RunMetrics`` and compute everything ``hamlet metrics``
  prints (``sim.research.report.build``: diffusion of each fact and its hourly curve, the knows
  and conversation graphs, density hour by hour, attendance, activity and cost per person, the
  summary), then format it as text;
- *command*: ``python -m sim metrics RUN.db --json`` from start to exit (without the fact).

The same figures for a generative run with memories: the 25-person town of the fork benchmark.

Target: all metrics over the 1,000,000-event run <= 5 s (median).

Fork. ``towns.py``'s 25-person town on the generative mind is recorded for 24 simulated hours
with the scripted model (06:00 to 06:00); then ``python -m sim fork RUN.db --at +23h`` with a
whisper, at the last hour of the day (when everyone sleeps) and, for a busy stretch, at +12h:

- *to reach T*: the fork run only one simulated second past the fork time (``--until``): the
  prefix copied, the newest snapshot before T restored, the rest of the hour redone from the
  recorded replies; wall time of the command;
- *LLM requests before T*: ``llm_call`` rows of the branch at t < T that went to the server
  (``ok``, ``repaired``, ``invalid``, ``error``) beyond those copied from the parent; target 0;
- *whole fork*: the same fork run to the end of the day (the last hour live), and the parent's
  own 24-hour run, for scale.

    python benchmarks/bench_research.py                         # both (about 8 minutes, building included)
    python benchmarks/bench_research.py --only metrics --file /tmp/run1m.db   # reuse bench_tui's file
    python benchmarks/bench_research.py --only fork --repeats 5
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common
from common import median, table, verdict
from million import build_run, file_events

TARGET_METRICS_S = 5.0
FORK_HOURS = (23, 12)  # the last hour of the day (asleep: 05:00), and midday (busy)
SENT = ("ok", "repaired", "invalid", "error")
_CHILD = """
import json, sys, time
began = time.perf_counter()
from sim.research.metrics import RunMetrics
from sim.research import report
from sim.worldfile.scenario import FactSpec
with RunMetrics(sys.argv[1]) as metrics:
    if not metrics.scenario.facts:  # a fact with a gathering, so diffusion and attendance are computed too
        world = metrics.scenario
        day = metrics.when(metrics.end)[:10]
        cafe = next((s.name for s in world.sectors if "caf" in s.kind.lower()), world.sectors[0].name)
        world.facts.append(FactSpec(name="news", text="The square gets a fountain.", keywords=["fountain"],
                                    seeded_to=[world.people[0].name], place=cafe, starts=day + "T07:00",
                                    ends=day + "T10:00"))
    built = report.build(metrics)
    text = report.as_text(built)
print(json.dumps({"s": time.perf_counter() - began, "events": int(built.summary["events"]), "chars": len(text)}))
"""


def time_metrics(path: Path, repeats: int, timeout: float) -> dict[str, Any]:
    """Seconds for all metrics in a fresh process, and for the whole ``hamlet metrics --json`` command."""
    inner, command = [], []
    events = 0
    for _ in range(repeats):
        result = common.run_child(["-c", _CHILD, str(path)], timeout)
        inner.append(result["s"])
        events = result["events"]
        began = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "sim", "metrics", str(path), "--json"],
            cwd=common.ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        command.append(time.perf_counter() - began)
        if proc.returncode != 0:
            raise RuntimeError(f"hamlet metrics failed:\n{proc.stderr[-3000:]}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    memories = int(db.execute("SELECT COUNT(*) FROM memory").fetchone()[0])
    db.close()
    return {"events": events, "memories": memories, "inner": inner, "command": command}


def record_town(folder: Path, timeout: float) -> tuple[Path, float]:
    """A 24-hour scripted run of towns.py's 25-person generative town; its file and wall seconds."""
    from towns import write_town

    world = write_town(folder, 25, hours=24, mind="generative")
    out = folder / "town25.db"
    return out, common.run_hamlet(common.run_args(world, out), timeout)


def one_fork(parent: Path, out: Path, hour: int, until: str | None, timeout: float) -> dict[str, Any]:
    """Fork ``parent`` at ``+hour`` h with a whisper; wall seconds, and the branch's requests before and after T."""
    db = sqlite3.connect(f"file:{parent}?mode=ro", uri=True)
    person = db.execute("SELECT person FROM event WHERE kind = 'spawn' ORDER BY seq LIMIT 1").fetchone()[0]
    db.close()
    args = [
        sys.executable,
        "-m",
        "sim",
        "fork",
        str(parent),
        "--at",
        f"+{hour}h",
        "-o",
        str(out),
        "--quiet",
        "--intervene",
        "whisper",
        "--person",
        person,
        "--text",
        "The square gets a fountain tomorrow.",
    ]
    if until:
        args += ["--until", until]
    began = time.perf_counter()
    proc = subprocess.run(args, cwd=common.ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    t = hour * 3600
    db = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    snapshot_tick = json.loads(db.execute("SELECT options FROM run").fetchone()[0])["fork"]["snapshot_tick"]
    copied = db.execute("SELECT COUNT(*) FROM llm_call WHERE tick <= ?", (snapshot_tick,)).fetchone()[0]
    marks = ",".join("?" * len(SENT))
    before = db.execute(
        f"SELECT COUNT(*) FROM llm_call WHERE id > ? AND t < ? AND status IN ({marks})", (copied, t, *SENT)
    ).fetchone()[0]
    cached = db.execute(
        "SELECT COUNT(*) FROM llm_call WHERE id > ? AND t < ? AND status = 'cached'", (copied, t)
    ).fetchone()[0]
    after = db.execute(
        f"SELECT COUNT(*) FROM llm_call WHERE id > ? AND t >= ? AND status IN ({marks})", (copied, t, *SENT)
    ).fetchone()[0]
    snapshot_t = db.execute(
        "SELECT t FROM snapshot WHERE tick = ? ORDER BY id DESC LIMIT 1", (snapshot_tick,)
    ).fetchone()[0]
    db.close()
    return {"wall": wall, "before": before, "cached": cached, "after": after, "redo_minutes": (t - snapshot_t) / 60}


def fork_benchmark(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Record the town, then fork it at each hour to one second past T and to the end, ``repeats`` times each."""
    print("  recording the 25-person generative town for 24 h…", file=sys.stderr, flush=True)
    parent, recorded_s = record_town(folder, args.timeout)
    forks: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for hour in FORK_HOURS:
        forks[hour] = {"reach": [], "whole": []}
        for i in range(args.repeats):
            print(f"  fork at +{hour}h, {i + 1}/{args.repeats}…", file=sys.stderr, flush=True)
            forks[hour]["reach"].append(
                one_fork(parent, folder / f"reach{hour}-{i}.db", hour, f"+{hour * 3600 + 1}s", args.timeout)
            )
            forks[hour]["whole"].append(one_fork(parent, folder / f"whole{hour}-{i}.db", hour, None, args.timeout))
    print("  metrics of the town…", file=sys.stderr, flush=True)
    town_metrics = time_metrics(parent, args.repeats, args.timeout)
    return {"recorded_s": recorded_s, "forks": forks, "town_metrics": town_metrics}


def fork_rows(hour: int, reach: list[dict[str, Any]], whole: list[dict[str, Any]]) -> list[list[Any]]:
    """Table rows of the forks at one hour."""
    sent = max(r["before"] for r in reach + whole)
    return [
        [
            f"fork at +{hour}h: snapshot to T redone (simulated min), LLM calls answered from the parent",
            f"{median(r['redo_minutes'] for r in reach):.0f}, {median(r['cached'] for r in reach):,}",
            "",
            "-",
        ],
        [f"fork at +{hour}h: to reach T, whole command (s)", median(r["wall"] for r in reach), "", "-"],
        [f"fork at +{hour}h: LLM requests sent before T (max of runs)", sent, "0", verdict(sent == 0)],
        [
            f"fork at +{hour}h run to +24h: whole command (s), requests sent after T",
            f"{median(r['wall'] for r in whole):.1f}, {median(r['after'] for r in whole):,}",
            "",
            "-",
        ],
    ]


def metrics_benchmark(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Build (or reuse) the 1,000,000-event file, then time every metric over it."""
    path = Path(args.file) if args.file else folder / "run1m.db"
    if file_events(path) != args.events:
        for old in path.parent.glob(path.name + "*"):
            old.unlink()
        print(f"  building {path} ({args.events:,} events)…", file=sys.stderr, flush=True)
        build_run(path, args.events, args.people, folder, args.timeout)
    else:
        print(f"  reusing {path}", file=sys.stderr, flush=True)
    print(f"  all metrics, {args.repeats} times…", file=sys.stderr, flush=True)
    return time_metrics(path, args.repeats, args.timeout)


def metrics_rows(name: str, m: dict[str, Any], target: float | None) -> list[list[Any]]:
    """Table rows of one metrics timing."""
    inner = median(m["inner"])
    return [
        [f"{name}: events, memories", f"{m['events']:,}, {m['memories']:,}", "", "-"],
        [
            f"{name}: all metrics (s)",
            inner,
            f"<= {target:g}" if target else "",
            verdict(inner <= target if target else None),
        ],
        [f"{name}: hamlet metrics --json, whole command (s)", median(m["command"]), "", "-"],
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("metrics", "fork"))
    parser.add_argument("--file", help="the 1,000,000-event run file to build or reuse (default: a temp folder)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=1_000, help="people of the run the big file is built from")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    print(common.machine_line())
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="hamlet-bench-research-") as temp:
        folder = Path(temp)
        if args.only in (None, "metrics"):
            rows += metrics_rows("1,000,000-event run", metrics_benchmark(args, folder), TARGET_METRICS_S)
        if args.only in (None, "fork"):
            f = fork_benchmark(args, folder)
            for hour, runs in f["forks"].items():
                rows += fork_rows(hour, runs["reach"], runs["whole"])
            rows += [
                ["the parent's 24-hour run, for scale (s)", f["recorded_s"], "", "-"],
                *metrics_rows("25-person generative day", f["town_metrics"], None),
            ]
    print(table(["figure", "median", "target", "verdict"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Crash harness: kill -9 runs at random points, resume each, and compare the whole log with an
uninterrupted run of the same world.

For each of three worlds (a generative town, a mixed town with unicode names, schedule and
generative minds and every kind of intervention, and a software team whose program runs in the
sandbox) and each model latency, one uninterrupted reference run is recorded. Then each trial
starts the same run, waits until the file holds a random number of events (drawn from the
reference's count, so kills land anywhere from the first commit to the last), sends SIGKILL,
runs ``hamlet resume`` and compares every table of the two files, row by row. Only wall-clock
bookkeeping is left out of the comparison (``WALL_CLOCK``): the moment a row was written and how
long a model call took, which differ between any two runs.

    python benchmarks/crash.py                       # 100 kills: 3 worlds x 0 ms and 50 ms
    python benchmarks/crash.py --kills 12 --seed 3   # a quicker pass

The test suite runs a smaller sample of the same trials (tests/sim/test_crash.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import common  # noqa: E402  (puts the repository first on the import path)

ROOT = common.ROOT
WORLDS_DIR = ROOT / "worlds"

WALL_CLOCK: dict[str, set[str]] = {
    "run": {"created_at", "updated_at"},
    "llm_call": {"latency_ms", "wall_time"},
    "interview": {"wall_time"},
    "control": {"created_at", "wall_time"},
    "rejection": {"created_at", "wall_time"},
}
"""Columns that record when (in real time) something was written or how long it took: left out."""

META_LEFT_OUT = {"writer"}
"""Meta keys that name the writing process (its pid): left out."""


# -- worlds ------------------------------------------------------------------------------


def town(folder: Path) -> tuple[Path, list[str]]:
    """worlds/smallville.yaml as it ships: nine generative people, four simulated hours."""
    return WORLDS_DIR / "smallville.yaml", ["--hours", "4"]


def mixed(folder: Path) -> tuple[Path, list[str]]:
    """The bundled town with schedule and generative minds, unicode names and every intervention kind."""
    data = yaml.safe_load((WORLDS_DIR / "smallville.yaml").read_text(encoding="utf-8"))
    for index, person in enumerate(data["people"]):
        if index % 2:
            person["mind"] = "schedule"
    newcomer = {
        "name": "Zoë Ångström-Łukasiewicz",
        "age": 33,
        "traits": ["curious", "quiet"],
        "occupation": "visiting cartographer",
        "home": "Kettle & Crumb",
        "routine": [
            {"at": "08:00", "do": "sketches the canal", "place": "Canal Green"},
            {"at": "09:00", "do": "asks for directions", "place": "Kettle & Crumb"},
        ],
    }
    guest = dict(newcomer, name="李 小龙", occupation="travelling tea merchant")
    data["people"].append(guest)
    data["interventions"] = [
        {
            "at": "+30m",
            "kind": "whisper",
            "person": data["people"][0]["name"],
            "text": "Psst: the bakery is giving away croissants at nine. — 你好",
        },
        {"at": "+1h", "kind": "add_person", "spec": newcomer},
        {
            "at": "+90m",
            "kind": "inject",
            "place": "Kettle & Crumb",
            "text": "A street band starts playing «Ça plane pour moi» outside the café.",
        },
        {"at": "+2h", "kind": "set_object", "place": "Achterberg House:kitchen", "object": "stove", "state": "broken"},
        {"at": "+150m", "kind": "remove_person", "person": "李 小龙"},
    ]
    path = folder / "mixed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path, ["--hours", "4"]


def team(folder: Path) -> tuple[Path, list[str]]:
    """worlds/software_company.yaml: six role minds, a chat chain, the program run in the sandbox."""
    return WORLDS_DIR / "software_company.yaml", ["--task", "a word counter for text files"]


WORLDS: dict[str, Callable[[Path], tuple[Path, list[str]]]] = {"town": town, "mixed": mixed, "team": team}


# -- one file's whole log ----------------------------------------------------------------


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a run file, in storage order, less the wall-clock columns."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in tables:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            kept = [c for c in columns if c not in WALL_CLOCK.get(table, set())]
            rows = db.execute(f"SELECT {', '.join(kept)} FROM {table} ORDER BY rowid").fetchall()
            if table == "meta":
                rows = [r for r in rows if r[0] not in META_LEFT_OUT]
            out[table] = rows
        return out
    finally:
        db.close()


def differences(expected: dict[str, list[tuple[Any, ...]]], got: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    """One line per table whose rows differ: how many rows each side has and the first that differs."""
    lines = []
    for table in sorted(set(expected) | set(got)):
        a, b = expected.get(table, []), got.get(table, [])
        if a == b:
            continue
        first = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        where = json_difference(a[first], b[first]) if first < min(len(a), len(b)) else None
        lines.append(
            f"{table}: {len(a)} rows expected, {len(b)} found; first difference at row {first}: "
            + (where or f"expected {_row_text(a, first)}, found {_row_text(b, first)}")
        )
    return lines


def _row_text(rows: list[tuple[Any, ...]], index: int) -> str:
    return repr(rows[index])[:300] if index < len(rows) else "(none)"


def json_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, as a path and both values (None when equal)."""
    if isinstance(a, str) and isinstance(b, str) and a[:1] in "{[" and b[:1] in "{[":
        with contextlib.suppress(ValueError):
            a, b = json.loads(a), json.loads(b)
    if type(a) is not type(b):
        return f"{path or '/'}: {repr(a)[:120]} != {repr(b)[:120]}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}/{key}: only in the {'expected' if key in a else 'resumed'} log"
            found = json_difference(a[key], b[key], f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(a, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = json_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None if len(a) == len(b) else f"{path}: {len(a)} items != {len(b)}"
    return None if a == b else f"{path or '/'}: {repr(a)[:120]} != {repr(b)[:120]}"


# -- runs, kills and resumes -------------------------------------------------------------


def run_args(world: Path, extra: list[str], latency_ms: int, out: Path) -> list[str]:
    """The ``hamlet run`` command line of a trial (scripted model, the given latency)."""
    return common.run_command(world, out, *extra, latency_ms=latency_ms)


def count_events(path: Path) -> int:
    """Events the file holds now; 0 while it does not exist yet or is being created."""
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM event").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@dataclass
class Reference:
    """An uninterrupted run of one world at one latency: its file, its log and its size in events."""

    world: str
    latency_ms: int
    path: Path
    command: Callable[[Path], list[str]]  # the run's command line writing to a given file
    log: dict[str, list[tuple[Any, ...]]]
    events: int
    seconds: float


@dataclass
class Trial:
    """One kill and resume: where the kill landed and what differed afterwards (nothing, we hope)."""

    world: str
    latency_ms: int
    target: int  # events the file was to hold when the kill was sent
    killed_at: int  # events it held after the kill
    status: str  # the killed file's status as written (running: the kill landed mid-run)
    resume_code: int
    resume_err: str
    diffs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the resumed file equals the uninterrupted one in every table."""
        return self.resume_code == 0 and not self.diffs


def reference(name: str, latency_ms: int, folder: Path) -> Reference:
    """Record the uninterrupted run of world ``name`` at ``latency_ms``."""
    world, extra = WORLDS[name](folder)
    out = folder / f"{name}-{latency_ms}ms-reference.db"
    args = run_args(world, extra, latency_ms, out)
    began = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run of {name} failed:\n{proc.stderr[-3000:]}")
    seconds = time.perf_counter() - began
    log = dump(out)
    return Reference(
        name, latency_ms, out, lambda path: run_args(world, extra, latency_ms, path), log, len(log["event"]), seconds
    )


def trial(ref: Reference, rng: random.Random, folder: Path, index: int, upto: float = 1.0) -> Trial:
    """Kill a run of ``ref``'s world at a random number of events, resume it, compare with ``ref``.

    The kill is sent once the file holds a number of events drawn from 1 to ``upto`` x the
    reference's count (a loaded machine may see the last events land before the kill does).
    """
    target = rng.randint(1, max(1, int((ref.events - 1) * upto)))
    out = folder / f"{ref.world}-{ref.latency_ms}ms-kill{index}.db"
    proc = subprocess.Popen(ref.command(out), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    began = time.monotonic()
    try:
        while count_events(out) < target and proc.poll() is None and time.monotonic() - began < 1800:
            time.sleep(0.002)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = count_events(out)
    status = ""
    if out.exists():
        try:
            db = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT status FROM run").fetchone()
                status = row[0] if row else ""
            finally:
                db.close()
        except sqlite3.Error:
            status = "unreadable"
    if status == "finished":  # the run ended before the kill landed: nothing to resume, the file must be whole
        result = Trial(ref.world, ref.latency_ms, target, killed_at, status, 0, "")
    else:
        resumed = subprocess.run(
            [sys.executable, "-m", "sim", "resume", str(out), "--quiet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        result = Trial(ref.world, ref.latency_ms, target, killed_at, status, resumed.returncode, resumed.stderr.strip())
    if result.resume_code == 0:
        result.diffs = differences(ref.log, dump(out))
    for leftover in folder.glob(out.name + "*"):
        leftover.unlink()
    return result


def plan(kills: int, latencies: list[int], worlds: list[str]) -> list[tuple[str, int]]:
    """Which (world, latency) each of ``kills`` trials uses: spread evenly, in a fixed order."""
    configs = [(w, lat) for w in worlds for lat in latencies]
    return [configs[i % len(configs)] for i in range(kills)]


# -- the benchmark -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__)
    parser.add_argument("--kills", type=int, default=100, help="trials in all (default: 100)")
    parser.add_argument(
        "--latency-ms", type=int, nargs="+", default=[0, 50], help="scripted model latencies (default: 0 50)"
    )
    parser.add_argument(
        "--worlds", nargs="+", choices=sorted(WORLDS), default=list(WORLDS), help="worlds to run (default: all three)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random kill points (default: 1)")
    parser.add_argument("--json", metavar="FILE", help="also write every trial to FILE")
    args = parser.parse_args(argv)
    if args.kills < 1 or any(lat < 0 for lat in args.latency_ms):
        parser.error("--kills must be at least 1 and --latency-ms not negative")

    print(common.machine_line(), flush=True)
    rng = random.Random(args.seed)
    trials: list[Trial] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hamlet-crash-") as tmp:
        folder = Path(tmp)
        refs: dict[tuple[str, int], Reference] = {}
        for index, (name, latency) in enumerate(plan(args.kills, args.latency_ms, args.worlds)):
            if (name, latency) not in refs:
                refs[name, latency] = ref = reference(name, latency, folder)
                print(
                    f"reference {name} at {latency} ms: {ref.events:,} events in {ref.seconds:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
            result = trial(refs[name, latency], rng, folder, index)
            trials.append(result)
            verdict = "same log" if result.ok else "DIFFERENT"
            print(
                f"  kill {index + 1}/{args.kills} {name} {latency} ms at {result.killed_at:,} events "
                f"(status {result.status or 'no run row'}): {verdict}",
                file=sys.stderr,
                flush=True,
            )
            for line in (result.diffs or ([result.resume_err] if result.resume_code else []))[:5]:
                print(f"    {line}", file=sys.stderr, flush=True)
    rows = []
    for name, latency in sorted({(t.world, t.latency_ms) for t in trials}):
        group = [t for t in trials if (t.world, t.latency_ms) == (name, latency)]
        rows.append(
            [name, latency, len(group), sum(t.status == "running" for t in group), sum(not t.ok for t in group)]
        )
    failed = sum(not t.ok for t in trials)
    rows.append(["all", "", len(trials), sum(t.status == "running" for t in trials), failed])
    print(common.table(["world", "latency ms", "kills", "landed mid-run", "different logs"], rows))
    print(
        f"{failed} of {len(trials)} resumed runs differ from the uninterrupted log (target 0): "
        f"{common.verdict(failed == 0)}; {time.perf_counter() - started:.0f} s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps([t.__dict__ | {"ok": t.ok} for t in trials], indent=1), encoding="utf-8")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

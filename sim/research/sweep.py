"""Sweeps: one world over a grid of seeds and settings, run in parallel processes, metrics aggregated.

Each run is ``hamlet run WORLD --seed S --set K=V ...`` in its own process, written to
``DIR/<setting>_seed<S>.db``: a child process of this one (the ``local`` executor), or a Ray
task (``ray``, ``sim.research.on_ray``). A finished run already there is reused and an
interrupted one resumed, so a sweep can be continued. The aggregate table gives, per setting and
metric, the number of runs, the mean and a 95 % confidence interval (Student's t over the seeds,
clipped to the range the metric's values lie in: no count below zero, no share above one).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sim.core.mind import apply_settings, check_minds, taking
from sim.core.simtime import iso
from sim.errors import UserError
from sim.llm.options import LLMOptions
from sim.paths import writable_folder
from sim.research import registry
from sim.research.metrics import RunMetrics, pandas
from sim.run.progress import SweepProgress
from sim.run.session import RunOptions, end_second
from sim.runfile.reader import RunReader
from sim.worldfile.bounds import MAX_SEED, MAX_SEEDS
from sim.worldfile.scenario import Scenario, load_scenario

# Student's t, two-sided 95 %, by degrees of freedom; beyond the table the large-sample value.
_T95 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    11: 2.201,
    12: 2.179,
    13: 2.160,
    14: 2.145,
    15: 2.131,
    16: 2.120,
    17: 2.110,
    18: 2.101,
    19: 2.093,
    20: 2.086,
    21: 2.080,
    22: 2.074,
    23: 2.069,
    24: 2.064,
    25: 2.060,
    26: 2.056,
    27: 2.052,
    28: 2.048,
    29: 2.045,
    30: 2.042,
    40: 2.021,
    60: 2.000,
    120: 1.980,
}


EXECUTORS = ("local", "ray")
"""Where a sweep's runs go: child processes of this one, or one Ray task each (``sim.research.on_ray``)."""


@dataclass(slots=True)
class SweepOptions:
    """What ``hamlet sweep`` takes besides the world."""

    seeds: str
    settings: list[str] = field(default_factory=list)  # KEY=V1,V2 each
    parallel: int | None = None
    out: str = "sweep"
    hours: float | None = None
    until: str | None = None
    llm: LLMOptions = field(default_factory=LLMOptions)
    quiet: bool = False  # no progress lines
    executor: str = "local"  # one of EXECUTORS
    ray_address: str | None = None  # an existing Ray cluster (executor ray; None: start a local Ray)


@dataclass(slots=True)
class SweepResult:
    """The per-run metrics, the aggregate per setting, and the files written."""

    runs: Any
    table: Any
    keys: list[str]
    files: list[Path]


@dataclass(frozen=True, slots=True)
class Job:
    """One run of the grid: its setting, its seed and its run file."""

    setting: dict[str, str]
    seed: int
    path: Path

    @property
    def name(self) -> str:
        """How the progress lines name the run: ``seed=2 reflection=off``."""
        return f"seed={self.seed}" + (f" {label(self.setting)}" if self.setting else "")


def parse_seeds(text: str) -> list[int]:
    """``1-10``, ``1,2,5`` or ``3`` (ranges and lists may be mixed: ``1-3,7``) as a list of seeds."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            low, sep, high = part.strip().partition("-")
            first = int(low)
            last = int(high) if sep else first
            if last < first:
                raise ValueError
            if first < 0 or last > MAX_SEED:
                raise UserError(f"--seeds {text!r}: a seed is a whole number from 0 to {MAX_SEED}")
            if len(seeds) + last - first + 1 > MAX_SEEDS:
                raise UserError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds; sweep fewer at a time")
            seeds.extend(range(first, last + 1))
    except ValueError:
        raise UserError(f"--seeds {text!r}: write seeds as 1-10, 1,2,5 or 3") from None
    return list(dict.fromkeys(seeds))


def parse_grid(settings: list[str]) -> tuple[list[str], list[dict[str, str]]]:
    """The swept keys, and every combination of their values (in the order given)."""
    keys: list[str] = []
    values: list[list[str]] = []
    for setting in settings:
        key, sep, raw = setting.partition("=")
        options = [v.strip() for v in raw.split(",") if v.strip()]
        if not sep or not key or not options:
            raise UserError(f"--set {setting!r}: write it as KEY=V1,V2, e.g. --set reflection=on,off")
        if key in keys:
            raise UserError(f"--set {key}: given twice; list all its values in one --set {key}=V1,V2")
        keys.append(key)
        values.append(options)
    return keys, [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def label(setting: dict[str, str]) -> str:
    """A setting as words: ``reflection=on mind=generative`` (empty: ``as written``)."""
    return " ".join(f"{k}={v}" for k, v in setting.items()) or "as written"


def run_name(setting: dict[str, str], seed: int) -> str:
    """The file name of one run of the grid."""
    safe = "_".join(f"{k}-{v}" for k, v in setting.items()).replace("/", "-").replace(" ", "-")
    return f"{safe}_seed{seed}.db" if safe else f"seed{seed}.db"


def sweep(world: str, opts: SweepOptions) -> SweepResult:
    """Check the whole grid, run what is missing in parallel, then aggregate and write the tables."""
    scenario = load_scenario(world)
    seeds = parse_seeds(opts.seeds)
    keys, grid = parse_grid(opts.settings)
    _check_grid(scenario, grid)
    _note_unused(scenario, grid)
    _check_executor(opts)
    end = end_second(scenario, scenario.start, RunOptions(hours=opts.hours, until=opts.until), scenario.hours)
    folder = Path(opts.out)
    jobs = [Job(setting, seed, folder / run_name(setting, seed)) for setting in grid for seed in seeds]
    expected_end = iso(scenario.start + timedelta(seconds=end))
    failures = _run_jobs(world, jobs, expected_end, opts)
    if failures:
        raise UserError(failures[0] + (f" (and {len(failures) - 1} more runs failed)" if len(failures) > 1 else ""))
    rows = _summaries(jobs)
    runs = pandas().DataFrame(rows)
    table = aggregate(runs, keys)
    about = {
        "world": scenario.name,
        "seeds": seeds,
        "settings": keys,
        "grid": [label(s) for s in grid],
        "end": expected_end,
    }
    files = _write_tables(folder, runs, table, about)
    return SweepResult(runs, table, keys, files)


def _check_grid(scenario: Scenario, grid: list[dict[str, str]]) -> None:
    """Check every combination of settings on the world before anything runs."""
    for setting in grid:
        trial = scenario.model_copy(deep=True)
        apply_settings(trial, [f"{k}={v}" for k, v in setting.items()])
        try:
            check_minds(trial)
        except UserError as err:
            raise UserError(f"--set {label(setting)}: {err}") from None


def _check_executor(opts: SweepOptions) -> None:
    """Check how the runs are to run: how many at once, and where."""
    if opts.parallel is not None and opts.parallel < 1:
        raise UserError(f"--parallel {opts.parallel}: must be at least 1")
    if opts.executor not in EXECUTORS:
        raise UserError(f"--executor {opts.executor}: choose {' or '.join(EXECUTORS)}")
    if opts.ray_address is not None and opts.executor != "ray":
        raise UserError(
            "--ray-address: a Ray cluster's address is for --executor ray; add it, or leave the address out"
        )


def _run_jobs(world: str, jobs: list[Job], expected_end: str, opts: SweepOptions) -> list[str]:
    """Run (or resume) the jobs not done yet, as Ray tasks or child processes; the error lines of those that failed."""
    folder = Path(opts.out)
    commands = [command_of(world, job, expected_end, opts) for job in jobs]
    workers = opts.parallel or min(len(jobs), os.cpu_count() or 1)
    if opts.executor == "ray" and any(commands):  # all finished earlier: no cluster needed to reuse them
        from sim.research import on_ray

        # Ray missing or its cluster unreachable is one line before the folder is even made.
        with on_ray.connect(opts.ray_address, workers, opts.llm.api_key):
            writable_folder(folder, f"--out {opts.out}")
            return on_ray.run_all(
                world,
                jobs,
                [bool(c) for c in commands],
                expected_end,
                opts,
                opts.parallel if opts.ray_address else None,
            )
    writable_folder(folder, f"--out {opts.out}")
    return _run_all(commands, [job.name for job in jobs], workers, opts.quiet, _child_env(opts.llm))


def _summaries(jobs: list[Job]) -> list[dict[str, Any]]:
    """One row per run: its setting, seed and file name, then its summary metrics."""
    rows = []
    for job in jobs:
        with RunMetrics(job.path) as metrics:
            rows.append({**job.setting, "seed": job.seed, "run": job.path.name, **metrics.summary()})
    return rows


def _write_tables(folder: Path, runs: Any, table: Any, about: dict[str, Any]) -> list[Path]:
    """The runs and the aggregate as CSV, and the aggregate with ``about`` the sweep as JSON; the files written."""
    files = [folder / "runs.csv", folder / "sweep.csv", folder / "sweep.json"]
    runs.to_csv(files[0], index=False)
    table.to_csv(files[1], index=False)
    files[2].write_text(
        json.dumps({**about, "table": json.loads(table.to_json(orient="records"))}, indent=2) + "\n",
        encoding="utf-8",
    )
    return files


def _note_unused(scenario: Any, grid: list[dict[str, str]]) -> None:
    """Say so when a swept parameter belongs only to minds nobody in the world runs (it changes nothing)."""
    if not grid:
        return
    kinds = set()
    for setting in grid:
        trial = scenario.model_copy(deep=True)
        apply_settings(trial, [f"{k}={v}" for k, v in setting.items()])
        kinds |= {trial.mind_of(p) for p in trial.people}
    for key in grid[0]:
        if key == "mind":
            continue
        kind, _, name = key.rpartition(".")
        owners = [kind] if kind else taking(name)
        if not kinds & set(owners):
            print(
                f"hamlet sweep: note: {key} is a parameter of {', '.join(owners)}, which nobody in "
                f"{scenario.name} runs (add --set mind={owners[0]}); its values will not differ",
                file=sys.stderr,
            )


def _command(world: str, setting: dict[str, str], seed: int, path: Path, end: str, opts: SweepOptions) -> list[str]:
    """The ``hamlet run`` (or ``resume``) command of one run; empty if the run is already done."""
    if path.exists():
        try:
            with RunReader(path) as reader:
                run = reader.run()
        except UserError as err:
            raise UserError(
                f"{path}: in the sweep's folder but unreadable ({err}); delete it or use another --out"
            ) from None
        if run["sim_end"] != end:
            raise UserError(f"{path}: a run to {run['sim_end']}, not {end}; use another --out for this span")
        if run["status"] == "finished":
            return []
        return [sys.executable, "-m", "sim", "resume", str(path), "--quiet", *_model_flags(opts.llm)]
    span = ["--hours", str(opts.hours)] if opts.hours is not None else (["--until", opts.until] if opts.until else [])
    sets = [item for k, v in setting.items() for item in ("--set", f"{k}={v}")]
    return [
        sys.executable,
        "-m",
        "sim",
        "run",
        world,
        "--seed",
        str(seed),
        "--out",
        str(path),
        "--quiet",
        *span,
        *sets,
        *_model_flags(opts.llm),
    ]


def _model_flags(llm: LLMOptions) -> list[str]:
    flags = {
        "llm": "--llm",
        "model": "--model",
        "base_url": "--base-url",
        "concurrency": "--concurrency",
        "budget_usd": "--budget-usd",
        "latency_ms": "--llm-latency-ms",
        "fault_rate": "--llm-fault-rate",
        "replay_from": "--replay-from",
        "json_mode": "--json-mode",
        "timeout_s": "--llm-timeout",
        "profile": "--llm-profile",
        "model_file": "--model-file",
    }
    out: list[str] = []
    for name, flag in flags.items():
        value = getattr(llm, name)
        if value not in (None, 0.0):
            out += [flag, str(value)]
    for endpoint in llm.endpoints or []:
        out += ["--endpoint", endpoint]
    return out


def _child_env(llm: LLMOptions) -> dict[str, str] | None:
    """The runs' environment: this one, with ``--api-key`` as ``OPENAI_API_KEY`` (None: this one unchanged)."""
    # The key goes to the child through its environment, never on a command line others can see.
    return {**os.environ, "OPENAI_API_KEY": llm.api_key} if llm.api_key else None


def _run_all(
    commands: list[list[str]], names: list[str], workers: int, quiet: bool, env: dict[str, str] | None = None
) -> list[str]:
    """Run the commands, ``workers`` at a time, saying as each finishes; the error lines of those that failed."""
    failures = []
    with SweepProgress(len(commands), quiet=quiet) as progress, ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_timed, command, env): name for command, name in zip(commands, names, strict=True)}
        try:
            for future in as_completed(futures):
                done = future.result()
                progress.done(futures[future], done.seconds, done.failure, resumed=done.resumed)
                if done.failure:
                    failures.append(done.failure)
        except KeyboardInterrupt:
            # The runs going on had Ctrl-C too (one process group) and record it; the rest must not start
            # now, one after another, as the pool would when it closes.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return failures


@dataclass(frozen=True, slots=True)
class Done:
    """How one run of a sweep went: its error line ('' if it finished), seconds (None: reused), whether it resumed."""

    failure: str
    seconds: float | None
    resumed: bool = False


def _timed(command: list[str], env: dict[str, str] | None = None) -> Done:
    """Run one command and time it (nothing to run: reused)."""
    if not command:
        return Done("", None)
    began = time.monotonic()
    failure = _run(command, env)
    return Done(failure, time.monotonic() - began, command[3] == "resume")


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    """Run one command (in ``env``, default this process's environment); '' if it finished, else its error line."""
    if not command:
        return ""
    proc = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False, env=env)
    return failure_line(command, proc.returncode, proc.stderr)


def failure_line(command: list[str], code: int, stderr: str) -> str:
    """The error line of a run's command that exited with ``code``: its last line on stderr, after its file ('' if 0)."""
    if code == 0:
        return ""
    lines = [line for line in stderr.strip().splitlines() if line.strip()] or [f"exit code {code}"]
    return f"{command[command.index('--out') + 1] if '--out' in command else command[4]}: {lines[-1]}"


def command_of(world: str, job: Job, end: str, opts: SweepOptions) -> list[str]:
    """The ``hamlet run`` (or ``resume``) command of ``job`` as its run file now stands; empty if it is done."""
    return _command(world, job.setting, job.seed, job.path, end, opts)


def aggregate(runs: Any, keys: list[str]) -> Any:
    """Per setting and metric: runs, mean and the 95 % confidence interval of the mean, within the metric's range."""
    metrics = [c for c in runs.columns if c not in (*keys, "seed", "run")]
    groups = runs.groupby(keys, sort=False) if keys else [((), runs)]
    rows = []
    for key, group in groups:
        values = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        for metric in metrics:
            column = group[metric].dropna()
            n = len(column)
            mean = float(column.mean()) if n else math.nan
            half = _t95(n - 1) * float(column.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
            # The true mean lies in the metric's range, so cutting the interval to it loses no coverage;
            # it only drops impossible values (a count of -1.3 people) that few seeds would otherwise show.
            low, high = registry.bounds(metric)
            rows.append(
                {
                    **values,
                    "metric": metric,
                    "n": n,
                    "mean": round(mean, 6),
                    "ci95_low": round(max(mean - half, low), 6),
                    "ci95_high": round(min(mean + half, high), 6),
                }
            )
    return pandas().DataFrame(rows, columns=[*keys, "metric", "n", "mean", "ci95_low", "ci95_high"])


def _t95(df: int) -> float:
    return _T95[max(d for d in _T95 if d <= df)] if df < 120 else 1.960


def sweep_text(result: SweepResult) -> str:
    """The aggregate as a terminal table: one row per metric, one column per setting (mean [95 % CI])."""
    table = result.table
    keys = result.keys
    settings = list(dict.fromkeys(label({k: str(row[k]) for k in keys}) for _, row in table.iterrows()))
    by_metric: dict[str, dict[str, str]] = {}
    for _, row in table.iterrows():
        cell = (
            f"{row['mean']:.4g}"
            if math.isnan(row["ci95_low"])
            else f"{row['mean']:.4g} [{row['ci95_low']:.4g}, {row['ci95_high']:.4g}]"
        )
        by_metric.setdefault(row["metric"], {})[label({k: str(row[k]) for k in keys})] = cell
    runs = int(table["n"].max()) if len(table) else 0
    frame = pandas().DataFrame(
        [{"metric": m, **cells} for m, cells in by_metric.items()], columns=["metric", *settings]
    )
    head = (
        f"{len(result.runs)} runs: {len(settings)} settings × {runs} seeds; mean [95 % confidence interval, "
        "Student's t, kept within each metric's range]"
    )
    return head + "\n" + str(frame.to_string(index=False))

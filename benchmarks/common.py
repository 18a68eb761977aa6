"""Shared helpers of the benchmarks: the repository on the import path, machine facts, statistics, tables.

Importing this module first puts the repository root at the front of ``sys.path``, so the
benchmarks measure the working tree they sit in (and its ``agents`` package registers its minds
even when an old editable install maps ``agents`` to a namespace package).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))


def parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring's first paragraph as the description, the rest as the epilog."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(doc.split("\n\n")[1:]),
    )


def machine() -> dict[str, Any]:
    """The facts a figure depends on: cores, CPU model, memory, Python and SQLite versions."""
    import sqlite3

    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "")
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            kib = int(handle.readline().split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory": memory,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def machine_line() -> str:
    """The machine in one line, printed above every table."""
    m = machine()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"machine: {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}; load average before the run {load}"
    )


def write_figures(path: str | None, **figures: Any) -> None:
    """With ``--json FILE``: write the machine and ``figures`` to FILE as JSON (nothing without it)."""
    if path:
        Path(path).write_text(json.dumps({"machine": machine(), **figures}, indent=1))


def median(values: Iterable[float]) -> float:
    """The median, or NaN for no values."""
    items = list(values)
    if not items:
        return float("nan")
    middle = statistics.median(items)
    if all(isinstance(v, int) for v in items) and float(middle).is_integer():
        return int(middle)
    return middle


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0..1) by the nearest-rank method, or NaN for no values."""
    items = sorted(values)
    if not items:
        return float("nan")
    rank = max(1, min(len(items), round(share * len(items) + 0.5)))
    return items[rank - 1]


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """The total length covered by ``(start, end)`` intervals, overlaps counted once."""
    total = 0.0
    current_start = current_end = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start  # type: ignore[operator]
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start  # type: ignore[operator]
    return total


def verdict(ok: bool | None) -> str:
    """PASS, FAIL, or a dash for figures without a target."""
    return "-" if ok is None else ("PASS" if ok else "FAIL")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, right-aligned numbers, for terminals and Markdown alike."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [
        any(r[i] for r in cells) and all(_is_number(r[i]) or not r[i] for r in cells) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric, strict=True))
        + "|"
    )
    return "\n".join([line(list(headers)), rule, *(line(r) for r in cells)])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("×x%"))
    except ValueError:
        return False
    return True


def hamlet_command(*args: object) -> list[str]:
    """``python -m sim ARGS``: the command line of the CLI as a child process runs it."""
    return [sys.executable, "-m", "sim", *map(str, args)]


def run_args(
    world: str | Path,
    out: str | Path,
    *options: object,
    llm: str = "scripted",
    latency_ms: object = None,
    quiet: bool = True,
) -> list[str]:
    """The arguments of ``hamlet run WORLD --llm LLM [--llm-latency-ms MS] OPTIONS --out OUT [--quiet]``."""
    latency = ["--llm-latency-ms", str(latency_ms)] if latency_ms is not None else []
    args = ["run", str(world), "--llm", llm, *latency, *map(str, options), "--out", str(out)]
    return [*args, "--quiet"] if quiet else args


def run_command(world: str | Path, out: str | Path, *options: object, **kwargs: Any) -> list[str]:
    """``python -m sim`` with :func:`run_args`: a run's whole command line, for a child process."""
    return hamlet_command(*run_args(world, out, *options, **kwargs))


def run_hamlet(args: Sequence[str], timeout: float) -> float:
    """Run ``python -m sim ARGS`` in the repository; its wall seconds (raises with its stderr if it fails)."""
    return run_hamlet_out(args, timeout)[0]


def run_hamlet_out(args: Sequence[str], timeout: float) -> tuple[float, str]:
    """``run_hamlet``, with what the command printed on stdout."""
    command = hamlet_command(*args)
    began = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout, check=False)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, proc.stdout


def run_child(args: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run ``python ARGS`` in a fresh process; its last stdout line is a JSON object, returned."""
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"child {' '.join(args)} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return dict(json.loads(lines[-1]))

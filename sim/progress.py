"""The progress bar of a long run: simulated time, events, LLM calls, tokens and cost."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from sim.simtime import iso

if TYPE_CHECKING:
    from sim.engine import Simulation


class RunProgress:
    """Shows a live bar on a terminal (stderr); silent when stderr is not a terminal or ``quiet``."""

    def __init__(self, sim: Simulation, end: int, path: Path, *, quiet: bool = False) -> None:
        self.sim = sim
        self.end = end
        self.first = sim.clock.now
        self.enabled = not quiet and sys.stderr.isatty()
        self._last = 0.0
        self._bar: Progress | None = None
        self._task: Any = None
        self.path = path

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._bar = Progress(
                TextColumn("[bold]{task.fields[time]}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[events]} events · {task.fields[calls]} LLM calls · "
                           "{task.fields[tokens]} tokens · ${task.fields[cost]:.4f}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("run", total=max(1, self.end - self.first), **self._fields())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self.update(self.sim, force=True)
            self._bar.__exit__(None, None, None)

    def _fields(self) -> dict[str, Any]:
        stats = self.sim.gateway.stats
        return {
            "time": iso(self.sim.time.when(self.sim.clock.now)),
            "events": self.sim.seq,
            "calls": stats.calls,
            "tokens": stats.prompt_tokens + stats.completion_tokens,
            "cost": stats.cost_usd,
        }

    def update(self, sim: Simulation, force: bool = False) -> None:
        """Refresh at most ten times a second."""
        if self._bar is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        self._bar.update(self._task, completed=sim.clock.now - self.first, **self._fields())


class SweepProgress:
    """A sweep's runs as they finish: a live line on a terminal, else one line per run (stderr); nothing if ``quiet``."""

    def __init__(self, total: int, *, quiet: bool = False) -> None:
        self.total = total
        self.finished = 0
        self.quiet = quiet
        self.live = not quiet and sys.stderr.isatty()
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> SweepProgress:
        if self.live:
            # Rich redraws the line on its own thread, so the elapsed time ticks while every run is busy.
            self._bar = Progress(TextColumn("[bold]sweep"), BarColumn(), TextColumn("{task.completed}/{task.total} runs"),
                                 TextColumn("{task.fields[last]}"), TimeElapsedColumn(), console=Console(stderr=True))
            self._bar.__enter__()
            self._task = self._bar.add_task("sweep", total=self.total, last="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def done(self, what: str, seconds: float | None, failure: str = "") -> str:
        """Count one run as finished (``seconds`` None: reused from an earlier sweep) and say so; returns the line."""
        self.finished += 1
        took = "finished earlier, reused" if seconds is None else f"{seconds:.1f} s"
        line = (f"run {self.finished}/{self.total} {'failed' if failure else 'done'}: {what} ({took})"
                + (f": {failure}" if failure else ""))
        if self._bar is not None:
            self._bar.console.print(line, highlight=False, markup=False)
            self._bar.update(self._task, completed=self.finished, last=f"· last: {what}")
        elif not self.quiet:
            print(line, file=sys.stderr, flush=True)
        return line

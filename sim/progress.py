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

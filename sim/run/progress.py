"""What a run shows while it starts and runs: each start-up phase as it happens, then the progress bar;
and a sweep's progress as its runs finish (``SweepProgress``).

On a terminal (stderr), one live line redrawn four times a second. It starts with the elapsed
time, so that a narrow terminal never cuts it off, then names the phase ("starting the model
server (llama.cpp, SmolLM2-135M-Instruct)"); once the people think, it is a bar with the
simulated time (or "first tick"), LLM calls, events, tokens and cost, counted as each call ends
rather than as each tick is committed. A finished phase stays above the line with how long it took; if the run
stops with an error, the live line is cleared, so the error is the last thing said. When stderr
is not a terminal, each phase is one plain line on stdout as it begins, and nothing else (no
carriage returns, no colours): stdout, where the closing lines go too, so that stderr keeps
nothing but the one line of an error.

Code anywhere in a run's start names its phase with ``phase(name)``, or ``with stage(name)`` for
a step inside another (loading embeddings); when no ``Display`` is open (an interview, a test,
``--quiet``) they do nothing.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console, RenderableType
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from sim.core.simtime import iso

if TYPE_CHECKING:
    from sim.core.engine import Simulation

_active: Display | None = None  # the display of this process's run, while it is open


def phase(name: str) -> None:
    """Say that the run has reached phase ``name`` (nothing when no display is open)."""
    if _active is not None:
        _active.phase(name)


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Show ``name`` as the phase while the block runs, then the phase it interrupted again."""
    display = _active
    if display is None:
        yield
        return
    before, since = display.current, display.since
    display.phase(name, nested=True)
    try:
        yield
    finally:
        display.done()
        display.current, display.since = before, since


def running(sim: Simulation, end: int) -> None:
    """The people start to think, up to second ``end``: the bar replaces the phase line."""
    if _active is not None:
        _active.running(sim, end)


def ticked(sim: Simulation) -> None:
    """The engine committed a tick (its progress callback)."""
    if _active is not None:
        _active.ticked(sim)


def clock(seconds: float) -> str:
    """Elapsed seconds as ``H:MM:SS``."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Display:
    """A run's phases and bar: live on ``screen`` (stderr) if it is a terminal, else a line per phase on ``log`` (stdout)."""

    def __init__(self, *, quiet: bool = False, screen: TextIO | None = None, log: TextIO | None = None) -> None:
        self.screen = screen or sys.stderr
        self.log = log or sys.stdout
        self.terminal = not quiet and self.screen.isatty()
        self.plain = not quiet and not self.terminal
        self.began = time.monotonic()
        self.current = ""  # the phase now under way
        self.since = self.began  # when it began
        self.sim: Simulation | None = None
        self.first = 0  # the simulated second the bar starts from
        self.end = 0
        self.ticks = 0
        self._live: Live | None = None
        self._outer: Display | None = None

    def __enter__(self) -> Display:
        global _active
        self._outer, _active = _active, self
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        global _active
        _active = self._outer
        if self._live is not None:
            # Stopping draws the line once more and leaves it on the screen; after an error (or
            # Ctrl-C) it is cleared instead, so that the error's one line is what the user reads.
            self._live.transient = kind is not None
            self._live.stop()
            self._live = None

    def phase(self, name: str, *, nested: bool = False) -> None:
        """Begin phase ``name``: the previous one is done, unless ``name`` is a step inside it."""
        if not nested:
            self.done()
        self.current, self.since = name, time.monotonic()
        if self.terminal and self._live is None:  # started with the first phase, so it never shows none
            self._live = Live(
                console=Console(file=self.screen),
                get_renderable=self._render,
                refresh_per_second=4,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        if self.plain:
            print(f"[{clock(self.since - self.began)}] {name}", file=self.log, flush=True)

    def done(self) -> None:
        """The current phase is over: on a terminal it stays above the live line with its duration."""
        if self._live is not None and self.current:
            took = time.monotonic() - self.since
            self._live.console.print(
                Text(f"✓ {self.current} · {took:.1f} s", style="dim"), no_wrap=True, overflow="ellipsis"
            )

    def running(self, sim: Simulation, end: int) -> None:
        """Show the bar for ``sim`` up to second ``end``; the first tick is a phase of its own."""
        self.sim, self.first, self.end, self.ticks = sim, sim.clock.now, end, 0
        self.phase("first tick")

    def ticked(self, sim: Simulation) -> None:
        """After the first tick, the phase is the run itself."""
        if self.ticks == 0:
            self.phase(f"running to {iso(sim.time.when(self.end))}")
        self.ticks += 1

    def _render(self) -> RenderableType:
        """The live line: read on the display's own thread, so counts move while a tick is under way."""
        elapsed = Text(clock(time.monotonic() - self.began), style="yellow")
        sim = self.sim
        if sim is None:
            return Text.assemble(elapsed, "  ", (self.current, "bold"), " …", no_wrap=True, overflow="ellipsis")
        stats = sim.gateway.stats
        done, total = sim.clock.now - self.first, max(1, self.end - self.first)
        # Most telling first, as a narrow terminal cuts the end: the first tick has no time to show yet.
        where = "first tick" if self.ticks == 0 else iso(sim.time.when(sim.clock.now))
        counts = (
            f"{where} · {stats.calls} LLM calls · {sim.seq} events · "
            f"{stats.prompt_tokens + stats.completion_tokens} tokens · ${stats.cost_usd:.4f}"
        )
        # Fixed widths for the elapsed time, the bar and the percentage; the counts take what is left.
        line = Table.grid(padding=(0, 1), expand=True)
        line.add_column(width=len(elapsed), no_wrap=True)
        line.add_column(width=12, no_wrap=True)
        line.add_column(width=4, no_wrap=True)
        line.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        line.add_row(
            elapsed,
            ProgressBar(total=total, completed=min(done, total), width=12),
            Text(f"{100 * done / total:3.0f}%"),
            Text(counts, style="bold" if self.ticks == 0 else ""),
        )
        return line


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
            self._bar = Progress(
                TextColumn("[bold]sweep"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} runs"),
                TextColumn("{task.fields[last]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                redirect_stdout=False,
            )  # a sweep prints nothing there; Ray's chatter must not pass
            self._bar.__enter__()
            self._task = self._bar.add_task("sweep", total=self.total, last="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)

    def done(self, what: str, seconds: float | None, failure: str = "", *, resumed: bool = False) -> str:
        """Count one run as finished (``seconds`` None: reused from an earlier sweep; ``resumed``: continued from its
        run file) and say so; returns the line."""
        self.finished += 1
        took = (
            "finished earlier, reused"
            if seconds is None
            else f"{seconds:.1f} s" + (", resumed from its run file" if resumed else "")
        )
        line = f"run {self.finished}/{self.total} {'failed' if failure else 'done'}: {what} ({took})" + (
            f": {failure}" if failure else ""
        )
        if self._bar is not None:
            self._bar.console.print(line, highlight=False, markup=False)
            self._bar.update(self._task, completed=self.finished, last=f"· last: {what}")
        elif not self.quiet:
            print(line, file=sys.stderr, flush=True)
        return line

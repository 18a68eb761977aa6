"""The metrics screen: the research charts of ``hamlet plot`` as text, as of the viewed time.

The charts of the metrics registry as sparklines (hourly, from the start to the viewed time:
the diffusion of each fact, the density of the knows and conversation networks), its person
metrics with a label as bars (conversations per person), and the LLM cost by purpose as bars. The figures come from ``sim.research.metrics`` reading the run file; on a live run
they are read again when the log has grown, at most every ``RELOAD_S`` seconds (and no more than
a tenth of the time, for a run big enough to take a while to read).
"""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from sim.errors import UserError
from sim.research import registry
from sim.research.metrics import HOUR, RunMetrics
from sim.tui.clock import ClockBar
from sim.tui.source import RunSource
from sim.tui.view import View

TICKS = "▁▂▃▄▅▆▇█"
BAR = 30  # widest bar, in cells
LABEL = 22  # width of the labels column
RELOAD_S = 2.0


def sparkline(values: list[float], top: float) -> str:
    """``values`` as block characters, ``top`` the full height (nothing drawn above it)."""
    if top <= 0:
        return TICKS[0] * len(values)
    return "".join(TICKS[min(len(TICKS) - 1, max(0, round(v / top * (len(TICKS) - 1))))] for v in values)


def bar(value: float, top: float) -> str:
    """A horizontal bar of ``value`` against ``top`` (at least one cell for anything above zero)."""
    if top <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(value / top * BAR))


def _label(text: str) -> str:
    return (text if len(text) <= LABEL else text[: LABEL - 1] + "…").ljust(LABEL)


def metrics_text(metrics: RunMetrics, t: int) -> Text:
    """Every chart as of second ``t``: the registry's curves and bars, then the cost by purpose."""
    text = Text()
    upto = [s for s in metrics.grid(HOUR) if s <= t] or [0]
    if upto[-1] != t:
        upto.append(t)
    for chart in registry.charts():
        _curves(text, metrics, chart, upto)
    table = registry.person_table(metrics, t)
    for metric in registry.metrics("person", per_fact=False):
        if metric.label:
            _bars(text, metric.label, table["person"], table[metric.name])
    # Not a registry metric: a table by purpose, as ``hamlet plot cost`` draws it.
    cost = metrics.cost_by_purpose(t)
    text.append("\nLLM cost by purpose\n", "bold")
    if not len(cost):
        text.append("  no LLM calls yet\n", "dim")
    top = float(cost["cost_usd"].max()) if len(cost) else 0.0
    for purpose, usd, calls in zip(cost["purpose"], cost["cost_usd"], cost["llm_calls"], strict=True):
        text.append(f"  {_label(purpose)} ")
        text.append(bar(float(usd), top), "yellow")
        text.append(f" ${usd:.4f} · {calls} calls\n")
    return text


def _curves(text: Text, metrics: RunMetrics, chart: registry.Chart, upto: list[int]) -> None:
    """One sparkline per curve of ``chart`` (per fact, one per fact) at the seconds ``upto``."""
    text.append(("\n" if len(text) else "") + chart.title[:1].upper() + chart.title[1:], "bold")
    text.append(f"   {chart.hint}\n", "dim")
    lines = registry.drawn(chart.name)
    facts = metrics.facts()
    if not facts and any(m.per_fact for m in lines):
        text.append("  the world declares no facts (add facts: to follow a piece of news)\n", "dim")
    present = metrics.headcount(upto[-1])
    for metric in lines:
        for fact in facts if metric.per_fact else [None]:
            values = [float(v) for v in registry.curve(metrics, metric, upto, fact)]
            text.append(f"  {_label(metric.legend(fact, short=True))} ")
            if chart.people:  # counts of people: scaled to those present, said as "3 of 9"
                text.append(sparkline(values, max(1, present)), chart.colour)
                text.append(f"  {round(values[-1])} of {present}\n")
            else:
                text.append(sparkline(values, 1.0), chart.colour)
                text.append(f"  {values[-1]:.3f}\n")


def _bars(text: Text, title: str, people: Any, counts: Any) -> None:
    """A person metric as one bar a person, against the highest."""
    text.append(f"\n{title}\n", "bold")
    top = float(counts.max()) if len(counts) else 0.0
    for person, count in zip(people, counts, strict=True):
        text.append(f"  {_label(person)} ")
        text.append(bar(float(count), top), "magenta")
        text.append(f" {count}\n")


class MetricsScreen(Screen[None]):
    """Research charts of the run as of the viewed time; follows the clock as it moves."""

    BINDINGS = [Binding("escape,m", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    MetricsScreen #metrics-head { height: auto; background: $boost; padding: 0 1; }
    MetricsScreen VerticalScroll { padding: 0 1; }
    """

    def __init__(self, source: RunSource, live: bool) -> None:
        super().__init__()
        self.source, self.live = source, live
        self.metrics: RunMetrics | None = None
        self.loaded_seq = -1
        self.loaded_at = 0.0
        self.load_s = 0.0  # how long the last read of the run file took

    def compose(self) -> ComposeResult:
        """Clock, a title line and the charts."""
        yield ClockBar()
        yield Static(
            "Metrics at the viewed time · hamlet metrics and hamlet plot give the full tables", id="metrics-head"
        )
        with VerticalScroll():
            yield Static(id="metrics-body")
        yield Footer()

    def on_unmount(self) -> None:
        """Close the metrics' own read-only connection."""
        if self.metrics is not None:
            self.metrics.close()

    def _fresh(self, seq: int) -> RunMetrics:
        # A big run takes seconds to read: read it again no more than a tenth of the time.
        wait = max(RELOAD_S, 10 * self.load_s)
        stale = self.metrics is None or (
            self.live and seq > self.loaded_seq and time.monotonic() - self.loaded_at >= wait
        )
        if stale:
            began = time.monotonic()
            if self.metrics is not None:
                self.metrics.close()
            self.metrics = RunMetrics(self.source.path)
            self.metrics.people()  # the log is read now, not on the first chart
            self.loaded_seq, self.loaded_at = seq, time.monotonic()
            self.load_s = self.loaded_at - began
        assert self.metrics is not None
        return self.metrics

    def show(self, view: View) -> None:
        """Draw the charts as of the viewed point."""
        body = self.query_one("#metrics-body", Static)
        try:
            metrics = self._fresh(view.seq)
            body.update(metrics_text(metrics, min(view.t, max(metrics.end, view.t))))
        except UserError as err:
            body.update(Text(str(err), "red"))

    def charts(self) -> Any:
        """The text on screen (for tests)."""
        return self.query_one("#metrics-body", Static).render()

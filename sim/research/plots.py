"""Charts of a run's metrics as PNG files (matplotlib, Agg backend: no display needed).

``hamlet plot RUN.db CHART -o FILE.png`` draws one of ``plots()``: each chart of the metrics
registry (its curves over time: the diffusion of the world's facts, the density of the
relationship graphs), the conversation (or knows) network, or the LLM cost by purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx

from sim.errors import UserError
from sim.research import registry
from sim.research.metrics import HOUR, RunMetrics

# Not curves over time, so not the registry's: a graph, and a table by purpose.
OTHER_PLOTS = ("network", "cost")


def plots() -> list[str]:
    """The charts ``hamlet plot`` draws: the registry's, then the network and the cost."""
    return [*(chart.name for chart in registry.charts()), *OTHER_PLOTS]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UserError("plots need matplotlib, which comes with Hamlet: pip install 'matplotlib>=3.8,<4'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(
    metrics: RunMetrics,
    kind: str,
    out: Path,
    *,
    facts: list[str] | None = None,
    at: int | None = None,
    every: int = HOUR,
    graph: str = "conversations",
) -> Path:
    """Draw chart ``kind`` of the run into ``out`` (PNG); returns the file written."""
    _known(kind)
    if out.suffix.lower() != ".png":
        raise UserError(f"-o {out}: give a .png file name")
    if not out.parent.is_dir():
        raise UserError(f"-o {out}: folder {out.parent} does not exist")
    figure = draw(metrics, kind, facts=facts, at=at, every=every, graph=graph)
    try:
        figure.savefig(out)
    finally:
        _pyplot().close(figure)
    return out


def draw(
    metrics: RunMetrics,
    kind: str,
    *,
    facts: list[str] | None = None,
    at: int | None = None,
    every: int = HOUR,
    graph: str = "conversations",
) -> Any:
    """Chart ``kind`` of the run as a matplotlib figure, laid out; the caller closes it (``pyplot.close``)."""
    _known(kind)
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 5), dpi=100)
    try:
        others: dict[str, Callable[..., str]] = {"network": _network, "cost": _cost}
        chart_of: Callable[..., str] = others.get(kind, _curves)
        title = chart_of(metrics, axes, chart=registry.CHARTS.get(kind), facts=facts, at=at, every=every, graph=graph)
        axes.set_title(f"{metrics.scenario.name}: {title}")
        figure.tight_layout()
    except BaseException:
        plt.close(figure)
        raise
    return figure


def _known(kind: str) -> None:
    if kind not in plots():
        raise UserError(f"METRIC {kind!r}: unknown; charts are {', '.join(plots())}")


def _curves(
    metrics: RunMetrics, axes: Any, *, chart: registry.Chart, facts: list[str] | None, every: int, **_: Any
) -> str:
    """A chart's curves over time: counts of people as steps from 0, shares as lines from 0 to 1."""
    lines = registry.drawn(chart.name)
    chosen = []
    if any(m.per_fact for m in lines):
        chosen = [metrics.fact(name) for name in facts] if facts else metrics.facts()
        if not chosen:
            raise UserError(f"{metrics.path}: the world declares no facts; add facts: to measure {chart.name}")
    times = metrics.grid(every)
    stamps = [datetime.fromisoformat(metrics.when(t)) for t in times]
    for metric in lines:
        for fact in chosen if metric.per_fact else [None]:
            values = registry.curve(metrics, metric, times, fact)
            if chart.people:
                axes.step(stamps, values, where="post", label=metric.legend(fact))
            else:
                axes.plot(stamps, values, label=metric.legend(fact))
    axes.set_ylabel(chart.axis)
    if chart.people:  # whole people, from none to everyone there was: "3 of 9" reads off the axis
        from matplotlib.ticker import MaxNLocator

        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max(1, *(metrics.headcount(t) for t in times)) + 0.3)
    else:
        axes.set_ylim(0, 1)
    axes.legend()
    axes.get_figure().autofmt_xdate()
    return chart.title


def _network(metrics: RunMetrics, axes: Any, *, at: int | None, graph: str, **_: Any) -> str:
    if graph not in ("conversations", "knows"):
        raise UserError(f"--graph {graph!r}: choose conversations or knows")
    drawn: nx.Graph = metrics.conversation_graph(at) if graph == "conversations" else metrics.knows_graph(at)
    # Twice the default spacing: with the default, people who talked sit on top of each other, their names
    # overprinted, while those who talked to nobody take the rest of the picture.
    layout = nx.spring_layout(drawn, seed=1, k=2 / len(drawn) ** 0.5) if len(drawn) else {}
    widths = [1 + data.get("conversations", 0) + data.get("remarks", 0) / 2 for _, _, data in drawn.edges(data=True)]
    nx.draw_networkx_nodes(drawn, layout, ax=axes, node_color="#9ecae1", node_size=220)
    nx.draw_networkx_edges(
        drawn, layout, ax=axes, edge_color="#636363", width=widths or 1.0, node_size=220, arrows=graph == "knows"
    )
    for name, (x, y) in layout.items():  # under the mark, on white, so edges do not run through the name
        axes.annotate(
            name,
            (x, y),
            xytext=(0, -9),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    axes.margins(0.12)  # room for the names of the people at the edges
    axes.set_axis_off()
    when = metrics.when(metrics.end if at is None else at)
    return f"{graph} network at {when}"


def _cost(metrics: RunMetrics, axes: Any, *, at: int | None, **_: Any) -> str:
    frame = metrics.cost_by_purpose(at)
    axes.barh(list(frame["purpose"]), list(frame["cost_usd"]), color="#fdae6b")
    for y, (cost, calls) in enumerate(zip(frame["cost_usd"], frame["llm_calls"], strict=True)):
        axes.text(cost, y, f" ${cost:.4f} · {calls} calls", va="center", fontsize=8)
    axes.set_xlabel("cost (USD)")
    return "LLM cost by purpose"

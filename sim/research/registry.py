"""The metrics registry: each metric declared once, and the tables every output builds from it.

A metric is a name, one sentence saying what it measures, its shape, and one function that
computes it from a ``RunMetrics``, as a reporter of Mesa's ``DataCollector`` is a name and a
function of the model. ``hamlet metrics``, ``compare``, ``sweep``, ``plot`` and the viewer's
metrics screen list no metric themselves: they iterate ``METRICS``. The shape says where a
metric goes:

- ``run``: one number per run, at its end: a figure of the summary (``hamlet metrics --json``,
  ``summary.csv``), a row of ``hamlet compare``, a metric of ``hamlet sweep``'s aggregate.
  ``compute(m)`` returns the number, or None where it does not apply (it is then left out).
- ``person``: one value per person as of a time: a column of the activity table (``hamlet
  metrics``, ``--json``, ``activity.csv``) and of the people table (``--csv``, ``people.csv``);
  with a ``label``, bars in the viewer headed by it. ``compute(m, at)`` returns person -> value.
- ``curve``: one value per point in time: a column of its chart's table over time (the
  chart's name in ``--json`` and ``--out``); with a ``label``, a line of ``hamlet plot CHART``
  and a sparkline of the viewer. ``compute(m, times)`` returns one value per second in ``times``.

A metric ``per_fact`` is computed for each fact of the world (``compute`` takes the fact after
``m``) and named after it: ``<fact>.<name>`` in the summary, ``<fact>_<name>`` in the people
table, a column of each fact's curve table; ``{fact}`` in its label is the fact's name.
Consecutive per-fact run metrics are listed fact by fact, as ``<fact>.knowing``,
``<fact>.share``, ``<fact>.attendance`` are.

Adding a metric is one call of ``register`` (or the ``metric`` decorator) and its line in
docs/research.md; see "Adding a metric" in docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sim.research.metrics import pandas

if TYPE_CHECKING:
    from sim.research.metrics import RunMetrics
    from sim.worldfile.scenario import FactSpec

Shape = Literal["run", "person", "curve"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Metric:
    """One measurement: its name, what it measures, its shape and the function computing it from a run."""

    name: str
    description: str  # one sentence, as docs/research.md lists it
    shape: Shape
    compute: Callable[..., Any]
    per_fact: bool = False
    chart: str = ""  # curves: the chart (and table over time) it belongs to
    label: str = ""  # curves: its line in the chart; people: the heading of its bars in the viewer; empty: not drawn
    short: str = ""  # curves: its row in the viewer, when shorter than ``label``
    low: float = -math.inf  # run metrics: the range its values lie in (a sweep's intervals are kept inside it)
    high: float = math.inf

    def key(self, fact: FactSpec | None = None) -> str:
        """Its name in an output: per fact ``<fact>.<name>`` (summary) or ``<fact>_<name>`` (people table)."""
        if fact is None or self.shape == "curve":
            return self.name
        return f"{fact.name}{'.' if self.shape == 'run' else '_'}{self.name}"

    def legend(self, fact: FactSpec | None = None, short: bool = False) -> str:
        """Its label (the viewer's ``short`` one if asked and declared), ``{fact}`` replaced by the fact's name."""
        text = self.short if short and self.short else self.label
        return text.replace("{fact}", fact.name) if fact is not None else text


@dataclass(frozen=True, slots=True)
class Chart:
    """Curves drawn together: by ``hamlet plot NAME``, as a section of the viewer, as a table over time."""

    name: str
    title: str  # "information diffusion"
    axis: str  # the plot's y axis
    hint: str  # the viewer's note beside the title
    people: bool  # values count people (scaled to those present), else they run from 0 to 1
    colour: str  # of the viewer's sparklines


METRICS: dict[tuple[Shape, str], Metric] = {}
CHARTS: dict[str, Chart] = {}


def register(metric: Metric) -> Metric:
    """Add ``metric`` after those registered before it; a name is used once per shape."""
    if (metric.shape, metric.name) in METRICS:
        raise ValueError(f"a {metric.shape} metric called {metric.name!r} is already registered")
    if metric.shape == "curve" and metric.chart not in CHARTS:
        raise ValueError(f"curve {metric.name!r}: no chart called {metric.chart!r}; register_chart it first")
    METRICS[(metric.shape, metric.name)] = metric
    return metric


def metric(name: str, description: str, shape: Shape = "run", **options: Any) -> Callable[[F], F]:
    """Register the decorated function as a metric (``options``: the other fields of ``Metric``)."""

    def add(compute: F) -> F:
        register(Metric(name, description, shape, compute, **options))
        return compute

    return add


def register_chart(chart: Chart) -> Chart:
    """Add a chart for curves to be drawn in."""
    CHARTS[chart.name] = chart
    return chart


def metrics(shape: Shape, *, per_fact: bool | None = None, chart: str | None = None) -> list[Metric]:
    """The registered metrics of a shape, in order; only per-fact ones (or none of them), or one chart's."""
    return [
        m for m in METRICS.values() if m.shape == shape and per_fact in (None, m.per_fact) and chart in (None, m.chart)
    ]


def drawn(chart: str) -> list[Metric]:
    """The curves drawn in ``chart``."""
    return [m for m in metrics("curve", chart=chart) if m.label]


def charts() -> list[Chart]:
    """The charts with a curve to draw, in the order they were registered."""
    return [c for c in CHARTS.values() if drawn(c.name)]


def tables() -> list[str]:
    """The charts whose curves are the run's, not a fact's: each is a table over time (``density``)."""
    return [c for c in CHARTS if metrics("curve", per_fact=False, chart=c)]


# -- what the outputs build ---------------------------------------------------------------


def summary(m: RunMetrics) -> dict[str, float]:
    """Every run metric at the end of the run, one number per name (``compare``, ``sweep``, the summary)."""
    out: dict[str, float] = {}
    for per_fact, group in itertools.groupby(metrics("run"), key=lambda x: x.per_fact):
        listed = list(group)
        for fact in m.facts() if per_fact else [None]:
            for item in listed:
                value = item.compute(m) if fact is None else item.compute(m, fact)
                if value is not None:
                    out[item.key(fact)] = value
    return out


def bounds(key: str) -> tuple[float, float]:
    """The range a run metric's values lie in, by its name in the summary (``<fact>.<name>`` per fact)."""
    item = METRICS.get(("run", key)) or METRICS.get(("run", key.rpartition(".")[2]))
    return (item.low, item.high) if item is not None else (-math.inf, math.inf)


def values(m: RunMetrics, item: Metric, at: int, fact: FactSpec | None = None) -> Mapping[str, Any]:
    """A person metric as of second ``at``: person -> value."""
    result: Mapping[str, Any] = item.compute(m, at) if fact is None else item.compute(m, fact, at)
    return result


def person_table(m: RunMetrics, at: int) -> Any:
    """Everyone who appeared in the run, and a column per person metric that is not per fact, as of ``at``."""
    people = m.everyone()
    columns: dict[str, list[Any]] = {"person": people}
    for item in metrics("person", per_fact=False):
        found = values(m, item, at)
        columns[item.name] = [found.get(p) for p in people]
    return pandas().DataFrame(columns)


def curve(m: RunMetrics, item: Metric, times: list[int], fact: FactSpec | None = None) -> list[Any]:
    """A curve's values at each second of ``times``."""
    return list(item.compute(m, times) if fact is None else item.compute(m, fact, times))


def curve_table(m: RunMetrics, times: list[int], *, chart: str = "", fact: FactSpec | None = None) -> Any:
    """``t``, ``time``, ``people`` present, then a column per curve: of the chart, or (given a fact) per fact."""
    columns: dict[str, list[Any]] = {
        "t": list(times),
        "time": [m.when(t) for t in times],
        "people": [m.headcount(t) for t in times],
    }
    chosen = metrics("curve", per_fact=True) if fact is not None else metrics("curve", per_fact=False, chart=chart)
    for item in chosen:
        columns[item.name] = curve(m, item, times, fact)
    return pandas().DataFrame(columns)


# -- the built-in metrics, in the order outputs list them ----------------------------------


def _per_person(m: RunMetrics) -> int:
    return max(1, len(m.people()))


def _activity_total(column: str) -> Callable[[RunMetrics], float]:
    return lambda m: float(m.activity()[column].sum())


def _end_density(column: str) -> Callable[[RunMetrics], float]:
    return lambda m: round(float(m.density(times=[m.end]).iloc[-1][column]), 6)


def _activity_column(column: str) -> Callable[[RunMetrics, int], Mapping[str, Any]]:
    def compute(m: RunMetrics, at: int) -> Mapping[str, Any]:
        table = m.activity(at)
        return dict(zip(table["person"], table[column], strict=True))

    return compute


def _density_column(column: str) -> Callable[[RunMetrics, list[int]], list[Any]]:
    return lambda m, times: list(m.density(times=times)[column])


def _known(m: RunMetrics, fact: FactSpec) -> int:
    return int(m.diffusion(fact)["knows"].sum())


def _attendance(m: RunMetrics, fact: FactSpec) -> float | None:
    window = m.gathering(fact)
    return None if window is None else float(len(m.attendance(window)))


def _since(m: RunMetrics, fact: FactSpec, at: int) -> Mapping[str, Any]:
    table = m.diffusion(fact, at)
    return dict(zip(table["person"], table["time"], strict=True))


def _planned(m: RunMetrics, fact: FactSpec, at: int) -> Mapping[str, Any]:
    table = m.plans(fact, at)
    return dict(zip(table["person"], table["time"], strict=True))


def _fact_curve(column: str) -> Callable[[RunMetrics, FactSpec, list[int]], list[Any]]:
    return lambda m, fact, times: list(m.diffusion_curve(fact, times=times)[column])


def _maybe(value: float | None) -> float | None:
    return None if value is None else float(value)


def _events(m: RunMetrics) -> float:
    return float(m.reader.event_count())


register_chart(
    Chart(
        "diffusion",
        "information diffusion",
        "people who know it",
        "people who know each fact, hourly up to the viewed time",
        people=True,
        colour="green",
    )
)
register_chart(
    Chart(
        "density",
        "relationship density",
        "density",
        "edges among the people present, hourly",
        people=False,
        colour="cyan",
    )
)

for _metric in (
    Metric("people", "People present at the end of the run.", "run", lambda m: float(len(m.people()))),
    Metric("events", "Events in the run's log.", "run", _events),
    Metric(
        "conversations",
        "Conversations held (each counted once, not once per side).",
        "run",
        lambda m: float(m.activity()["conversations"].sum() / 2),
    ),
    Metric(
        "conversations_per_person",
        "Conversations each person present took part in, on average.",
        "run",
        lambda m: float(m.activity()["conversations"].sum() / _per_person(m)),
    ),
    Metric(
        "lines_per_person",
        "Lines said per person present.",
        "run",
        lambda m: float(m.activity()["lines"].sum() / _per_person(m)),
    ),
    Metric(
        "places_per_person",
        "Areas visited per person present.",
        "run",
        lambda m: float(m.activity()["places"].sum() / _per_person(m)),
    ),
    Metric(
        "knows_density",
        "Knows edges a -> b among the people present at the end, over n(n-1).",
        "run",
        _end_density("knows_density"),
        high=1.0,
    ),
    Metric(
        "knows_density_mutual",
        "Pairs who know each other over n(n-1)/2 at the end, as the paper counted.",
        "run",
        _end_density("knows_density_mutual"),
        high=1.0,
    ),
    Metric(
        "conversation_density",
        "Pairs who have talked over n(n-1)/2 at the end.",
        "run",
        _end_density("conversation_density"),
        high=1.0,
    ),
    Metric(
        "knowing",
        "People present who know the fact at the end.",
        "run",
        lambda m, fact: float(_known(m, fact)),
        per_fact=True,
    ),
    Metric(
        "share",
        "The share of the people present who know the fact at the end.",
        "run",
        lambda m, fact: round(float(_known(m, fact)) / _per_person(m), 6),
        per_fact=True,
        high=1.0,
    ),
    Metric(
        "attendance",
        "People who came to the gathering the fact announces (if it announces one).",
        "run",
        _attendance,
        per_fact=True,
    ),
    Metric(
        "llm_calls",
        "LLM calls the people made (interviews and probes not counted).",
        "run",
        _activity_total("llm_calls"),
    ),
    Metric(
        "llm_calls_cached",
        "Of those, the calls answered from the reply cache (a fork's or a resumed run's "
        "replies already paid for): nothing was sent.",
        "run",
        lambda m: float(m.cache_use().calls),
    ),
    Metric(
        "tokens_sent",
        "Tokens sent to the model and replied by it for those calls, prompts and replies.",
        "run",
        _activity_total("tokens"),
    ),
    Metric(
        "tokens_cached",
        "Tokens the calls answered from the cache took when the model first answered them "
        "(in this run or the runs it was forked from).",
        "run",
        lambda m: _maybe(m.cache_use().tokens),
    ),
    Metric(
        "cost_usd",
        "Cost of the calls sent, in US dollars.",
        "run",
        lambda m: round(float(m.activity()["cost_usd"].sum()), 6),
    ),
    Metric(
        "cost_usd_cached",
        "Cost of the calls answered from the cache when the model first answered them.",
        "run",
        lambda m: _maybe(m.cache_use().cost_usd),
    ),
    Metric(
        "conversations",
        "Conversations the person took part in.",
        "person",
        _activity_column("conversations"),
        label="Conversations per person",
    ),
    Metric("lines", "Lines the person said.", "person", _activity_column("lines")),
    Metric("places", "Areas the person was in.", "person", _activity_column("places")),
    Metric("moves", "Journeys the person started.", "person", _activity_column("moves")),
    Metric("llm_calls", "LLM calls made for the person.", "person", _activity_column("llm_calls")),
    Metric("tokens", "Tokens of those calls.", "person", _activity_column("tokens")),
    Metric("cost_usd", "Cost of those calls in US dollars.", "person", _activity_column("cost_usd")),
    Metric("since", "When the person first knew the fact (empty if they did not).", "person", _since, per_fact=True),
    Metric(
        "planned",
        "When the person first made a plan for the fact (empty if they did not).",
        "person",
        _planned,
        per_fact=True,
    ),
    Metric(
        "knowing",
        "People present who know the fact.",
        "curve",
        _fact_curve("knowing"),
        per_fact=True,
        chart="diffusion",
        label="{fact}",
    ),
    Metric(
        "share",
        "The share of the people present who know the fact.",
        "curve",
        _fact_curve("share"),
        per_fact=True,
        chart="diffusion",
    ),
    Metric(
        "knows_edges",
        "Edges a -> b of the knows graph among the people present.",
        "curve",
        _density_column("knows_edges"),
        chart="density",
    ),
    Metric(
        "knows_density",
        "Knows edges over n(n-1).",
        "curve",
        _density_column("knows_density"),
        chart="density",
        label="knows (directed)",
        short="knows",
    ),
    Metric(
        "knows_mutual_pairs",
        "Pairs of people present who know each other.",
        "curve",
        _density_column("knows_mutual_pairs"),
        chart="density",
    ),
    Metric(
        "knows_density_mutual",
        "Pairs who know each other over n(n-1)/2, as the paper counted.",
        "curve",
        _density_column("knows_density_mutual"),
        chart="density",
        label="knows each other (the paper's)",
        short="know each other",
    ),
    Metric(
        "conversation_edges",
        "Pairs of people present who have talked.",
        "curve",
        _density_column("conversation_edges"),
        chart="density",
    ),
    Metric(
        "conversation_density",
        "Pairs who have talked over n(n-1)/2.",
        "curve",
        _density_column("conversation_density"),
        chart="density",
        label="conversations",
    ),
):
    # Every built-in run metric is a count, a mean of counts, a share, a density or a cost: none is below zero.
    register(dataclasses.replace(_metric, low=0.0) if _metric.shape == "run" else _metric)

"""What ``hamlet metrics`` prints and writes: every metric of a run as of a time, as text, JSON, CSV or files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx

from sim.errors import UserError
from sim.llm.options import LLMOptions
from sim.paths import writable_folder
from sim.research import registry
from sim.research.metrics import RunMetrics, Window, parse_window
from sim.research.probes import probe_acquaintance, probe_fact
from sim.research.story import reach
from sim.runfile.export import need_pyarrow
from sim.worldfile.scenario import FactSpec


@dataclass(slots=True)
class FactReport:
    """One fact's spread: per person, over time, and (probed) what people answered."""

    fact: FactSpec
    table: Any
    curve: Any  # the fact's curves over time (registry)
    probe: Any = None
    plans: Any = None  # who planned for it: their first plan carrying it


@dataclass(slots=True)
class Report:
    """Every metric of a run as of second ``at``."""

    metrics: RunMetrics
    at: int
    facts: list[FactReport]
    curves: dict[str, Any]  # chart -> the run's curves over time in it (registry): "density"
    knows: nx.DiGraph
    conversations: nx.Graph
    activity: Any  # the person metrics (registry)
    cost: Any
    window: Window | None = None
    window_source: str = ""
    attendance: Any = None
    acquaintance: Any = None
    acquaintance_graph: nx.DiGraph | None = None
    summary: dict[str, float] = field(default_factory=dict)
    probes: Any = None  # every probe the file holds: own answer, the rule's check, agreement


def build(
    metrics: RunMetrics,
    *,
    facts: list[str] | None = None,
    person: str | None = None,
    at: str | None = None,
    place: str | None = None,
    window: str | None = None,
    every_minutes: float = 60,
    probe: LLMOptions | None = None,
) -> Report:
    """Compute the report; every option is checked (one clear line) before any model is asked anything."""
    chosen = [metrics.fact(name) for name in facts] if facts else metrics.facts()
    if person is not None:
        person = metrics.person(person)  # the full name: 'sofia' filters the tables to Sofia Marchetti
    second = metrics.end if at is None else metrics.time_option(at, "--at")
    if not 0 <= second <= metrics.end:
        raise UserError(f"--at {at}: outside the run, which spans {metrics.when(0)} to {metrics.when(metrics.end)}")
    every = round(every_minutes * 60)
    if every <= 0:
        raise UserError(f"--every {every_minutes:g}: must be more than 0 minutes")
    span, source = _coordination_window(metrics, chosen, place, window)
    who = [person] if person else None
    asked: dict[str, Any] = {}
    acquaintance: tuple[Any, nx.DiGraph | None] = (None, None)
    if probe is not None:  # first: a probe that says A knows B is an edge of the knows graph below
        for fact in chosen:
            asked[fact.name] = probe_fact(metrics, fact, second, probe, who)
        acquaintance = probe_acquaintance(metrics, second, probe, who)
    times = metrics.grid(every)
    reports = [_fact_report(metrics, fact, second, times, person, asked.get(fact.name)) for fact in chosen]
    curves = {chart: registry.curve_table(metrics, times, chart=chart) for chart in registry.tables()}
    report = Report(
        metrics,
        second,
        reports,
        curves,
        metrics.knows_graph(second),
        metrics.conversation_graph(second),
        _only(registry.person_table(metrics, second), person),
        metrics.cost_by_purpose(second),
        span,
        source,
        acquaintance=acquaintance[0],
        acquaintance_graph=acquaintance[1],
        summary=metrics.summary(),
        probes=_only(metrics.probes(), person),
    )
    if span is not None:
        report.attendance = _only(metrics.attendance(span), person)
    return report


def _coordination_window(
    metrics: RunMetrics, chosen: list[FactSpec], place: str | None, window: str | None
) -> tuple[Window | None, str]:
    """The window whose attendance is measured, and where it comes from: asked for, or the first fact's gathering."""
    if (place is None) != (window is None):
        raise UserError("--place and --window: give both, e.g. --place 'Hobbs Cafe' --window +35h..+37h")
    if place is not None and window is not None:
        return metrics.window(place, *parse_window(window, metrics)), "asked"
    for fact in chosen:
        span = metrics.gathering(fact)
        if span is not None:
            return span, f"the gathering of {fact.name}"
    return None, ""


def _fact_report(
    metrics: RunMetrics, fact: FactSpec, second: int, times: Any, person: str | None, probe: Any
) -> FactReport:
    """One fact's spread as of ``second``: who knew it and how, its curves, who planned for it (``person`` alone)."""
    table = metrics.diffusion(fact, second)
    return FactReport(
        fact,
        _only(table, person),
        registry.curve_table(metrics, times, fact=fact),
        probe,
        _only(metrics.plans(fact, second), person),
    )


def _only(frame: Any, person: str | None) -> Any:
    return frame if person is None else frame[frame["person"] == person].reset_index(drop=True)


def _records(frame: Any) -> list[dict[str, Any]]:
    return list(json.loads(frame.to_json(orient="records", date_format="iso")))


def as_json(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data."""
    m = report.metrics
    data: dict[str, Any] = {
        "file": str(m.path),
        "world": m.scenario.name,
        "at": m.when(report.at),
        "people": m.people(report.at),
        "diffusion": {
            f.fact.name: {
                "keywords": f.fact.marks(),
                "people": _records(f.table),
                "curve": _records(f.curve),
                "probe": _records(f.probe) if f.probe is not None else None,
                "plans": _records(f.plans),
            }
            for f in report.facts
        },
        **{chart: _records(table) for chart, table in report.curves.items()},
        "knows_edges": [[a, b, d["since"], d["how"]] for a, b, d in report.knows.edges(data=True)],
        "conversation_edges": [
            [a, b, d["conversations"], d["remarks"], d["since"]] for a, b, d in report.conversations.edges(data=True)
        ],
        "activity": _records(report.activity),
        "cost_by_purpose": _records(report.cost),
        "summary": report.summary,
        "probes": _records(report.probes),
        "probe_disagreements": _records(report.probes[~report.probes["agree"]]),
    }
    if report.window is not None:
        w = report.window
        data["coordination"] = {
            "place": w.place,
            "start": m.when(w.start),
            "end": m.when(w.end),
            "source": report.window_source,
            "run_end": m.when(m.end),
            "reached": reach(w, m.end),
            "people": _records(report.attendance),
        }
    if report.acquaintance is not None:
        data["acquaintance_probe"] = {
            "answers": _records(report.acquaintance),
            "density": _density(report.acquaintance_graph),
        }
    return data


def _density(graph: nx.DiGraph | None) -> float:
    return round(nx.density(graph), 6) if graph is not None and len(graph) > 1 else 0.0


def as_text(report: Report, over_time: bool = False) -> str:
    """The report for a terminal; ``over_time`` adds the curves as a table, a row per step (``--every``)."""
    m = report.metrics
    present = m.people(report.at)
    n = len(present)
    lines = [
        f"Run        {m.path} · {m.scenario.name} · {m.when(0)} → {m.when(m.end)} · {n} people at {m.when(report.at)}"
    ]
    for item in report.facts:
        lines += _diffusion_text(report, item)
    lines += _relationships_text(report, n)
    lines += _probes_text(report)
    lines += _coordination_text(report)
    if over_time:
        lines += _over_time(report)
    lines += [
        "",
        "Activity",
        *_indent(report.activity.to_string(index=False)),
        "",
        "LLM cost by purpose",
        *_indent(report.cost.to_string(index=False) if len(report.cost) else "none"),
    ]
    return "\n".join(lines)


def _diffusion_text(report: Report, item: FactReport) -> list[str]:
    """One fact's section: who knew it since when and how (with the probe's answers, if asked), who planned for it."""
    m = report.metrics
    knew = int(item.table["knows"].sum())
    lines = [
        "",
        f"Diffusion of {item.fact.name} (detected by: {', '.join(item.fact.marks())})",
        f"  {knew} of {len(item.table)} knew it by {m.when(report.at)}",
    ]
    table = item.table[["person", "time", "how"]].rename(columns={"time": "knows since"}).fillna("-")
    if item.probe is not None:
        table = table.merge(item.probe[["person", "heard", "keyword", "what"]], on="person", how="left")
        table["what"] = table["what"].fillna("").str.slice(0, 60)
    lines += _indent(table.to_string(index=False))
    plans = item.plans
    lines.append(f"  {len(plans)} made a plan for it" + (":" if len(plans) else ""))
    if len(plans):
        shown = plans[["person", "time", "scope", "items", "reason"]].fillna("-")
        for column in ("items", "reason"):
            shown[column] = shown[column].str.slice(0, 50)
        lines += _indent(shown.to_string(index=False))
    return lines


def _relationships_text(report: Report, n: int) -> list[str]:
    """The knows and conversation graphs among the ``n`` people present, beside their densities at the start."""
    m, k, c = report.metrics, report.knows, report.conversations
    mutual = sum(1 for a, b in k.edges() if a < b and k.has_edge(b, a))
    first = report.curves["density"].iloc[0]
    lines = [
        "",
        f"Relationships at {m.when(report.at)}",
        f"  knows (talked, told, relation or probe; never sight): {k.number_of_edges()} of {n * (n - 1)} "
        f"directed edges, density {_density(k):.3f} ({float(first['knows_density']):.3f} at the start); "
        f"as the paper, {mutual} of {n * (n - 1) // 2} pairs know each other, density "
        f"{2 * mutual / (n * (n - 1)) if n > 1 else 0.0:.3f} ({float(first['knows_density_mutual']):.3f} at the start)",
        f"  conversations: {c.number_of_edges()} pairs of {n * (n - 1) // 2} (density "
        f"{nx.density(c) if n > 1 else 0.0:.3f}), "
        f"{sum(d['conversations'] for _, _, d in c.edges(data=True))} conversations",
    ]
    if report.acquaintance_graph is not None:
        lines.append(
            f'  "do you know X?" probe: {report.acquaintance_graph.number_of_edges()} yes of '
            f"{len(report.acquaintance)} asked (density {_density(report.acquaintance_graph):.3f})"
        )
    return lines


def _probes_text(report: Report) -> list[str]:
    """The probes the file holds, and those where the person's answer and the knowing rule disagree; none: nothing."""
    if report.probes is None or not len(report.probes):
        return []
    probes = report.probes
    differ = probes[~probes["agree"]]
    lines = [
        "",
        f"Probes recorded: {len(probes)}; the person's own answer and the knowing rule's check of "
        f"what they said disagree on {len(differ)}",
    ]
    if len(differ):
        shown = differ[["person", "time", "subject", "heard", "keyword", "what"]].copy()
        shown["what"] = shown["what"].str.slice(0, 60)
        lines += _indent(shown.to_string(index=False))
    return lines


def _coordination_text(report: Report) -> list[str]:
    """Who came to the window's place during it; no window: nothing."""
    if report.window is None:
        return []
    m, w = report.metrics, report.window
    lines = [
        "",
        f"Coordination at {w.place}, {m.when(w.start)}..{m.when(w.end)} ({report.window_source})",
        f"  {_came(report)}",
    ]
    if len(report.attendance):
        lines += _indent(report.attendance.to_string(index=False))
    return lines


def _over_time(report: Report) -> list[str]:
    """The curves up to the report's time, a row per step: people present, who knew each fact, the densities."""
    m = report.metrics
    density = report.curves["density"]
    table = density[["t", "time", "people"]].copy()
    for item in report.facts:
        table[f"knew {item.fact.name}"] = item.curve["knowing"].to_numpy()
    for column in ("knows_density", "knows_density_mutual", "conversation_density"):
        table[column] = density[column].round(3)
    table = table[table["t"] <= report.at].drop(columns="t")
    table["time"] = table["time"].str.replace("T", " ").str.slice(0, 16)
    steps = density["t"].diff().dropna()
    step = f"every {int(steps.iloc[0]) / 60:g} minutes" if len(steps) else "at the start"
    return ["", f"Over time, {step} up to {m.when(report.at)}", *_indent(table.to_string(index=False))]


def _came(report: Report) -> str:
    """How many came, and whether the run could tell: it may have ended before the window, or during it."""
    m, w = report.metrics, report.window
    assert w is not None
    what = "the gathering" if report.window_source != "asked" else "the window"
    reached = reach(w, m.end)
    if reached == "ahead":
        return (
            f"{what} at {w.place} starts at {m.when(w.start)}, after this run ends at {m.when(m.end)}; "
            "nobody could have come yet"
        )
    if reached == "during":
        return f"{len(report.attendance)} came by {m.when(m.end)}, when this run ends, before {what} does"
    return f"{len(report.attendance)} came"


def _indent(text: str) -> list[str]:
    return ["  " + line for line in text.splitlines()]


def people_table(report: Report) -> Any:
    """One row per person: the person metrics, those of each fact, the probe's answers, the gathering's minutes."""
    table = report.activity.copy()
    for item in report.facts:
        for metric in registry.metrics("person", per_fact=True):
            found = registry.values(report.metrics, metric, report.at, item.fact)
            table[metric.key(item.fact)] = [found.get(p) for p in table["person"]]
        # the probe and the window are the command's options, not metrics of the run file
        if item.probe is not None:
            said = dict(zip(item.probe["person"], item.probe["heard"], strict=True))
            table[f"{item.fact.name}_probe"] = [said.get(p) for p in table["person"]]
            check = dict(zip(item.probe["person"], item.probe["keyword"], strict=True))
            table[f"{item.fact.name}_probe_keyword"] = [check.get(p) for p in table["person"]]
    if report.attendance is not None:
        minutes = dict(zip(report.attendance["person"], report.attendance["minutes"], strict=True))
        table["attended_minutes"] = [minutes.get(p, 0.0) for p in table["person"]]
    return table


def write(report: Report, folder: Path, fmt: str) -> list[Path]:
    """Every table of the report into ``folder`` as CSV or Parquet files; returns the files written."""
    if fmt not in ("csv", "parquet"):
        raise UserError(f"--format {fmt!r}: choose csv or parquet")
    if fmt == "parquet":
        need_pyarrow()
    writable_folder(folder, f"--out {folder}")
    from sim.research.metrics import pandas

    tables: dict[str, Any] = {
        "people": people_table(report),
        "activity": report.activity,
        **report.curves,
        "cost_by_purpose": report.cost,
        "summary": pandas().DataFrame([report.summary]),
    }
    for item in report.facts:
        tables[f"diffusion_{item.fact.name}"] = item.table
        tables[f"diffusion_curve_{item.fact.name}"] = item.curve
        tables[f"plans_{item.fact.name}"] = item.plans
        if item.probe is not None:
            tables[f"probe_{item.fact.name}"] = item.probe
    if report.attendance is not None:
        tables["attendance"] = report.attendance
    if report.acquaintance is not None:
        tables["probe_acquaintance"] = report.acquaintance
    if report.probes is not None and len(report.probes):
        tables["probes"] = report.probes
    written = []
    for name, frame in tables.items():
        target = folder / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(target, index=False)
        else:
            frame.to_parquet(target, index=False)
        written.append(target)
    return written


def write_graphml(report: Report, folder: Path) -> list[Path]:
    """The knows and conversation graphs (and the probe's, if asked) as GraphML files in ``folder``."""
    writable_folder(folder, f"--graphml {folder}")
    graphs: dict[str, nx.Graph] = {"knows": report.knows, "conversations": report.conversations}
    if report.acquaintance_graph is not None:
        graphs["probe_knows"] = report.acquaintance_graph
    written = []
    for name, graph in graphs.items():
        target = folder / f"{name}.graphml"
        nx.write_graphml(graph, target)
        written.append(target)
    return written

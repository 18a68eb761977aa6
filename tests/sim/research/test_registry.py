"""A metric is one registered function: registered here and nowhere else, it reaches every output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from sim.research import registry
from sim.research.metrics import RunMetrics
from sim.tui.metrics import metrics_text
from sim.worldfile.scenario import FactSpec
from tests.conftest import ROOT, WORLDS
from tests.sim.research.handmade import town_run


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Throw-away metrics registered in a test are gone after it."""
    monkeypatch.setattr(registry, "METRICS", dict(registry.METRICS))
    monkeypatch.setattr(registry, "CHARTS", dict(registry.CHARTS))


def remarks(m: RunMetrics) -> float:
    """Lines said to someone outside a conversation, the run's remarks."""
    graph = m.conversation_graph()
    return float(sum(d["remarks"] for _, _, d in graph.edges(data=True)))


@pytest.mark.slow
def test_a_registered_run_metric_appears_in_metrics_compare_and_sweep(scratch: None, hamlet, tmp_path: Path) -> None:
    registry.metric("remarks", "Lines said to someone outside a conversation.")(remarks)
    town = town_run(tmp_path / "town.db")
    other = town_run(tmp_path / "other.db")

    data = json.loads(hamlet("metrics", town, "--json").out)
    assert data["summary"]["remarks"] == 1.0, "Cy's goodbye to Ann"
    assert list(data["summary"])[-1] == "remarks", "after the metrics registered before it"
    result = hamlet("metrics", town, "--out", tmp_path / "tables")
    assert result.code == 0, result.err
    assert pd.read_csv(tmp_path / "tables" / "summary.csv")["remarks"].tolist() == [1.0]

    compared = json.loads(hamlet("compare", town, other, "--json").out)
    assert {"metric": "remarks", "town": 1.0, "other": 1.0, "Δ other": 0.0} in compared
    assert "remarks" in hamlet("compare", town, other).out

    swept = hamlet(
        "sweep",
        WORLDS / "two_rooms.yaml",
        "--seeds",
        "1",
        "--hours",
        "1",
        "--parallel",
        "1",
        "--llm",
        "scripted",
        "--out",
        tmp_path / "sweep",
    )
    assert swept.code == 0, swept.err
    assert re.search(r"^ *remarks +0$", swept.out, flags=re.M), swept.out
    assert "remarks" in set(pd.read_csv(tmp_path / "sweep" / "sweep.csv")["metric"])
    assert "remarks" in pd.read_csv(tmp_path / "sweep" / "runs.csv").columns


def test_a_metric_per_fact_per_person_or_over_time_reaches_its_tables_plots_and_the_viewer(
    scratch: None, hamlet, tmp_path: Path
) -> None:
    town = town_run(tmp_path / "town.db")

    @registry.metric("told", "People who know the fact from a conversation.", per_fact=True)
    def told(m: RunMetrics, fact: FactSpec) -> float:
        return float((m.diffusion(fact)["how"] == "dialogue").sum())

    @registry.metric("remarks", "Remarks the person made.", "person", label="Remarks per person")
    def said(m: RunMetrics, at: int) -> dict[str, int]:
        return {p: 1 if p == "Cy Moss" else 0 for p in m.everyone()}

    registry.register_chart(
        registry.Chart("talk", "talk", "people talking", "who has talked, hourly", people=True, colour="red")
    )

    @registry.metric("talkers", "People who have talked with someone.", "curve", chart="talk", label="talkers")
    def talkers(m: RunMetrics, times: list[int]) -> list[int]:
        return [sum(1 for n in m.conversation_graph(t).degree() if n[1]) for t in times]

    data = json.loads(hamlet("metrics", town, "--json").out)
    assert data["summary"]["festival.told"] == 1.0
    assert list(data["summary"])[-1] == "festival.told", "registered last, listed last"
    assert [r["remarks"] for r in data["activity"]] == [0, 0, 1]
    assert [r["talkers"] for r in data["talk"]] == [0, 2, 2, 3, 3]
    text = hamlet("metrics", town).out
    activity = text.split("\nActivity\n")[1].split("\n\n")[0].splitlines()
    assert activity[0].split()[-1] == "remarks" and activity[3].split()[:2] == ["Cy", "Moss"]
    assert activity[3].split()[-1] == "1", "the last column of the activity table"
    rows = pd.read_csv(pd.io.common.StringIO(hamlet("metrics", town, "--csv").out)).set_index("person")
    assert rows.loc["Cy Moss", "remarks"] == 1
    assert hamlet("plot", town, "talk", "-o", tmp_path / "talk.png").code == 0
    assert (tmp_path / "talk.png").stat().st_size > 0
    with RunMetrics(town) as m:
        screen = metrics_text(m, m.end).plain
    assert "Talk   who has talked, hourly" in screen and "Remarks per person" in screen
    assert re.search(r"talkers +\S+  3 of 3", screen)


def test_a_name_is_registered_once_per_shape(scratch: None) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(registry.Metric("people", "Again.", "run", lambda m: 0.0))
    with pytest.raises(ValueError, match="no chart"):
        registry.register(registry.Metric("x", "A curve of no chart.", "curve", lambda m, times: [], chart="nope"))


def test_docs_list_every_metric_with_its_sentence() -> None:
    page = (ROOT / "docs" / "research.md").read_text(encoding="utf-8")
    for metric in registry.METRICS.values():
        name = (
            f"`<fact>.{metric.name}`"
            if metric.per_fact and metric.shape == "run"
            else f"`<fact>_{metric.name}`"
            if metric.per_fact and metric.shape == "person"
            else f"`{metric.name}`"
        )
        assert f"| {name} | {metric.shape} | {metric.description} |" in page, (metric.shape, metric.name)

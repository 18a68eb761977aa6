"""Metrics on a hand-built run file whose answers are known: diffusion times, densities, attendance, activity."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from sim.research.metrics import RunMetrics
from tests.conftest import assert_one_line_error
from tests.sim.research.handmade import HandRun, town_run

H = 3600


@pytest.fixture
def town(tmp_path: Path) -> Path:
    return town_run(tmp_path / "town.db")


def test_diffusion_gives_who_knew_the_fact_since_when_and_how(town: Path) -> None:
    with RunMetrics(town) as m:
        table = m.diffusion(m.fact("festival"))
        assert list(table["person"]) == ["Ann Reed", "Bo Lane", "Cy Moss"]
        assert list(table["knows"]) == [True, True, False]
        assert list(table["t"].astype(object).where(table["t"].notna(), None)) == [0, H, None]
        assert list(table["how"].fillna("-")) == ["seeded", "dialogue", "-"]
        early = m.diffusion(m.fact("festival"), at=H - 1)
        assert list(early["knows"]) == [True, False, False], "as of a time, later memories do not count"
        curve = m.diffusion_curve(m.fact("festival"))
        assert list(curve["t"]) == [0, H, 2 * H, 3 * H, 4 * H]
        assert list(curve["knowing"]) == [1, 2, 2, 2, 2]


def test_density_over_time_counts_knows_and_conversation_edges_among_those_present(town: Path) -> None:
    with RunMetrics(town) as m:
        d = m.density()
        assert list(d["knows_edges"]) == [1, 2, 2, 4, 4], "Cy saw Bo (no edge); Cy spoke to Ann at 2 h 10 min"
        assert list(d["knows_density"]) == [1 / 6, 2 / 6, 2 / 6, 4 / 6, 4 / 6]
        assert list(d["knows_mutual_pairs"]) == [0, 1, 1, 2, 2]
        assert list(d["knows_density_mutual"]) == [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3], "the paper's: pairs who both know"
        assert list(d["conversation_edges"]) == [0, 1, 1, 2, 2]
        assert list(d["conversation_density"]) == [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3]
        knows = m.knows_graph()
        assert isinstance(knows, nx.DiGraph)
        assert sorted(knows.edges(data="how")) == [
            ("Ann Reed", "Bo Lane", "relation"),
            ("Ann Reed", "Cy Moss", "talked"),
            ("Bo Lane", "Ann Reed", "talked"),
            ("Cy Moss", "Ann Reed", "talked"),
        ]
        assert sorted(knows.edges(data="since")) == [
            ("Ann Reed", "Bo Lane", 0),
            ("Ann Reed", "Cy Moss", 7800),
            ("Bo Lane", "Ann Reed", 3000),
            ("Cy Moss", "Ann Reed", 7800),
        ]
        talks = m.conversation_graph()
        assert talks["Ann Reed"]["Bo Lane"] == {"conversations": 1, "remarks": 0, "since": 3000}
        assert talks["Ann Reed"]["Cy Moss"] == {"conversations": 0, "remarks": 1, "since": 7800}
        assert m.conversation_graph(at=3000 - 1).number_of_edges() == 0


def test_attendance_of_a_facts_gathering_counts_the_minutes_inside_the_window(town: Path) -> None:
    with RunMetrics(town) as m:
        window = m.gathering(m.fact("festival"))
        assert window is not None and (window.start, window.end) == (2 * H, 3 * H)
        came = m.attendance(window)
        assert came.to_dict(orient="records") == [
            {"person": "Ann Reed", "arrived": "2026-03-02T10:00:00", "left": "2026-03-02T10:30:00", "minutes": 30.0},
            {"person": "Bo Lane", "arrived": "2026-03-02T10:13:20", "left": "2026-03-02T11:00:00", "minutes": 46.7},
        ]
        assert list(m.attendance(m.window("Cafe:seating", 0, 2 * H))["person"]) == [], "Bo came at 2 h 13 min"
        assert list(m.attendance(m.window("Home", 2 * H, 3 * H))["person"]) == ["Ann Reed", "Bo Lane", "Cy Moss"]


def test_activity_counts_conversations_lines_places_moves_and_the_runs_own_llm_calls(town: Path) -> None:
    with RunMetrics(town) as m:
        activity = m.activity().set_index("person")
        assert activity.loc["Ann Reed"].to_dict() == {
            "conversations": 1,
            "lines": 1,
            "places": 2,
            "moves": 2,
            "llm_calls": 1,
            "tokens": 100,
            "cost_usd": 0.001,
        }
        assert activity.loc["Bo Lane"].to_dict() == {
            "conversations": 1,
            "lines": 1,
            "places": 2,
            "moves": 1,
            "llm_calls": 2,
            "tokens": 170,
            "cost_usd": 0.0025,
        }
        assert activity.loc["Cy Moss", "llm_calls"] == 0
        cost = m.cost_by_purpose().set_index("purpose")
        assert cost.loc["day_plan", "llm_calls"] == 2 and cost.loc["interview", "cost_usd"] == 0.5
        summary = m.summary()
        assert summary["festival.knowing"] == 2 and summary["festival.attendance"] == 2
        assert summary["knows_density"] == 0.666667 and summary["knows_density_mutual"] == 0.666667
        assert summary["conversations"] == 1


def test_a_person_removed_leaves_the_population_and_the_density(tmp_path: Path) -> None:
    run = HandRun(tmp_path / "leave.db")
    for person in ("Ann Reed", "Bo Lane", "Cy Moss"):
        run.event(0, "spawn", person, "Home:room")
    run.event(600, "talk", "Ann Reed", "Home:room", **{"with": "Cy Moss"})
    run.event(2 * H, "leave", "Cy Moss", "Home:room", by="intervention")
    with RunMetrics(run.close()) as m:
        assert m.people() == ["Ann Reed", "Bo Lane"]
        d = m.density().set_index("t")
        assert d.loc[H, "people"] == 3 and d.loc[H, "conversation_edges"] == 1
        assert d.loc[2 * H, "people"] == 2 and d.loc[2 * H, "conversation_edges"] == 0


def test_metrics_json_and_csv_hold_the_same_answers(hamlet, town: Path, tmp_path: Path) -> None:
    data = json.loads(hamlet("metrics", town, "--json").out)
    assert [r["person"] for r in data["diffusion"]["festival"]["people"] if r["knows"]] == ["Ann Reed", "Bo Lane"]
    assert [r["person"] for r in data["coordination"]["people"]] == ["Ann Reed", "Bo Lane"]
    assert data["coordination"]["source"] == "the gathering of festival"
    assert [r["knows_edges"] for r in data["density"]] == [1, 2, 2, 4, 4]
    assert [r["knows_mutual_pairs"] for r in data["density"]][-1] == 2
    result = hamlet("metrics", town, "--csv", "--out", tmp_path / "tables", "--graphml", tmp_path / "graphs")
    assert result.code == 0, result.err
    rows = pd.read_csv(pd.io.common.StringIO(result.out)).set_index("person")
    assert rows.loc["Bo Lane", "festival_since"] == "2026-03-02T09:00:00"
    assert rows.loc["Bo Lane", "attended_minutes"] == 46.7
    assert pd.read_csv(tmp_path / "tables" / "attendance.csv")["minutes"].tolist() == [30.0, 46.7]
    knows = nx.read_graphml(tmp_path / "graphs" / "knows.graphml")
    assert sorted(knows.edges()) == [
        ("Ann Reed", "Bo Lane"),
        ("Ann Reed", "Cy Moss"),
        ("Bo Lane", "Ann Reed"),
        ("Cy Moss", "Ann Reed"),
    ]


def over_time(text: str) -> list[list[str]]:
    """The rows of the text's table over time (its heading row first), split into cells on runs of spaces."""
    lines = text.split("\nOver time, ", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in lines]


def test_every_gives_the_text_a_table_over_time_at_that_step(hamlet, town: Path) -> None:
    assert "Over time" not in hamlet("metrics", town).out, "the default text has no table over time"
    result = hamlet("metrics", town, "--every", "120")
    assert "Over time, every 120 minutes up to 2026-03-02T12:00:00" in result.out
    rows = over_time(result.out)
    assert rows[0] == [
        "time",
        "people",
        "knew festival",
        "knows_density",
        "knows_density_mutual",
        "conversation_density",
    ]
    assert [row[0] for row in rows[1:]] == ["2026-03-02 08:00", "2026-03-02 10:00", "2026-03-02 12:00"]
    assert [row[2] for row in rows[1:]] == ["1", "2", "2"]
    assert [row[3] for row in rows[1:]] == ["0.167", "0.333", "0.667"]
    earlier = over_time(hamlet("metrics", town, "--every", "30", "--at", "+1h").out)
    assert [row[0][-5:] for row in earlier[1:]] == ["08:00", "08:30", "09:00"], "up to --at"
    assert_one_line_error(hamlet("metrics", town, "--every", "30", "--csv"), "--every 30", "--json")


def test_a_window_asked_for_replaces_the_facts_gathering(hamlet, town: Path) -> None:
    data = json.loads(hamlet("metrics", town, "--json", "--place", "Cafe:seating", "--window", "+2h..+4h").out)
    assert data["coordination"]["source"] == "asked"
    assert [(r["person"], r["minutes"]) for r in data["coordination"]["people"]] == [("Bo Lane", 106.7)]


def test_an_unknown_fact_is_one_line_naming_the_facts(hamlet, town: Path) -> None:
    assert_one_line_error(hamlet("metrics", town, "--fact", "mayor"), "--fact 'mayor'", "festival")


def test_an_unknown_person_is_one_line_naming_the_people(hamlet, town: Path) -> None:
    assert_one_line_error(
        hamlet("metrics", town, "--person", "Zed"), "--person", "unknown person 'Zed'", "Ann Reed", "Cy Moss"
    )


def test_an_unknown_place_or_a_bad_window_is_one_line(hamlet, town: Path) -> None:
    assert_one_line_error(hamlet("metrics", town, "--place", "Cafx", "--window", "+1h..+2h"), "--place", "'Cafx'")
    assert_one_line_error(hamlet("metrics", town, "--place", "Cafe", "--window", "+2h"), "--window", "T1..T2")
    assert_one_line_error(hamlet("metrics", town, "--at", "+9h"), "--at", "outside the run")


def test_plans_name_who_planned_for_the_fact_first_and_how_by_the_knowing_rule(tmp_path: Path, hamlet) -> None:
    run = HandRun(tmp_path / "plans.db")
    run.event(0, "run_start", world="Handmade")
    for person in ("Ann Reed", "Bo Lane", "Cy Moss"):
        run.event(0, "spawn", person, "Home:room", home="Home:room")
    day = {"wake_up": "07:00", "bedtime": "22:00"}
    run.event(
        60,
        "plan",
        "Ann Reed",
        "Home:room",
        scope="day",
        date="2026-03-02",
        **day,
        items=[{"start": "08:00", "activity": "bakes"}, {"start": "10:00", "activity": "goes to the festival"}],
    )
    run.event(
        60,
        "plan",
        "Cy Moss",
        "Home:room",
        scope="day",
        date="2026-03-02",
        **day,
        items=[{"start": "08:00", "activity": "is not going to the festival"}],
    )  # a denial is no plan for it
    run.event(
        120,
        "plan",
        "Bo Lane",
        "Home:room",
        scope="day",
        date="2026-03-02",
        **day,
        items=[{"start": "08:00", "activity": "reads"}],
    )
    run.event(
        4000,
        "plan",
        "Bo Lane",
        "Home:room",
        scope="replan",
        date="2026-03-02",
        **day,
        reason="After talking with Ann Reed: the festival is today",
        items=[{"start": "08:00", "activity": "reads"}, {"start": "09:06", "activity": "walks to the cafe"}],
    )
    run.event(
        5000,
        "plan",
        "Ann Reed",
        "Home:room",
        scope="replan",
        date="2026-03-02",
        **day,
        reason="rain",
        items=[{"start": "10:00", "activity": "goes to the festival"}],
    )
    path = run.close()
    with RunMetrics(path) as m:
        plans = m.plans(m.fact("festival"))
        assert list(plans["person"]) == ["Ann Reed", "Bo Lane"], "Cy's denial is not a plan; first plans only"
        assert list(plans["t"]) == [60, 4000] and list(plans["scope"]) == ["day", "replan"]
        assert plans["items"][0] == "10:00 goes to the festival" and pd.isna(plans["items"][1])
        assert plans["reason"][1] == "After talking with Ann Reed: the festival is today"
        assert list(m.plans(m.fact("festival"), at=3999)["person"]) == ["Ann Reed"], "as of a time"
    result = hamlet("metrics", path)
    assert result.code == 0 and "2 made a plan for it:" in result.out
    data = json.loads(hamlet("metrics", path, "--json").out)
    assert [p["person"] for p in data["diffusion"]["festival"]["plans"]] == ["Ann Reed", "Bo Lane"]

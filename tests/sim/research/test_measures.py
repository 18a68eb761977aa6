"""Measures that mean what they say, on hand-made run files: diffusion by the knowing rule, a knows network
that never comes from sight, probes whose own answers and rule checks are both kept and compared."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sim.research.metrics import RunMetrics
from sim.runfile.log import open_engine
from tests.conftest import assert_one_line_error
from tests.sim.research.handmade import WORLD, HandRun, town_run

H = 3600
PEOPLE = ("Ann Reed", "Bo Lane", "Cy Moss", "Di Park")
WORLD4 = WORLD.replace(
    "  - name: Cy Moss\n    home: Home\n", "  - name: Cy Moss\n    home: Home\n  - name: Di Park\n    home: Home\n"
).replace(
    "    keywords: [festival]\n",
    "    keywords: [festival]\n    paraphrases: [spring festival, festival at the cafe]\n"
    "    excludes: [film festival]\n",
)


def _town(path: Path) -> HandRun:
    run = HandRun(path, WORLD4)
    for person in PEOPLE:
        run.event(0, "spawn", person, "Home:room", home="Home:room")
    return run


def test_diffusion_skips_substrings_denials_other_senses_and_activities_seen_without_the_news(tmp_path: Path) -> None:
    run = _town(tmp_path / "d.db")
    run.memory("Bo Lane", 600, "Ann Reed reading a festivalgoers' guide")  # inside another word
    run.memory("Bo Lane", 1200, "No, I'm not going to any festival this year.", "dialogue")  # a denial
    run.memory("Bo Lane", 1800, "Ann Reed putting up bunting for the festival")  # someone's activity, a keyword only
    run.memory("Bo Lane", 2 * H, "Ann told me the spring festival is at the cafe on Sunday.", "dialogue")
    run.memory("Cy Moss", 600, "The film festival in town sold out.", "dialogue")  # an excluded phrase
    run.memory("Cy Moss", H, "Ann Reed handing out flyers for the spring festival")  # the activity carries the news
    run.memory("Di Park", 600, "I haven't heard anything about a festival.", "dialogue")
    with RunMetrics(run.close()) as m:
        rows = m.diffusion(m.fact("festival")).set_index("person")
        assert rows.loc["Bo Lane", "t"] == 2 * H and rows.loc["Bo Lane", "how"] == "dialogue"
        assert rows.loc["Cy Moss", "t"] == H and rows.loc["Cy Moss", "how"] == "observation"
        assert not rows.loc["Di Park", "knows"]


def test_the_knows_network_comes_from_talk_being_told_relations_and_probes_never_from_sight(tmp_path: Path) -> None:
    run = _town(tmp_path / "k.db")
    run.memory("Cy Moss", 600, "Bo Lane reading a paper.")  # seen: nothing
    run.memory("Cy Moss", 700, "Bo Lane seems to read a lot.", "reflection")  # a reflection on sight: nothing
    run.memory("Bo Lane", H, "Ann says Di Park grows the best tomatoes.", "dialogue")  # told about Di
    run.memory("Di Park", H, "Ann Reed said to me: Cy Moss fixed my bike.")  # told about Cy, by Ann
    run.event(2 * H, "talk", "Cy Moss", "Home:room", **{"with": "Di Park", "topic": "weather"})
    path = run.close()
    engine = open_engine(path)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO probe (person, t, time, kind, subject, question, heard, what, keyword,"
            " wall_time) VALUES ('Bo Lane', 7200, 'x', 'person', 'Cy Moss', 'Do you know Cy Moss?',"
            " 1, 'He lives down the road.', 0, 'w')"
        )
    engine.dispose()
    with RunMetrics(path) as m:
        edges = {(a, b): how for a, b, how in m.knows_graph().edges(data="how")}
        assert edges == {
            ("Ann Reed", "Bo Lane"): "relation",
            ("Bo Lane", "Di Park"): "told",
            ("Bo Lane", "Ann Reed"): "told",
            ("Di Park", "Cy Moss"): "told",
            ("Cy Moss", "Di Park"): "talked",
            ("Bo Lane", "Cy Moss"): "probe",
        }
        last = m.density().iloc[-1]
        assert last["knows_edges"] == 6 and last["knows_density"] == 6 / 12
        assert last["knows_mutual_pairs"] == 2 and last["knows_density_mutual"] == 2 / 6, "Ann-Bo and Cy-Di both ways"


def test_metrics_report_where_a_persons_own_answer_and_the_rule_disagree(hamlet, tmp_path: Path) -> None:
    path = town_run(tmp_path / "p.db")
    engine = open_engine(path)
    from sqlmodel import SQLModel

    SQLModel.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO probe (person, t, time, kind, subject, question, heard, what, keyword, wall_time) VALUES"
            " ('Bo Lane', 3600, 't', 'fact', 'festival', 'q', 1, 'The festival at the cafe on Sunday.', 1, 'w'),"
            " ('Cy Moss', 3600, 't', 'fact', 'festival', 'q', 1, 'Something about Sunday.', 0, 'w'),"
            " ('Ann Reed', 3600, 't', 'fact', 'festival', 'q', NULL, 'I don''t remember.', 0, 'w')"
        )
    engine.dispose()
    data = json.loads(hamlet("metrics", path, "--json").out)
    assert [(r["person"], r["heard"], r["keyword"]) for r in data["probe_disagreements"]] == [
        ("Cy Moss", True, False),
        ("Ann Reed", None, False),
    ], "no structured answer is no agreement"
    text = hamlet("metrics", path).out
    assert "disagree on 2" in text and "Something about Sunday." in text


def test_old_files_without_a_probe_table_still_read(tmp_path: Path) -> None:
    path = town_run(tmp_path / "old.db")
    db = sqlite3.connect(path)
    db.execute("DROP TABLE IF EXISTS probe")
    db.commit()
    db.close()
    with RunMetrics(path) as m:
        assert len(m.probes()) == 0 and m.knows_graph().number_of_edges() == 4


def test_a_fact_with_an_empty_paraphrase_list_or_keyword_is_one_line(hamlet, tmp_path: Path) -> None:
    for bad, needle in (("    paraphrases: []\n", "paraphrases"), ("    keywords: ['  ']\n", "keywords")):
        world = tmp_path / "bad.yaml"
        world.write_text(WORLD.replace("    keywords: [festival]\n", bad))
        assert_one_line_error(hamlet("validate", world), needle)


def test_a_probe_on_a_fact_the_run_does_not_have_is_one_line_and_writes_nothing(hamlet, tmp_path: Path) -> None:
    path = town_run(tmp_path / "t.db")
    before = path.read_bytes()
    assert_one_line_error(hamlet("metrics", path, "--probe", "--fact", "mayor", "--llm", "scripted"), "--fact 'mayor'")
    assert path.read_bytes() == before

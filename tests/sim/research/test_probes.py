"""Interview probes: every person asked about a fact and about each other, answers recorded and classified."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from sim.research.probes import confirms, knows_from_answer
from sim.scenario import FactSpec
from tests.agents.test_generative import generative_town
from tests.conftest import hamlet_process


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("probe")
    run = folder / "town.db"
    result = hamlet_process("run", generative_town(folder, people=3), "--llm", "scripted", "--hours", "8",
                            "--out", run, "--quiet")
    assert result.code == 0, result.err
    return run


def test_the_probe_asks_everyone_records_the_interviews_and_reads_their_answers(town: Path) -> None:
    result = hamlet_process("metrics", town, "--probe", "--json", "--at", "+6h")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    db = sqlite3.connect(town)
    asked = db.execute("SELECT person, question, answer, time FROM interview ORDER BY id").fetchall()
    people = data["people"]
    assert len(asked) == len(people) + len(people) * (len(people) - 1), "the fact's question, then each other person"
    assert {time for *_, time in asked} == {"2026-02-13T12:00:00"}, "asked as of --at"
    fact = FactSpec.model_validate(yaml.safe_load(db.execute("SELECT scenario_yaml FROM run").fetchone()[0])["facts"][0])
    probe = {row["person"]: row for row in data["diffusion"]["valentines_party"]["probe"]}
    for person, question, answer, _ in asked:
        if question == fact.probe():
            assert probe[person]["answer"] == answer
            assert probe[person]["confirms"] == confirms(fact, answer)
    said = {(r["person"], r["other"]): r["knows"] for r in data["acquaintance_probe"]["answers"]}
    assert len(said) == len(people) * (len(people) - 1)
    yes = sum(said.values())
    assert data["acquaintance_probe"]["density"] == round(yes / (len(people) * (len(people) - 1)), 6)
    calls = db.execute("SELECT COUNT(*) FROM llm_call WHERE tick = -1 AND purpose = 'interview'").fetchone()[0]
    assert calls >= len(asked), "each answer is an LLM call of the run's model, recorded"


def test_an_answer_confirms_a_fact_by_its_keywords_in_any_case_unless_it_denies() -> None:
    fact = FactSpec(name="party", text="A party on Saturday.", keywords=["party", "Valentine"])
    assert confirms(fact, "Sofia's VALENTINE party, yes!")
    assert not confirms(fact, "I am busy on Saturday.")
    assert not confirms(fact, "No, I haven't heard of any party."), "an echo of the question is no confirmation"
    assert fact.probe() == "Have you heard anything about party or Valentine?"
    bare = FactSpec(name="x", text="The mill closes.")
    assert confirms(bare, "I heard the mill closes.") and bare.probe() == "What news have you heard lately?"


def test_an_answer_says_someone_is_known_when_it_names_them_and_denies_nothing() -> None:
    everyone = ["Ann Reed", "Bo Lane", "Cy Moss"]
    assert knows_from_answer("Ann Reed lives next door.", "Ann Reed", everyone)
    assert knows_from_answer("Sure, Ann brings the bread.", "Ann Reed", everyone), "a first name nobody shares"
    assert not knows_from_answer("I don't know Ann Reed.", "Ann Reed", everyone)
    assert not knows_from_answer("Bo Lane, maybe?", "Ann Reed", everyone)

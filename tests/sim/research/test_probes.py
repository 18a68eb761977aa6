"""Interview probes: every person asked about a fact and about each other, answers recorded and classified."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from sim.research.probes import confirms, knows_from_answer, parse
from sim.worldfile.scenario import FactSpec
from tests.agents.test_generative import generative_town
from tests.conftest import hamlet_process


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("probe")
    run = folder / "town.db"
    result = hamlet_process(
        "run", generative_town(folder, people=3), "--llm", "scripted-inprocess", "--hours", "8", "--out", run, "--quiet"
    )
    assert result.code == 0, result.err
    return run


@pytest.mark.slow
def test_the_probe_asks_everyone_for_a_structured_answer_and_records_it_with_the_rules_check(town: Path) -> None:
    result = hamlet_process("metrics", town, "--probe", "--json", "--at", "+6h")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    db = sqlite3.connect(town)
    asked = db.execute("SELECT person, question, answer, time FROM interview ORDER BY id").fetchall()
    people = data["people"]
    assert len(asked) == len(people) + len(people) * (len(people) - 1), "the fact's question, then each other person"
    assert {time for *_, time in asked} == {"2026-02-13T12:00:00"}, "asked as of --at"
    fact = FactSpec.model_validate(
        yaml.safe_load(db.execute("SELECT scenario_yaml FROM run").fetchone()[0])["facts"][0]
    )
    probed = db.execute("SELECT person, kind, subject, heard, what, keyword FROM probe ORDER BY id").fetchall()
    assert len(probed) == len(asked), "every probe recorded with the person's own answer and the rule's check"
    for (person, _, answer, _), (who, kind, _, heard, what, keyword) in zip(asked, probed, strict=True):
        assert who == person and (heard, what) == parse(answer), "the structured answer, as the model gave it"
        if kind == "fact":
            assert bool(keyword) == confirms(fact, what), "the rule applied to the 'what'"
    rows = data["diffusion"]["valentines_party"]["probe"]
    assert all(r["agree"] == (r["heard"] is not None and r["heard"] == r["keyword"]) for r in rows)
    assert len(data["probes"]) == len(asked)
    assert data["probe_disagreements"] == [r for r in data["probes"] if not r["agree"]]
    said = {(r["person"], r["other"]): r["heard"] for r in data["acquaintance_probe"]["answers"]}
    assert len(said) == len(people) * (len(people) - 1)
    yes = sum(bool(v) for v in said.values())
    assert data["acquaintance_probe"]["density"] == round(yes / (len(people) * (len(people) - 1)), 6)
    probe_edges = {(a, b) for a, b, _, how in data["knows_edges"] if how == "probe"}
    assert probe_edges <= {pair for pair, heard in said.items() if heard}, "a yes of the probe is a knows edge"
    calls = db.execute("SELECT COUNT(*) FROM llm_call WHERE tick = -1 AND purpose = 'interview'").fetchone()[0]
    assert calls >= len(asked), "each answer is an LLM call of the run's model, recorded"


def test_a_structured_answer_is_parsed_and_anything_else_is_kept_as_said() -> None:
    assert parse('{"heard": true, "what": "a party"}') == (True, "a party")
    assert parse("I don't remember.") == (None, "I don't remember."), "a free answer (older files, failed calls)"
    assert parse("") == (None, "")


def test_the_rules_check_of_what_was_heard_reads_whole_words_and_denials() -> None:
    fact = FactSpec(name="party", text="A party on Saturday.", keywords=["party", "Valentine"])
    assert confirms(fact, "Sofia's VALENTINE party, yes!")
    assert not confirms(fact, "I am busy on Saturday.")
    assert not confirms(fact, "No, I haven't heard of any party."), "an echo of the question is no confirmation"
    assert not confirms(fact, "No, I'm not going to any party this weekend.")
    assert not confirms(fact, "I ordered from a third-party vendor.")
    assert fact.probe() == "Have you heard anything about party or Valentine?"
    bare = FactSpec(name="x", text="The mill closes.")
    assert confirms(bare, "I heard the mill closes.") and bare.probe() == "What news have you heard lately?"


def test_what_someone_says_of_a_person_names_them_and_denies_nothing() -> None:
    everyone = ["Ann Reed", "Bo Lane", "Cy Moss"]
    assert knows_from_answer("Ann Reed lives next door.", "Ann Reed", everyone)
    assert knows_from_answer("Sure, Ann brings the bread.", "Ann Reed", everyone), "a first name nobody shares"
    assert not knows_from_answer("I don't know Ann Reed.", "Ann Reed", everyone)
    assert not knows_from_answer("I have never heard of Ann.", "Ann Reed", everyone)
    assert not knows_from_answer("Bo Lane, maybe?", "Ann Reed", everyone)

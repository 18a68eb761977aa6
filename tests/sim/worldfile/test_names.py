"""Person names as users type them: any case or a unique first name works, anything else is one line with a suggestion."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sim.worldfile.names import match_person, suggestion
from sim.worldfile.scenario import parse_scenario
from tests.conftest import TINY_WORLD, assert_one_line_error

PEOPLE = ["Sofia Marchetti", "Mateo Quispe", "Jonas Achterberg", "Lotte Achterberg", "Jonas Weber"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Sofia Marchetti", "Sofia Marchetti"),
        ("sofia marchetti", "Sofia Marchetti"),
        ("MATEO QUISPE", "Mateo Quispe"),
        ("sofia", "Sofia Marchetti"),
        ("Lotte", "Lotte Achterberg"),
    ],
)
def test_a_name_in_any_case_or_a_unique_first_name_means_that_person(typed: str, meant: str) -> None:
    assert match_person(typed, PEOPLE) == meant


def test_a_first_name_two_people_share_is_refused_with_both() -> None:
    with pytest.raises(ValueError, match="ambiguous: write one of Jonas Achterberg, Jonas Weber"):
        match_person("jonas", PEOPLE)


def test_an_unknown_name_suggests_the_closest_or_lists_everyone() -> None:
    with pytest.raises(
        ValueError, match=r"unknown person 'Sophia Marketti' in this run; did you mean 'Sofia Marchetti'\?"
    ):
        match_person("Sophia Marketti", PEOPLE, among=" in this run")
    with pytest.raises(ValueError, match="unknown person 'Zed'; people: Sofia Marchetti, Mateo Quispe"):
        match_person("Zed", PEOPLE)


def test_the_suggestion_ignores_case() -> None:
    assert suggestion("canal green", ["Canal Green", "Wrenfield Library"]) == "; did you mean 'Canal Green'?"
    assert suggestion("xyzzy", ["Canal Green"]) == ""


# -- world files ---------------------------------------------------------------------------------


def test_a_world_file_names_people_in_any_case_and_by_first_name() -> None:
    text = TINY_WORLD.replace(
        "  - name: Bo\n    home: Home\n",
        "  - name: Bo Lind\n    home: Home\n    relationships: [{name: ann, relation: friend}]\n",
    )
    text += (
        "facts:\n  - {name: fair, text: a fair, seeded_to: [bo]}\n"
        "interventions:\n  - {at: +1h, kind: whisper, person: ANN, text: psst}\n"
    )
    scenario = parse_scenario(text)
    assert scenario.people[1].relationships[0].name == "Ann"
    assert scenario.facts[0].seeded_to == ["Bo Lind"]
    assert scenario.interventions[0].person == "Ann"


def test_a_misspelt_person_in_a_world_file_is_one_line_with_a_suggestion(hamlet, tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(TINY_WORLD + "facts:\n  - {name: fair, text: a fair, seeded_to: [Bob]}\n")
    assert_one_line_error(hamlet("validate", path), "facts[0].seeded_to", "unknown person 'Bob'", "did you mean 'Bo'?")


def test_a_place_in_the_wrong_case_gets_a_suggestion(hamlet, tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(TINY_WORLD.replace("do: walks, place: Park", "do: walks, place: park"))
    assert_one_line_error(
        hamlet("validate", path), "people[0].routine[1].place", "unknown place 'park'", "did you mean 'Park'?"
    )


# -- commands that name a person -----------------------------------------------------------------


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-hour run of the tiny world (Ann and Bo), with minds that remember, to be interviewed."""
    from tests.conftest import record_run

    folder = tmp_path_factory.mktemp("names")
    (folder / "tiny.yaml").write_text(TINY_WORLD)
    run = folder / "done.db"
    record_run(
        folder / "tiny.yaml",
        run,
        "--hours",
        "2",
        "--set",
        "mind=generative",
        "--set",
        "embeddings=hash",
        llm="scripted-inprocess",
    )
    return run


def test_interview_asks_the_person_a_lower_case_name_means(hamlet, finished: Path) -> None:
    result = hamlet("interview", finished, "ann", "Who are you?", "--llm", "scripted-inprocess")
    assert result.code == 0, result.err
    assert "] Ann: " in result.out
    with sqlite3.connect(finished) as db:
        assert db.execute("SELECT person FROM interview ORDER BY id DESC").fetchone() == ("Ann",)


def test_interview_of_a_misspelt_person_is_one_line_with_a_suggestion(hamlet, finished: Path) -> None:
    assert_one_line_error(
        hamlet("interview", finished, "Anne", "Who are you?", "--llm", "scripted-inprocess"),
        "PERSON",
        "unknown person 'Anne' in this run",
        "did you mean 'Ann'?",
    )


def test_metrics_person_takes_any_case_and_suggests_for_a_typo(hamlet, finished: Path) -> None:
    result = hamlet("metrics", finished, "--person", "bo", "--json")
    assert result.code == 0, result.err
    assert {row["person"] for row in json.loads(result.out)["activity"]} == {"Bo"}
    assert_one_line_error(
        hamlet("metrics", finished, "--person", "Boo"), "--person", "unknown person 'Boo'", "did you mean 'Bo'?"
    )


def test_an_intervention_names_its_person_in_any_case(hamlet, finished: Path, tmp_path: Path) -> None:
    # The run is over, so a live whisper is refused for that reason, not for the name.
    assert_one_line_error(
        hamlet("intervene", finished, "whisper", "--person", "ann", "--text", "psst"), "not a live run"
    )
    assert_one_line_error(
        hamlet("intervene", finished, "whisper", "--person", "Anne", "--text", "psst"),
        "person: unknown person 'Anne' in the world at",
        "did you mean 'Ann'?",
    )
    branch = tmp_path / "branch.db"
    result = hamlet(
        "fork",
        finished,
        "--at",
        "+1h",
        "-o",
        branch,
        "--quiet",
        "--intervene",
        "whisper",
        "--person",
        "ANN",
        "--text",
        "The fair is on Sunday.",
    )
    assert result.code == 0, result.err
    with sqlite3.connect(branch) as db:
        assert db.execute("SELECT person FROM event WHERE kind = 'intervene'").fetchall() == [("Ann",)]

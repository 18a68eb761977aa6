"""``hamlet run --people``: a world cut to some of its people, recorded as the run's world."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from sim.errors import UserError
from sim.worldfile.cast import cast
from sim.worldfile.scenario import parse_scenario
from tests.conftest import WORLDS, hamlet_process

SMALLVILLE = (WORLDS / "smallville.yaml").read_text()


def test_the_first_n_people_are_kept_with_only_what_names_them() -> None:
    world = parse_scenario(cast(SMALLVILLE, "4", "smallville.yaml"))
    kept = {p.name for p in world.people}
    assert kept == {"Hendrik Achterberg", "Lotte Achterberg", "Jonas Achterberg", "Walter Greaves"}
    assert all(r.name in kept for p in world.people for r in p.relationships)
    assert any(p.relationships for p in world.people)  # the family still know each other
    assert all(n in kept for f in world.facts for n in f.seeded_to)
    assert all(i.person in kept for i in world.interventions if i.person)


def test_people_are_chosen_by_name_in_any_case_and_a_wrong_name_gets_a_suggestion() -> None:
    world = parse_scenario(cast(SMALLVILLE, "sofia marchetti, Priya Raman", "smallville.yaml"))
    assert [p.name for p in world.people] == ["Priya Raman", "Sofia Marchetti"]  # the world's order
    with pytest.raises(UserError, match="did you mean 'Sofia Marchetti'"):
        cast(SMALLVILLE, "Sofia Marchetto", "smallville.yaml")
    for wanted in ("0", "10", " , "):
        with pytest.raises(UserError, match="--people"):
            cast(SMALLVILLE, wanted, "smallville.yaml")
    with pytest.raises(UserError, match="team"):
        cast((WORLDS / "software_company.yaml").read_text(), "1", "software_company.yaml")


@pytest.mark.slow
def test_a_run_records_the_cut_world_so_every_reader_sees_the_people_who_ran(tmp_path: Path) -> None:
    run = tmp_path / "cut.db"
    result = hamlet_process(
        "run",
        WORLDS / "smallville.yaml",
        "--people",
        "3",
        "--llm",
        "scripted-inprocess",
        "--hours",
        "1",
        "--out",
        run,
        "--quiet",
    )
    assert result.code == 0, result.err
    recorded = yaml.safe_load(sqlite3.connect(run).execute("SELECT scenario_yaml FROM run").fetchone()[0])
    assert len(recorded["people"]) == 3
    shown = json.loads(hamlet_process("show", run, "--json").out)
    assert [p["name"] for p in shown["people"]] == ["Hendrik Achterberg", "Lotte Achterberg", "Jonas Achterberg"]


def test_a_bad_people_option_is_one_line_and_no_file(tmp_path: Path) -> None:
    result = hamlet_process(
        "run", WORLDS / "smallville.yaml", "--people", "Nobody Here", "--llm", "scripted", "--out", tmp_path / "x.db"
    )
    assert result.code != 0 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1 and "--people" in result.err
    assert not (tmp_path / "x.db").exists()

"""Scenario files: what validates, and one clear line for each kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.worldfile.scenario import load_scenario, parse_scenario
from tests.conftest import TINY_WORLD, WORLDS, assert_one_line_error


def write(tmp_path: Path, text: str, name: str = "world.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("world", sorted(WORLDS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_world_validates(world: Path, hamlet) -> None:
    result = hamlet("validate", world)
    assert result.code == 0, result.err
    assert "valid" in result.out


def test_place_references_resolve_sector_area_and_unique_area_names() -> None:
    scenario = parse_scenario(TINY_WORLD)
    assert scenario.resolve_place("Home") == "Home:room"
    assert scenario.resolve_place("Park:lawn") == "Park:lawn"
    assert scenario.resolve_place("lawn") == "Park:lawn"


def test_schema_command_prints_json_schema_with_every_top_level_key(hamlet) -> None:
    result = hamlet("schema")
    schema = json.loads(result.out)
    assert {"name", "start", "sectors", "people", "interventions", "facts"} <= set(schema["properties"])
    assert "PersonSpec" in schema["$defs"]


def test_missing_file_names_the_path(hamlet, tmp_path: Path) -> None:
    assert_one_line_error(hamlet("validate", tmp_path / "nope.yaml"), "nope.yaml", "no such file")


def test_invalid_yaml_names_line_and_column(hamlet, tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\npeople: [a, b\nsectors: {\n")
    assert_one_line_error(hamlet("validate", path), "world.yaml", "line", "invalid YAML")


def test_empty_file_says_it_is_empty(hamlet, tmp_path: Path) -> None:
    assert_one_line_error(hamlet("validate", write(tmp_path, "\n# nothing\n")), "world.yaml", "empty")


def test_list_at_top_level_where_a_mapping_is_expected(hamlet, tmp_path: Path) -> None:
    assert_one_line_error(
        hamlet("validate", write(tmp_path, "- name: x\n- name: y\n")), "top level is a list", "mapping"
    )


BAD_WORLDS = [  # the tiny world with one mistake, and what the one line of `hamlet validate` must name
    pytest.param(
        TINY_WORLD.replace("  - name: Bo\n    home: Home\n", "  - [Bo, Home]\n"),
        ["people[1]", "expected a mapping"],
        id="list_where_a_person_mapping_is_expected",
    ),
    pytest.param(
        TINY_WORLD.replace("    home: Home\n", "    home: Hme\n", 1),
        ["people[0].home", "'Hme'", "did you mean"],
        id="unknown_place_as_home_suggests_the_closest_name",
    ),
    pytest.param(
        TINY_WORLD.replace("  - name: Bo\n", "  - name: Ann\n"),
        ["people[1].name", "duplicate", "'Ann'"],
        id="duplicate_person_names_are_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace(
            "      - name: room\n        objects: [bed, desk]\n", "      - name: room\n      - name: room\n"
        ),
        ["sectors[0].areas[1].name", "duplicate"],
        id="duplicate_area_names_in_a_sector_are_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace("  - name: Bo\n    home: Home\n", "  - name: Bo\n    age: 4\n"),
        ["people[1].home", "missing"],
        id="person_in_no_place_is_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace("start: 2026-03-02T06:00", "start: next tuesday"),
        ["start", "ISO 8601"],
        id="bad_start_time_is_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace('"10:00"', '"25:00"'),
        ["people[0].routine[1].at", "25:00"],
        id="bad_routine_time_is_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace("minutes: 5", "minutes: -5"),
        ["links[0].minutes", "-5"],
        id="negative_travel_time_is_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace("seed: 3", "seed: 3\nsede: 4"), ["sede", "unknown field"], id="unknown_field_is_named"
    ),
    pytest.param(
        TINY_WORLD.replace("object: desk", "object: piano"),
        ["routine[0].object", "piano", "bed, desk"],
        id="unknown_object_in_routine_lists_what_is_there",
    ),
    pytest.param(
        TINY_WORLD.replace("links:\n  - between: [Home, Park]\n    minutes: 5\n", ""),
        ["links", "cannot be reached"],
        id="unconnected_places_are_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace("hamlet: 1", "hamlet: 99"), ["hamlet", "upgrade"], id="newer_format_version_asks_to_upgrade"
    ),
    pytest.param(
        TINY_WORLD + "interventions:\n  - {at: +1h, kind: whisper, person: Ann}\n",
        ["interventions[0]", "needs text"],
        id="intervention_needs_the_fields_of_its_kind",
    ),
    pytest.param(
        TINY_WORLD + "interventions:\n  - {at: tomorrow, kind: whisper, person: Ann, text: hi}\n",
        ["interventions[0].at", "tomorrow"],
        id="bad_intervention_time_is_named_at_validate",
    ),
    pytest.param(
        TINY_WORLD + "interventions:\n  - {at: '2020-01-01T00:00', kind: whisper, person: Ann, text: hi}\n",
        ["interventions[0].at", "before"],
        id="intervention_before_the_start_is_rejected",
    ),
    pytest.param(
        TINY_WORLD.replace("  - name: Bo\n", "  - name: Bo\n    mind: telepath\n"),
        ["people[1].mind", "telepath", "schedule"],
        id="unknown_mind_is_caught_by_validate",
    ),
    pytest.param(
        TINY_WORLD + "minds:\n  schedule: {jitter_minute: 5}\n",
        ["minds.schedule.jitter_minute", "jitter_minutes"],
        id="unknown_mind_parameter_lists_the_ones_it_takes",
    ),
    pytest.param(
        TINY_WORLD.replace("      - name: lawn\n", "      - name: Home\n").replace("place: Park}", "place: Park:Home}"),
        ["ambiguous", "Home:room", "Park:Home"],
        id="a_name_that_is_both_a_sector_and_an_area_elsewhere_is_ambiguous",
    ),
]


@pytest.mark.parametrize(("text", "needles"), BAD_WORLDS)
def test_a_mistake_in_a_world_is_one_line_naming_it(hamlet, tmp_path: Path, text: str, needles: list[str]) -> None:
    assert_one_line_error(hamlet("validate", write(tmp_path, text)), *needles)


def test_routine_is_sorted_by_time(tmp_path: Path) -> None:
    text = TINY_WORLD.replace('      - {at: "07:00", do: reads, place: Home, object: desk}\n', "")
    text = text.replace(
        '      - {at: "21:00", do: sleeps, place: Home, object: bed}\n',
        '      - {at: "21:00", do: sleeps, place: Home, object: bed}\n'
        '      - {at: "07:00", do: reads, place: Home, object: desk}\n',
    )
    scenario = load_scenario(write(tmp_path, text))
    assert [item.at for item in scenario.people[0].routine] == ["07:00", "10:00", "21:00"]


def test_unquoted_times_of_day_that_yaml_reads_as_numbers_still_work() -> None:
    scenario = parse_scenario(TINY_WORLD.replace('"21:00"', "21:00").replace('"10:00"', "10:00"))
    assert [item.at for item in scenario.people[0].routine] == ["07:00", "10:00", "21:00"]


def test_yaml_datetimes_are_accepted_for_intervention_times() -> None:
    scenario = parse_scenario(
        TINY_WORLD + "interventions:\n  - {at: 2026-03-02T08:00:00, kind: whisper, person: Ann, text: hi}\n"
    )
    assert scenario.interventions[0].at.startswith("2026-03-02T08:00")

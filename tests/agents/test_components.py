"""The generative mind's components: each saves and loads its own part of a snapshot, and an
ablation leaves exactly its component out (no call of its purposes, its state as it starts)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import agents  # noqa: F401  (registers the generative mind)
from agents.generative import SWITCHES, GenerativeMind
from sim.core.mind import MindContext
from sim.core.rng import Stream
from sim.core.world import World
from sim.worldfile.scenario import Scenario, load_scenario
from tests.agents.test_generative import generative_town
from tests.conftest import assert_one_line_error, hamlet_process, record_run


def mind_for(scenario: Scenario, name: str, **params: Any) -> GenerativeMind:
    """A mind built as the engine builds it, without a gateway (nothing here asks the model)."""
    ctx = MindContext(scenario, World(scenario), None, Stream(0, name), {"embeddings": "hash", **params})  # type: ignore[arg-type]
    return GenerativeMind(scenario.person(name), ctx)


def last_minds(run: Path) -> list[dict[str, dict[str, Any]]]:
    """Every snapshot's minds, oldest first."""
    rows = sqlite3.connect(run).execute("SELECT state FROM snapshot ORDER BY id").fetchall()
    return [json.loads(state)["minds"] for (state,) in rows]


def purposes(run: Path) -> set[str]:
    """The purposes of the run's LLM calls."""
    return {p for (p,) in sqlite3.connect(run).execute("SELECT DISTINCT purpose FROM llm_call")}


def town_run(world: Path, run: Path, *options: str) -> None:
    """The town for 14 hours on the eager scripted model, reflecting at 40, with ``options`` besides."""
    record_run(
        world,
        run,
        "--llm-profile",
        "eager",
        "--hours",
        "14",
        "--set",
        "reflection_threshold=40",
        *options,
        llm="scripted-inprocess",
    )


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A world of four and a run of it long enough that every component has state and made its calls."""
    folder = tmp_path_factory.mktemp("components")
    world, run = generative_town(folder, people=4), folder / "all.db"
    town_run(world, run)
    return world, run


@pytest.mark.slow
def test_each_component_saves_and_loads_its_own_keys_and_together_they_make_the_snapshot(
    town: tuple[Path, Path],
) -> None:
    world, run = town
    scenario = load_scenario(world)
    snapshots = last_minds(run)
    saved = snapshots[-1]
    # some snapshot of the run holds each key set (at the last one everyone may be on the road)
    used = {
        key
        for minds in snapshots
        for state in minds.values()
        for key, value in state.items()
        if value not in (None, [], {}, 0, 0.0)
    }
    assert {"plan", "actions", "current", "seen", "things", "last_talk", "stream", "next_id"} <= used, (
        "a state worth restoring"
    )
    for name, state in saved.items():
        mind = mind_for(scenario, name)
        mind.restore(state)
        assert mind.state() == state
        parts = {part: set(c.state()) for part, c in mind.components().items()}
        assert sum(len(keys) for keys in parts.values()) == len(state), "no key belongs to two components"
        assert set().union(*parts.values()) == set(state)
        for part, keys in parts.items():
            fresh = mind_for(scenario, name).components()[part]
            assert fresh.state() == type(fresh).EMPTY, f"{part}: a new component's state is its EMPTY"
            fresh.restore(state)
            assert fresh.state() == {key: state[key] for key in keys}, part


def test_with_every_component_on_each_makes_its_calls(town: tuple[Path, Path]) -> None:
    world, run = town
    mind = mind_for(load_scenario(world), load_scenario(world).people[0].name)
    made = purposes(run)
    for part, component in mind.components().items():
        assert set(component.PURPOSES) <= made, part


@pytest.mark.parametrize("switch", sorted(SWITCHES))
@pytest.mark.slow
def test_an_ablation_leaves_exactly_its_component_out(town: tuple[Path, Path], tmp_path: Path, switch: str) -> None:
    world, _ = town
    scenario = load_scenario(world)
    part = SWITCHES[switch]
    whole = mind_for(scenario, scenario.people[0].name)
    components = mind_for(scenario, scenario.people[0].name, **{switch: False}).components()
    assert [p for p, c in components.items() if c is None] == [part]
    left_out = whole.components()[part]

    run = tmp_path / "r.db"
    town_run(world, run, "--set", f"{switch}=off")
    made = purposes(run)
    assert not made & set(left_out.PURPOSES), f"{switch}=off still calls {made & set(left_out.PURPOSES)}"
    assert "decompose" in made, "people still act"
    for minds in last_minds(run):
        for state in minds.values():
            assert {key: state[key] for key in type(left_out).EMPTY} == type(left_out).EMPTY
    if switch == "observation":
        kinds = {k for (k,) in sqlite3.connect(run).execute("SELECT DISTINCT kind FROM memory")}
        assert "observation" not in kinds


@pytest.mark.parametrize("setting", ["reflection=maybe", "generative.reaction=2"])
def test_a_switch_set_to_anything_but_on_or_off_is_one_line(tmp_path: Path, setting: str) -> None:
    result = hamlet_process(
        "run",
        generative_town(tmp_path, people=2),
        "--llm",
        "scripted-inprocess",
        "--hours",
        "1",
        "--set",
        setting,
        "--out",
        tmp_path / "r.db",
        "--quiet",
    )
    assert result.code == 2
    assert_one_line_error(result, setting, "is a switch", "on", "off")
    assert not (tmp_path / "r.db").exists()


def test_a_switch_in_a_world_file_must_be_on_or_off(tmp_path: Path) -> None:
    world = generative_town(tmp_path, people=2)
    world.write_text(
        world.read_text().replace("minds:\n  generative:\n", "minds:\n  generative:\n    planning: later\n")
    )
    result = hamlet_process("validate", world)
    assert result.code == 2
    assert_one_line_error(result, "minds.generative.planning", "'later'", "on or off")


def test_the_viewer_reads_minds_through_sim_mind_and_imports_none() -> None:
    import ast

    from tests.conftest import ROOT

    for path in sorted((ROOT / "sim" / "tui").glob("*.py")):
        tree = ast.parse(path.read_text())
        names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [n for n in names if n == "agents" or n.startswith("agents.")], path.name


def test_a_person_in_a_building_of_flats_is_offered_their_own_flat_and_the_shared_rooms_never_a_neighbours() -> None:
    from agents.generative.identity import known_places
    from sim.worldfile.scenario import load_scenario
    from tests.conftest import WORLDS

    town = load_scenario(WORLDS / "smallville.yaml")
    spec = {p.name: p for p in town.people}
    flats, _ = known_places(town, spec["Sofia Marchetti"])
    assert "Canal Lofts:Sofia's flat" in flats and "Canal Lofts:shared lounge" in flats
    assert "Canal Lofts:Priya's flat" not in flats and "Canal Lofts:Mateo's flat" not in flats
    house, _ = known_places(town, spec["Jonas Achterberg"])  # a house named whole is the whole household's
    assert "Achterberg House:parents' bedroom" in house
    assert not any(p.startswith(("Canal Lofts", "Greaves Cottage")) for p in house)

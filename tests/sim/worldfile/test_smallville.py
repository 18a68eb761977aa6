"""hamlet import smallville: both Smallville bases become valid worlds that run; a broken folder is one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import SHARED, assert_one_line_error, hamlet_process

FRONTEND = SHARED / "peers" / "generative_agents" / "environment" / "frontend_server"
BASES = {
    3: FRONTEND / "storage" / "base_the_ville_isabella_maria_klaus",
    25: FRONTEND / "storage" / "base_the_ville_n25",
}
MAP = FRONTEND / "static_dirs" / "assets" / "the_ville" / "matrix"

pytestmark = pytest.mark.skipif(not MAP.is_dir(), reason="the Smallville peer data is not beside the checkout")


@pytest.mark.slow
@pytest.mark.parametrize("people", [3, 25])
def test_a_smallville_base_imports_validates_and_runs_two_hours(people: int, tmp_path: Path) -> None:
    world = tmp_path / "ville.yaml"
    made = hamlet_process("import", "smallville", BASES[people], "-o", world)
    assert made.code == 0, made.err
    assert f"{people} people" in made.out and "19 sectors" in made.out
    assert hamlet_process("validate", world).code == 0
    data = yaml.safe_load(world.read_text())
    assert len(data["people"]) == people and all(p.get("memories") for p in data["people"])
    run = tmp_path / "ville.db"
    result = hamlet_process("run", world, "--llm", "scripted-inprocess", "--hours", "2", "--out", run, "--quiet")
    assert result.code == 0, result.err
    assert "finished at 2023-02-13T02:00:00" in result.out


@pytest.mark.slow
def test_personas_homes_map_objects_history_and_walks_come_through(tmp_path: Path) -> None:
    world = tmp_path / "ville.yaml"
    assert hamlet_process("import", "smallville", BASES[3], "-o", world).code == 0
    data = yaml.safe_load(world.read_text())
    people = {p["name"]: p for p in data["people"]}
    assert list(people) == ["Isabella Rodriguez", "Maria Lopez", "Klaus Mueller"]
    isabella = people["Isabella Rodriguez"]
    assert isabella["age"] == 34 and isabella["traits"] == ["friendly", "outgoing", "hospitable"]
    assert isabella["occupation"] == "cafe owner of Hobbs Cafe"
    assert isabella["home"] == "Isabella Rodriguez's apartment:main room"
    assert "start" not in isabella, "environment/0.json has her at home (tile 72, 14), where a person starts anyway"
    assert "Klaus Mueller is a frequent customer at Hobbs Cafe" in isabella["memories"], "from the agent history"
    assert any("Valentine's Day party" in m for m in isabella["memories"]), "from scratch.json's currently"
    sectors = {s["name"]: s for s in data["sectors"]}
    cafe = {a["name"]: a["objects"] for a in sectors["Hobbs Cafe"]["areas"]}
    assert {"piano", "behind the cafe counter", "cafe customer seating"} <= set(cafe["cafe"])
    assert sectors["Dorm for Oak Hill College"]["areas"][0]["name"] == "common room", "the entrance comes first"
    walks = {tuple(link["between"]): link["minutes"] for link in data["links"]}
    assert len(walks) == 19 * 18 // 2
    assert 0.5 <= walks[("Hobbs Cafe", "Johnson Park")] < 60
    bare = tmp_path / "bare.yaml"
    assert hamlet_process("import", "smallville", BASES[3], "-o", bare, "--no-history").code == 0
    memories = yaml.safe_load(bare.read_text())["people"][0]["memories"]
    assert "Klaus Mueller is a frequent customer at Hobbs Cafe" not in memories and len(memories) == 3


def _copy_base(tmp_path: Path) -> Path:
    """A writable copy of the three-person base and its map, laid out as in the Smallville checkout."""
    root = tmp_path / "frontend_server"
    base = root / "storage" / BASES[3].name
    shutil.copytree(BASES[3], base)
    shutil.copytree(MAP.parent, root / "static_dirs" / "assets" / "the_ville")
    return base


@pytest.mark.parametrize(
    ("missing", "needle"),
    [
        ("reverie/meta.json", "meta.json: missing"),
        ("personas/Maria Lopez/bootstrap_memory/scratch.json", "Maria Lopez/bootstrap_memory/scratch.json: missing"),
        ("../../static_dirs/assets/the_ville/matrix/special_blocks/arena_blocks.csv", "arena_blocks.csv: missing"),
        ("../../static_dirs/assets/the_ville/matrix/maze/arena_maze.csv", "arena_maze.csv: missing"),
    ],
)
def test_a_base_folder_missing_a_file_is_one_line_naming_it(tmp_path: Path, missing: str, needle: str) -> None:
    base = _copy_base(tmp_path)
    (base / missing).unlink()
    world = tmp_path / "ville.yaml"
    assert_one_line_error(hamlet_process("import", "smallville", base, "-o", world), needle)
    assert not world.exists()


@pytest.mark.slow
def test_a_missing_folder_map_or_history_and_an_existing_output_are_one_line(tmp_path: Path) -> None:
    world = tmp_path / "ville.yaml"
    assert_one_line_error(hamlet_process("import", "smallville", tmp_path / "nowhere", "-o", world), "no such folder")
    alone = tmp_path / "alone"
    shutil.copytree(BASES[3], alone)
    assert_one_line_error(hamlet_process("import", "smallville", alone, "-o", world), "maze_meta_info.json", "--map")
    assert_one_line_error(
        hamlet_process("import", "smallville", BASES[3], "-o", world, "--history", tmp_path / "h.csv"),
        "--history",
        "no such file",
    )
    world.write_text("keep me")
    assert_one_line_error(hamlet_process("import", "smallville", BASES[3], "-o", world), "already exists")
    assert world.read_text() == "keep me"

"""The town map's drawing (``sim/tui/town.py``): a deterministic layout inside its bounds, labels, marks, walkers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from benchmarks.towns import town as big_town
from sim.tui.town import CROWD, draw, on_the_way, person_marks, picture, short_names, town
from sim.worldfile.scenario import Scenario, load_scenario, parse_scenario
from tests.conftest import ROOT

SIZES = ((47, 20), (37, 14), (120, 40), (20, 8))


def wrenfield() -> Scenario:
    return load_scenario(ROOT / "worlds" / "smallville.yaml")


def test_the_layout_is_the_same_every_time_even_in_another_process_and_inside_the_unit_square() -> None:
    points = town(wrenfield()).points
    assert points == town(wrenfield()).points
    assert all(0 <= x <= 1 and 0 <= y <= 1 for x, y in points.values())
    assert {x for x, _ in points.values()} >= {0.0, 1.0} and {y for _, y in points.values()} >= {0.0, 1.0}  # fills it
    code = (
        "from sim.worldfile.scenario import load_scenario; from sim.tui.town import town; "
        "print(sorted(town(load_scenario('worlds/smallville.yaml')).points.items()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert other.stdout.strip() == str(sorted(points.items()))


def test_a_picture_keeps_nodes_apart_and_labels_clear_of_each_other_inside_its_bounds() -> None:
    shape = town(wrenfield())
    for width, height in SIZES:
        shown = picture(shape, width, height)
        assert shown.nodes == picture(shape, width, height).nodes, "the same size draws the same picture"
        cells = list(shown.nodes.values())
        assert all(0 <= col < width and 0 <= row < height for col, row in cells)
        assert len(set(cells)) == len(cells) and not any((col + 1, row) in cells for col, row in cells)
        covered: set[tuple[int, int]] = set()
        for label in shown.labels.values():
            block = {(label.col + i, row) for i in range(label.width) for row in (label.row, label.marks)}
            assert all(0 <= col < width and 0 <= row < height for col, row in block)
            assert not block & covered and not block & set(cells)
            covered |= block
        for (start, end), path in shown.paths.items():  # a line joins its two nodes, cell by cell
            steps = [shown.nodes[start], *path, shown.nodes[end]]
            assert all(max(abs(a[0] - b[0]), abs(a[1] - b[1])) == 1 for a, b in zip(steps, steps[1:], strict=False))
        rows = draw(shown, {}, [])[0]
        assert len(rows) == height and all(row.cell_len == width for row in rows)
    shown = picture(shape, 47, 20)
    assert len(shown.labels) == len(shape.sectors), "at the viewer's size every place has its name"
    assert {label.name for label in shown.labels.values()} >= {"Library", "Town Hall", "Canal Lofts"}


@pytest.mark.slow
def test_a_world_of_one_sector_is_one_named_node_and_one_too_big_for_the_picture_says_so() -> None:
    world = yaml.safe_load((ROOT / "worlds" / "two_rooms.yaml").read_text())
    world["sectors"], world["links"] = world["sectors"][:1], []  # the house alone: no walks between sectors
    for person in world["people"]:
        person["routine"] = [
            item
            for item in person["routine"]
            if item.get("place") in (None, "free") or str(item["place"]).startswith("House")
        ]
    alone = town(parse_scenario(yaml.safe_dump(world), "house"))
    assert alone.points == {"House": (0.5, 0.5)} and not alone.links
    shown = picture(alone, 47, 20)
    assert shown.nodes == {"House": (23, 10)} and shown.labels["House"].name == "House" and not shown.paths
    crowded = town(parse_scenario(yaml.safe_dump(big_town(1000)), "town1000"))
    assert len(picture(crowded, 47, 20).nodes) == len(crowded.sectors)
    rows, marks = draw(picture(crowded, 20, 10), {}, [])
    assert "too many to draw" in rows[0].plain and not marks


def test_short_names_fit_and_differ() -> None:
    names = [s.name for s in wrenfield().sectors]
    for width in (6, 10, 16):
        short = short_names(names, width)
        assert all(len(label) <= width for label in short.values())
        assert len(set(short.values())) == len(names)
    assert short_names(names, 10)["Wrenfield Library"] == "Library"  # the town's name is not what tells it apart
    assert short_names(names, 16)["Brandt's Grocery"] == "Brandt's Grocery"


def test_people_get_their_initials_while_free_and_one_mark_each() -> None:
    marks = person_marks(["Ann Lee", "Bo Chen", "Ali Noor", "李 小龙"])
    assert marks["Ann Lee"] == "A" and marks["Bo Chen"] == "B" and marks["Ali Noor"] == "N"
    assert len(set(marks.values())) == 4 and all(len(m) == 1 and m.isascii() for m in marks.values())
    assert person_marks(["Dee Wu"], marks) == {**marks, "Dee Wu": "D"}  # a newcomer keeps the others' marks
    assert set(person_marks([f"Person {i}" for i in range(100)]).values()) == {CROWD}


def test_a_walker_is_as_far_along_the_route_as_the_time_walked() -> None:
    shape = town(wrenfield())
    route = [
        "Kettle & Crumb:bakehouse",
        "Kettle & Crumb:counter",
        "Canal Lofts:shared lounge",
        "Canal Lofts:Priya's flat",
    ]  # a minute inside, 4 to the lofts, half a minute inside: 330 seconds
    assert on_the_way(shape, route, 0, 330, 30) == "Kettle & Crumb"
    assert on_the_way(shape, route, 0, 330, 180) == ("Kettle & Crumb", "Canal Lofts", 0.5)
    assert on_the_way(shape, route, 0, 330, 320) == "Canal Lofts"
    assert on_the_way(shape, route, 100, 430, 280) == ("Kettle & Crumb", "Canal Lofts", 0.5)  # from when it began
    shown = picture(shape, 47, 20)
    path = shown.path("Kettle & Crumb", "Canal Lofts")
    rows, marks = draw(
        shown,
        {"Canal Lofts": [("Priya Raman", "P", False)]},
        [
            ("Walter Greaves", "W", ("Kettle & Crumb", "Canal Lofts", 0.1)),
            ("Sofia Marchetti", "S", ("Kettle & Crumb", "Canal Lofts", 0.9)),
        ],
    )
    at = {mark.person: mark for mark in marks}
    early, late = path.index(at["Walter Greaves"].cell), path.index(at["Sofia Marchetti"].cell)
    assert early < late
    label = shown.labels["Canal Lofts"]
    assert at["Priya Raman"].cell is not None and at["Priya Raman"].cell[1] == label.marks
    for mark in marks:
        assert mark.cell is not None and rows[mark.cell[1]].plain[mark.cell[0]] == mark.mark

"""The world model: the place graph, shortest routes with travel time, perception, snapshots."""

from __future__ import annotations

from sim.core.world import World
from sim.worldfile.scenario import parse_scenario
from tests.conftest import TINY_WORLD

CHAIN = TINY_WORLD.replace(
    """links:
  - between: [Home, Park]
    minutes: 5
""",
    """  - name: Shop
    inner_minutes: 2
    areas:
      - name: front
      - name: back
links:
  - between: [Home, Park]
    minutes: 5
  - between: [Park, Shop]
    minutes: 4
  - between: [Home, Shop:back]
    minutes: 20
""",
)


def test_routes_take_the_shortest_path_and_add_up_travel_minutes() -> None:
    world = World(parse_scenario(CHAIN))
    route = world.route("Home:room", "Shop:back")
    assert route.places == ("Home:room", "Park:lawn", "Shop:front", "Shop:back")
    assert route.minutes == 5 + 4 + 2


def test_people_see_who_else_is_in_their_place_and_the_objects_there() -> None:
    world = World(parse_scenario(TINY_WORLD))
    world.place("Ann", "Home:room")
    world.place("Bo", "Home:room")
    world.activity["Bo"] = "naps"
    sight = world.sight("Ann")
    assert sight.people == (("Bo", "naps"),)
    assert sight.objects == (("bed", "idle"), ("desk", "idle"))
    world.depart("Bo", "Park:lawn", 300)
    assert world.sight("Ann").people == ()
    assert world.sight("Bo").place is None
    assert world.arrive("Bo") == "Park:lawn" and world.people_at("Park:lawn") == ["Bo"]


def test_state_round_trip_restores_positions_travel_and_objects() -> None:
    scenario = parse_scenario(TINY_WORLD)
    world = World(scenario)
    world.place("Ann", "Park:lawn")
    world.depart("Bo", "Home:room", 120)
    world.objects["Home:room"]["bed"] = "unmade"
    copy = World(scenario)
    copy.restore(world.state())
    assert copy.state() == world.state()
    assert copy.people_at("Park:lawn") == ["Ann"] and copy.travel["Bo"] == ("Home:room", 120)

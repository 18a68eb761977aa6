"""The world model: a networkx graph of places, who is where, objects and their states."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import networkx as nx

from sim.core.events import WorldState

if TYPE_CHECKING:
    from sim.worldfile.scenario import Scenario


def place_graph(scenario: Scenario) -> nx.Graph:
    """Build the graph of areas: areas of a sector are all linked; links join sectors or areas."""
    graph = nx.Graph()
    for sector in scenario.sectors:
        ids = [f"{sector.name}:{area.name}" for area in sector.areas]
        for area, area_id in zip(sector.areas, ids, strict=True):
            graph.add_node(area_id, sector=sector.name, area=area.name, kind=sector.kind)
        for i, first in enumerate(ids):
            for second in ids[i + 1 :]:
                graph.add_edge(first, second, minutes=sector.inner_minutes)
    for link in scenario.links:
        first, second = (scenario.resolve_place(end) for end in link.between)
        if first != second:
            graph.add_edge(first, second, minutes=link.minutes)
    return graph


@dataclass(frozen=True, slots=True)
class Route:
    """A shortest path between two areas and how long it takes to walk."""

    places: tuple[str, ...]
    minutes: float


@dataclass(frozen=True, slots=True)
class Sight:
    """What a person sees where they are: the others present and the objects' states."""

    place: str | None
    people: tuple[tuple[str, str], ...]
    objects: tuple[tuple[str, str], ...]


class FixedWorld:
    """What a mind may read of the world: its place graph and routes, which never change during a run.

    Everything else a mind learns of the world comes in its ``Percept``; that is what lets the
    engine think a wake-up through before the clock gets there (``sim.core.lookahead``).
    """

    def __init__(self, world: World) -> None:
        self.graph = world.graph
        self._world = world

    def route(self, src: str, dst: str) -> Route:
        """The shortest path from ``src`` to ``dst`` with its travel time."""
        return self._world.route(src, dst)


class World(WorldState):
    """The place graph and the world's state (positions, activities, objects); changed only by the engine's events."""

    def __init__(self, scenario: Scenario) -> None:
        self.graph = place_graph(scenario)
        self.people: list[str] = []
        # person -> area id, or None while travelling between places
        self.position: dict[str, str | None] = {}
        # person -> (destination area, arrival second) while travelling
        self.travel: dict[str, tuple[str, int]] = {}
        # area id -> people there, kept sorted on read
        self.occupants: dict[str, set[str]] = {node: set() for node in self.graph.nodes}
        # person -> what they are doing now, in words
        self.activity: dict[str, str] = {}
        # area id -> object name -> state
        self.objects: dict[str, dict[str, str]] = {
            f"{sector.name}:{area.name}": {obj.name: obj.state for obj in area.objects}
            for sector in scenario.sectors
            for area in sector.areas
        }
        # person -> the plan they follow; person -> (second set off, areas passed) while walking
        # (the viewer's: nothing in the engine reads them, and snapshots do not keep them)
        self.plans: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._route = lru_cache(maxsize=65536)(self._shortest)
        self._tree = lru_cache(maxsize=256)(self._shortest_tree)

    # -- movement ------------------------------------------------------------------------

    def _shortest_tree(self, src: str) -> tuple[dict[str, str], dict[str, float]]:
        # One Dijkstra per starting place serves every destination: a town's people start from a
        # few hundred places but travel between thousands of pairs of them.
        pred, dist = nx.dijkstra_predecessor_and_distance(self.graph, src, weight="minutes")
        return {node: before[0] for node, before in pred.items() if before}, dist

    def _shortest(self, src: str, dst: str) -> Route:
        # The same path nx.single_source_dijkstra(graph, src, dst) returns: its path to a node is
        # the one through the node's first recorded predecessor.
        before, dist = self._tree(src)
        if dst not in dist:
            raise nx.NetworkXNoPath(f"no path from {src} to {dst}")
        path = [dst]
        while path[-1] != src:
            path.append(before[path[-1]])
        return Route(tuple(reversed(path)), float(dist[dst]))

    def route(self, src: str, dst: str) -> Route:
        """The shortest path from ``src`` to ``dst`` with its travel time."""
        return self._route(src, dst)

    def place(self, person: str, area: str) -> None:
        """Put ``person`` in ``area`` at once (spawn or arrival)."""
        self.leave(person)
        self.position[person] = area
        self.occupants[area].add(person)

    def depart(self, person: str, destination: str, arrival: int, began: int = 0, route: tuple[str, ...] = ()) -> None:
        """Take ``person`` out of their place; they are on the way until ``arrive``."""
        self.leave(person)
        WorldState.depart(self, person, destination, arrival, began, route)

    def arrive(self, person: str) -> str:
        """Finish a journey: the person is now at its destination, which is returned."""
        destination, _ = self.travel.pop(person)
        self.place(person, destination)
        return destination

    def leave(self, person: str) -> None:
        """Take ``person`` off the map (before a move, or when removed from the world)."""
        area = self.position.pop(person, None)
        if area is not None:
            self.occupants[area].discard(person)
        self.travel.pop(person, None)
        self.routes.pop(person, None)

    def remove(self, person: str) -> None:
        """Remove a person from the world entirely."""
        self.leave(person)
        WorldState.remove(self, person)

    # -- perception ----------------------------------------------------------------------

    def sight(self, person: str) -> Sight:
        """What ``person`` perceives in their current place."""
        return self.sight_at(self.position.get(person), person)

    def sight_at(self, area: str | None, person: str) -> Sight:
        """What ``person`` would perceive in ``area`` as it is now (None: on the road)."""
        if area is None:
            return Sight(None, (), ())
        people = tuple(
            (other, self.activity.get(other, "")) for other in sorted(self.occupants[area]) if other != person
        )
        objects = tuple(self.objects[area].items())
        return Sight(area, people, objects)

    def people_at(self, area: str) -> list[str]:
        """Everyone in ``area``, sorted by name."""
        return sorted(self.occupants.get(area, ()))

    # -- snapshots -----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything that changes during a run, as JSON-ready data."""
        return {
            "position": dict(sorted(self.position.items())),
            "travel": {k: list(v) for k, v in sorted(self.travel.items())},
            "activity": dict(sorted(self.activity.items())),
            "objects": {area: dict(objs) for area, objs in sorted(self.objects.items()) if objs},
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load the changing part of the world from a snapshot."""
        self.position, self.travel, self.activity, self.plans, self.routes = {}, {}, dict(state["activity"]), {}, {}
        self.occupants = {node: set() for node in self.graph.nodes}
        for person, area in state["position"].items():
            self.position[person] = area
            if area is not None:
                self.occupants[area].add(person)
        self.people = sorted(self.position)  # everyone in the world has a position (None while travelling)
        self.travel = {k: (v[0], int(v[1])) for k, v in state["travel"].items()}
        for area, objs in state["objects"].items():
            self.objects[area] = dict(objs)

"""The town as a picture, in plain data (no Textual): sectors placed by a layout of the place graph, walks as lines, people as marks.

``town(scenario)`` places each sector on the unit square once (a seeded spring layout of the
sectors and their links, so a world always draws the same map). ``picture(town, width, height)``
scales that into a grid of character cells: a node for each sector, a line for each walk, and
for each sector a label (a short name, and under it the marks of the people there) where it fits.
``draw(picture, ...)`` puts the people of one moment on it: those in a sector in its label, those
walking on the line they walk, as far along it as the time walked. ``sim/tui/map.py`` shows it.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import networkx as nx
from rich.text import Text

from sim.core.events import clip
from sim.core.world import place_graph
from sim.worldfile.scenario import Scenario

LAYOUT_SEED = 7
"""The spring layout's seed: the same world always draws the same map."""

SPRING_LIMIT = 400
"""Sectors beyond which there is no map: a picture of so many would not read, and networkx's layout of them needs scipy."""

ROOM = 4
"""Cells of the picture each sector needs, at the least, for the map to be drawn."""

NUDGE = 6
"""How many cells at most a node is moved off its place in the layout to keep it apart from the others."""

POOL = string.ascii_uppercase + string.ascii_lowercase + string.digits
"""The one-cell marks people get (ASCII letters and digits, so every mark is one cell wide)."""

CROWD = "•"
"""The mark of everyone when a world has more people than ``POOL`` has marks."""

MARKS_WIDTH = 4
"""The fewest cells a label's row of marks has, enough for ``+99``."""

Cell = tuple[int, int]
"""(column, row) on the picture."""

PRESENT, WALKING = "bold green", "bold yellow"
"""The styles of the marks of people at a place and of people on the way."""


@dataclass(frozen=True, slots=True)
class Town:
    """A world's sectors on the unit square, the walks between them, and its place graph (for walking times)."""

    sectors: tuple[str, ...]
    points: dict[str, tuple[float, float]]
    links: tuple[tuple[str, str], ...]  # sector pairs joined by a link, each once, in world order
    graph: nx.Graph

    def sector(self, area: str) -> str:
        """The sector an area id (``Sector:Area``) belongs to."""
        return area.split(":", 1)[0]


def town(scenario: Scenario) -> Town:
    """Place ``scenario``'s sectors with a seeded layout of the graph of sectors and links."""
    names = tuple(s.name for s in scenario.sectors)
    sectors = nx.Graph()
    sectors.add_nodes_from(names)
    for link in scenario.links:
        first, second = (scenario.resolve_place(end).split(":", 1)[0] for end in link.between)
        if first != second:
            # a short walk pulls harder: the layout puts places a short walk apart near each other
            pull = 1.0 / max(link.minutes, 0.5)
            if sectors.has_edge(first, second):
                pull = max(pull, sectors[first][second]["pull"])
            sectors.add_edge(first, second, pull=pull)
    order = {name: index for index, name in enumerate(names)}
    links = tuple(
        sorted(
            (tuple(sorted((a, b), key=order.__getitem__)) for a, b in sectors.edges),
            key=lambda ab: (order[ab[0]], order[ab[1]]),
        )
    )
    return Town(names, _layout(sectors, names), links, place_graph(scenario))


def _layout(graph: nx.Graph, names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """Each sector's point on the unit square: a seeded spring layout, stretched to fill it (none for too many)."""
    if len(names) == 1:
        return {names[0]: (0.5, 0.5)}
    if len(names) > SPRING_LIMIT:
        return {}
    # more iterations settle a small town better; a big one takes long enough with the default
    found = nx.spring_layout(graph, weight="pull", seed=LAYOUT_SEED, iterations=200 if len(names) <= 50 else 50)
    raw = {name: (float(found[name][0]), float(found[name][1])) for name in names}
    xs, ys = [p[0] for p in raw.values()], [p[1] for p in raw.values()]
    return {name: (_unit(x, min(xs), max(xs)), _unit(y, min(ys), max(ys))) for name, (x, y) in raw.items()}


def _unit(value: float, low: float, high: float) -> float:
    return 0.5 if high - low < 1e-9 else min(1.0, max(0.0, (value - low) / (high - low)))


def short_names(names: Sequence[str], width: int) -> dict[str, str]:
    """A label of at most ``width`` cells for each name, different for different names where the width allows.

    The name if it fits; else its words that no other name has (``Wrenfield Library`` in a town
    of ``Wrenfield ...``: ``Library``), or as many of their first words as fit, with an ellipsis.
    Names that would still look alike keep their ends instead (``…use 12``).
    """
    counts = Counter(word for name in names for word in set(name.split()))
    short = {}
    for name in names:
        own = " ".join(word for word in name.split() if counts[word] == 1)
        base = own if any(c.isalpha() for c in own) else name
        short[name] = name if len(name) <= width else base if len(base) <= width else _first_words(base, width)
    seen = Counter(short.values())
    return {
        name: label if seen[label] == 1 or len(name) <= width else "…" + name[len(name) - width + 1 :]
        for name, label in short.items()
    }


def _first_words(name: str, width: int) -> str:
    """The most of ``name``'s first words that fit in ``width`` cells with an ellipsis (cut inside the first if none)."""
    words = name.split()
    for count in range(len(words) - 1, 0, -1):
        kept = " ".join(words[:count])
        if len(kept) < width and any(c.isalnum() for c in words[count - 1]):
            return kept + "…"
    return clip(name, width)


def person_marks(people: Iterable[str], taken: dict[str, str] | None = None) -> dict[str, str]:
    """A one-cell mark for each person, their initials where free, added to the marks ``taken`` already.

    Marks are unique while ``POOL`` lasts; everyone after that is ``CROWD``, and in a world that
    has more people than marks from the start, everyone is.
    """
    marks = dict(taken or {})
    people = [p for p in people if p not in marks]
    used = set(marks.values())
    crowded = not marks and len(people) > len(POOL)
    for person in people:
        if crowded or len(used) >= len(POOL):
            marks[person] = CROWD
            continue
        initials = [word[0] for word in person.split()] + [c for c in person if c != " "]
        wanted = [c.upper() for c in initials] + [c.lower() for c in initials] + list(POOL)
        mark = next(c for c in wanted if c in POOL and c not in used)
        marks[person] = mark
        used.add(mark)
    return marks


@dataclass(slots=True)
class Label:
    """Where a sector's label goes: its short name at (col, row), the marks of the people there at (col, marks)."""

    col: int
    row: int
    marks: int  # the row of the marks: the one under the name, or over it, or the node's
    name: str
    width: int  # cells of both rows


@dataclass(slots=True)
class Picture:
    """The still part of the map at one size: nodes, lines and labels on a grid of cells."""

    width: int
    height: int
    nodes: dict[str, Cell]
    paths: dict[tuple[str, str], list[Cell]]  # the cells of the line from one sector to another, in that order
    labels: dict[str, Label]
    note: str = ""  # why there is no map at this size (then there are no nodes)
    cells: list[list[tuple[str, str]]] = field(default_factory=list)  # (character, style) by row, then column
    clear: set[Cell] = field(default_factory=set)  # cells walkers keep off: the labels' names, with a blank each side

    def path(self, start: str, end: str) -> list[Cell]:
        """The cells of the line from ``start`` to ``end``, from ``start`` (empty if they are not linked)."""
        if (start, end) in self.paths:
            return self.paths[start, end]
        return list(reversed(self.paths.get((end, start), [])))


def picture(town: Town, width: int, height: int) -> Picture:
    """Scale ``town`` into ``width`` × ``height`` cells: nodes kept apart, lines between them, labels where they fit."""
    width, height = max(1, width), max(1, height)
    if not town.points or len(town.sectors) * ROOM > width * height:
        note = (
            f"{len(town.sectors)} places: too many to draw in {width}×{height} cells (a larger terminal shows them)"
            if town.points
            else f"{len(town.sectors)} places: too many for a map"
        )
        return Picture(width, height, {}, {}, {}, note=note)
    nodes: dict[str, Cell] = {}
    near: set[Cell] = set()  # cells a node would touch another in
    for name in town.sectors:
        x, y = town.points[name]
        col, row = nodes[name] = _free_cell((round(x * (width - 1)), round(y * (height - 1))), near, width, height)
        near |= {(col - 1, row), (col, row), (col + 1, row)}
    paths = {(a, b): _line(nodes[a], nodes[b]) for a, b in town.links}
    shown = Picture(width, height, nodes, paths, {})
    shown.cells = [[(" ", "")] * width for _ in range(height)]
    for (start, _), cells in paths.items():
        for (col, row), char in zip(cells, _strokes(nodes[start], cells), strict=True):
            shown.cells[row][col] = (char, "dim")
    _label(shown, town.sectors)
    return shown


def _label(shown: Picture, sectors: Sequence[str]) -> None:
    """Give each sector a label where one fits, the sectors with the fewest free spots first.

    A name is as long as it fits, else shorter: where places are crowded, short names fit more.
    """
    width, height, nodes = shown.width, shown.height, shown.nodes
    longer, shorter = (short_names(sectors, max(6, min(cap, width // share))) for cap, share in ((16, 3), (10, 5)))
    taken = set(nodes.values())
    on_lines = {cell for cells in shown.paths.values() for cell in cells}
    room = {
        name: sum(
            _fits(spot, max(len(shorter[name]), MARKS_WIDTH), taken, width, height)
            for spot in _spots(nodes[name], max(len(shorter[name]), MARKS_WIDTH), width)
        )
        for name in sectors
    }
    for name in sorted(sectors, key=room.__getitem__):  # a stable sort: world order among equals
        label = _place_label(nodes[name], longer[name], taken, on_lines, width, height) or _place_label(
            nodes[name], shorter[name], taken, on_lines, width, height
        )
        if label is not None:
            shown.labels[name] = label
            taken |= {(label.col + i, r) for i in range(-1, label.width + 1) for r in (label.row, label.marks)}
            shown.clear |= {(label.col + i, label.row) for i in range(-1, len(label.name) + 1)}
            _blank_beside(shown, nodes[name], label)


def _blank_beside(shown: Picture, node: Cell, label: Label) -> None:
    """Clear the lines off the cell each side of a label's name, and between the node and its marks on its row.

    A name or a row of marks that touches a line reads as part of it.
    """
    ends = [(label.col - 1, label.row), (label.col + len(label.name), label.row)]
    if label.marks == node[1]:
        ends += [(col, node[1]) for col in range(min(node[0], label.col) + 1, max(node[0], label.col))]
    for col, row in ends:
        if 0 <= col < shown.width and (col, row) not in shown.nodes.values():
            shown.cells[row][col] = (" ", "")


def _free_cell(wanted: Cell, near: set[Cell], width: int, height: int) -> Cell:
    """``wanted``, or the nearest cell to it not ``near`` a node (in it or beside it on its row)."""
    if wanted not in near:
        return wanted
    col, row = wanted
    for reach in range(1, NUDGE + 1):
        ring = [
            (col + dc, row + dr)
            for dr in range(-reach, reach + 1)
            for dc in range(-reach, reach + 1)
            if max(abs(dc), abs(dr)) == reach and 0 <= col + dc < width and 0 <= row + dr < height
        ]
        free = [cell for cell in ring if cell not in near]
        if free:
            return min(free, key=lambda c: ((c[0] - col) ** 2 + (2 * (c[1] - row)) ** 2, c[1], c[0]))
    return wanted  # no room near: two nodes share a cell, rather than one be drawn far from its neighbours


def _line(start: Cell, end: Cell) -> list[Cell]:
    """The cells between two cells on a straight line (Bresenham's), without either end."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x1 > x0 else -1), (1 if y1 > y0 else -1)
    error, cells = dx + dy, []
    x, y = x0, y0
    while (x, y) != (x1, y1):
        double = 2 * error
        if double >= dy:
            error, x = error + dy, x + sx
        if double <= dx:
            error, y = error + dx, y + sy
        cells.append((x, y))
    return cells[:-1]


def _strokes(start: Cell, cells: list[Cell]) -> list[str]:
    """A line character for each cell of a path from ``start``: the way it went to reach that cell."""
    strokes = []
    for (col, row), (before_col, before_row) in zip(cells, [start, *cells], strict=False):
        dcol, drow = col - before_col, row - before_row
        strokes.append("─" if drow == 0 else "│" if dcol == 0 else "╲" if dcol == drow else "╱")
    return strokes


def _spots(node: Cell, size: int, width: int) -> list[tuple[int, int, int]]:
    """Where a label ``size`` cells wide may go, best first, as (column, row of the name, row of the marks).

    Right of the node, left of it, under it, over it (the marks farther from it than the name),
    and the name a row up beside it with the marks beside the node.
    """
    col, row = node
    middle = min(max(0, col - size // 2), width - size)  # under or over the node, inside the picture
    return [
        (col + 2, row, row + 1),
        (col - 1 - size, row, row + 1),
        (middle, row + 1, row + 2),
        (middle, row - 1, row - 2),
        (col + 2, row - 1, row),
        (col - 1 - size, row - 1, row),
    ]


def _fits(spot: tuple[int, int, int], size: int, taken: set[Cell], width: int, height: int) -> bool:
    """Whether a label ``size`` cells wide at ``spot`` is inside the picture and clear of nodes and other labels."""
    left, top, marks = spot
    return (
        left >= 0
        and min(top, marks) >= 0
        and left + size <= width
        and max(top, marks) < height
        and not any((left + i, r) in taken for i in range(size) for r in (top, marks))
    )


def _place_label(node: Cell, name: str, taken: set[Cell], on_lines: set[Cell], width: int, height: int) -> Label | None:
    """The spot beside ``node`` where ``name`` and its row of marks fit covering the fewest lines; None if nowhere."""
    size = max(len(name), MARKS_WIDTH)
    best: tuple[int, tuple[int, int, int]] | None = None
    for spot in _spots(node, size, width):
        if _fits(spot, size, taken, width, height):
            covered = sum((spot[0] + i, spot[1]) in on_lines for i in range(-1, len(name) + 1))
            if best is None or covered < best[0]:
                best = (covered, spot)
    return None if best is None else Label(*best[1], name, size)


@dataclass(slots=True, frozen=True)
class Mark:
    """One person on the map: their mark, the cell it is drawn in, and where they are (a sector, or a walk)."""

    person: str
    mark: str
    cell: Cell | None  # None: not drawn (no room on the map); a sector's node: counted there, not marked
    sector: str | None  # the sector they are in, or None while walking between two
    walking: bool = False  # on the way somewhere (between two sectors, or across one)
    walk: tuple[str, str, float] | None = None  # (from sector, to sector, share walked) between two sectors


def on_the_way(town: Town, route: Sequence[str], depart: int, arrival: int, t: int) -> tuple[str, str, float] | str:
    """Where along ``route`` someone is at second ``t``: (from sector, to sector, share of that walk), or the sector."""
    hops = [(a, b, float(town.graph.get_edge_data(a, b, {}).get("minutes", 0.0))) for a, b in pairwise(route)]
    total = sum(minutes for *_, minutes in hops)
    if not hops or total <= 0:
        return town.sector(route[-1]) if route else ""
    walked = total * min(1.0, max(0.0, (t - depart) / max(1, arrival - depart)))
    index = 0
    while index < len(hops) - 1 and walked > hops[index][2]:
        walked -= hops[index][2]
        index += 1
    a, b, minutes = hops[index]
    first, second = town.sector(a), town.sector(b)
    share = min(1.0, walked / minutes) if minutes else 1.0
    return (first, second, share) if first != second else first


def draw(
    shown: Picture,
    present: dict[str, list[tuple[str, str, bool]]],
    walking: list[tuple[str, str, tuple[str, str, float]]],
) -> tuple[list[Text], list[Mark]]:
    """The picture's rows with people on it, and where each one's mark went.

    ``present`` is, for each sector, (person, mark, on the way) of the people in it, in name order
    (on the way: crossing it, from one of its rooms to another); ``walking`` is (person, mark,
    (from sector, to sector, share walked)) for the people on a walk between two sectors.
    """
    if shown.note:
        return [Text(shown.note, "dim")], []
    cells = [list(row) for row in shown.cells]
    busy = set(shown.clear) | set(shown.nodes.values())
    marks: list[Mark] = []
    for sector, node in shown.nodes.items():
        marks += _draw_sector(cells, node, shown.labels.get(sector), sector, present.get(sector, []))
    busy |= {mark.cell for mark in marks if mark.cell is not None}
    # a walker off the labels does not look like one of a place's people, where the line leaves room
    labels = {
        (label.col + i, row)
        for label in shown.labels.values()
        for i in range(label.width)
        for row in (label.row, label.marks)
    }
    for person, mark, (start, end, share) in walking:
        path = shown.path(start, end)
        cell = _walker_cell(path, share, busy | labels) or _walker_cell(path, share, busy)
        if cell is not None:
            cells[cell[1]][cell[0]] = (mark, WALKING)
            busy.add(cell)
        marks.append(Mark(person, mark, cell, None, True, (start, end, share)))
    return [_row_text(row) for row in cells], marks


def _draw_sector(
    cells: list[list[tuple[str, str]]],
    node: Cell,
    label: Label | None,
    sector: str,
    people: list[tuple[str, str, bool]],
) -> list[Mark]:
    """Draw a sector's node, name and the marks of the people in it; their ``Mark``s."""
    col, row = node
    glyph = "●" if people else "○"
    if label is None and people:  # no room for marks: the node says how many
        glyph = str(len(people)) if len(people) < 10 else "●"
    cells[row][col] = (glyph, PRESENT if people else "dim")
    if label is None:
        return [Mark(person, mark, node, sector, walks) for person, mark, walks in people]
    for i, char in enumerate(label.name):
        cells[label.row][label.col + i] = (char, "bold" if people else "")
    text, named = _marks_text(label.width, [mark for _, mark, _ in people])
    # left of the node, the marks end at its side of the label, next to the node
    start = label.col + (label.width - len(text) if label.col + label.width < col else 0)
    for i, char in enumerate(text):
        cells[label.marks][start + i] = (char, WALKING if i < named and people[i][2] else PRESENT)
    return [
        Mark(person, mark, (start + i, label.marks) if i < named else node, sector, walks)
        for i, (person, mark, walks) in enumerate(people)
    ]


def _marks_text(width: int, marks: list[str]) -> tuple[str, int]:
    """The marks of the people in a sector in ``width`` cells (all, or the first few and ``+N``), and how many it shows."""
    if len(marks) <= width:
        return "".join(marks), len(marks)
    kept = max(0, width - 1 - len(str(len(marks))))
    return ("".join(marks[:kept]) + f"+{len(marks) - kept}")[:width], kept


def _walker_cell(path: list[Cell], share: float, busy: set[Cell]) -> Cell | None:
    """The free cell of ``path`` nearest the share walked, or None if the path has none."""
    if not path:
        return None
    at = min(len(path) - 1, max(0, round(share * (len(path) + 1)) - 1))
    for reach in range(len(path)):
        for index in (at - reach, at + reach):
            if 0 <= index < len(path) and path[index] not in busy:
                return path[index]
    return None


def _row_text(row: list[tuple[str, str]]) -> Text:
    """One row of cells as a ``Text``, a span for each run of one style."""
    text = Text(no_wrap=True, overflow="crop")
    start = 0
    for index in range(1, len(row) + 1):
        if index == len(row) or row[index][1] != row[start][1]:
            text.append("".join(char for char, _ in row[start:index]), row[start][1] or None)
            start = index
    return text

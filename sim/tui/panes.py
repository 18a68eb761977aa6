"""The world and people tabs: places by sector with who is there, the map, and the people table."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Tree
from textual.widgets.tree import TreeNode

from sim.tui.map import TownMap
from sim.tui.timeline import Timeline
from sim.tui.view import (
    COLUMNS,
    PersonRow,
    View,
    filter_rows,
    people_rows,
    places,
    sort_rows,
    travelling,
)
from sim.worldfile.scenario import Scenario

WIDTHS = (18, 28, 30, 26, 48)
"""The people table's column widths; longer cells are cut."""


class Inspect(Message):
    """Open the inspector for ``person``."""

    def __init__(self, person: str) -> None:
        super().__init__()
        self.person = person


class SpaceTree(Tree[Any]):
    """A tree on which ``space`` plays or pauses, as everywhere else; ``enter`` still folds a node.

    It is made to be changed a node at a time, often (a thousand people, a live run): labels are
    one-line ``Text`` objects taken as they are, their widths are remembered, and ``changes()``
    batches what ``Tree`` would otherwise work out again after every single change.
    """

    BINDINGS = [Binding("space", "app.play", "Play/pause", show=False)]

    _batch: dict[str, bool] | None = None  # in ``changes()``: whether lines, or only labels, changed
    _widths: dict[int, tuple[Text, int]] | None = None  # id of a label -> (the label, its width in cells)

    @contextmanager
    def changes(self) -> Iterator[None]:
        """Add, remove, fold and relabel nodes in a batch, and repaint once at the end.

        ``Tree`` works its lines out again after every node added or removed, and repaints a node
        after every new label; a seek or a live run's new ticks make hundreds of such changes.
        """
        self._batch = {"lines": False, "labels": False}
        try:
            yield
        finally:
            batch, self._batch = self._batch, None
            if batch["lines"]:
                self._invalidate()
            elif batch["labels"]:
                self.refresh()  # lines whose nodes changed are drawn again, the others come from the cache

    def _invalidate(self) -> None:
        if self._batch is None:
            super()._invalidate()
        else:
            self._batch["lines"] = True

    def call_later(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Run ``callback`` later; but a node's repaint after a new label waits for the end of ``changes()``."""
        if self._batch is not None and getattr(callback, "__func__", None) is _REFRESH_NODE:
            self._batch["labels"] = True
            return True
        return super().call_later(callback, *args, **kwargs)

    def process_label(self, label: str | Text) -> Text:
        """A label as the tree keeps it: a one-line ``Text`` as it is, anything else as ``Tree`` does."""
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def get_label_width(self, node: TreeNode[Any]) -> int:
        """The width of a node's line without its guides: its icon and its label (remembered per label)."""
        label = node.label
        if not isinstance(label, Text):
            return super().get_label_width(node)
        if self._widths is None or len(self._widths) > 8192:
            self._widths = {}
        known = self._widths.get(id(label))
        if known is None or known[0] is not label:
            known = self._widths[id(label)] = (label, label.cell_len)
        if not node.allow_expand:
            return known[1]
        return known[1] + (_ICON_WIDTH[self.ICON_NODE_EXPANDED] if node.is_expanded else _ICON_WIDTH[self.ICON_NODE])


_REFRESH_NODE = getattr(Tree, "_refresh_node", None)  # what ``TreeNode.set_label`` asks the tree to call later
_ICON_WIDTH = {icon: cell_len(icon) for icon in (Tree.ICON_NODE, Tree.ICON_NODE_EXPANDED)}


class _Node(NamedTuple):
    """What one node of the places tree should show."""

    key: str
    shows: Hashable  # what the label depends on: it is made again only when this changes
    make: Callable[..., Text]  # makes the label from ``args``
    args: tuple[Any, ...]
    data: str | None = None
    expand: bool | None = None  # None: a leaf
    children: list[_Node] | None = None  # None: they are in the tree already, as they should be


class WorldPane(Horizontal):
    """Places grouped by sector with who is in each and what they do, beside a map of the town (not in a team's world).

    The tree is brought up to date node by node (``_sync``), and only in the sectors whose people
    changed: a step, or a live run's newest ticks, moves some people, not a thousand.
    """

    DEFAULT_CSS = """
    WorldPane Tree { width: 1fr; }
    WorldPane TownMap { border-left: vkey $foreground 20%; padding: 0 1; }
    """

    def __init__(self, scenario: Scenario, timeline: Timeline) -> None:
        super().__init__()
        self.scenario = scenario
        self._node_of: dict[str, TreeNode[Any]] = {}  # key -> node in the tree
        self._shown_as: dict[str, Hashable] = {}  # key -> what its label shows
        self._key_of: dict[Any, str] = {}  # node id -> key
        self._holds: dict[str, Hashable] = {}  # key of a sector (or the road) -> who is there, as drawn
        self._places_tree = SpaceTree("places", id="places")
        # a team works in one office: there is no town to draw
        self._map = TownMap(scenario, timeline, id="map") if scenario.team is None else None

    def compose(self) -> ComposeResult:
        """A tree of places and the map."""
        tree = self._places_tree
        tree.show_root = False
        yield tree
        if self._map is not None:
            yield self._map

    def show(self, view: View) -> None:
        """Draw the world at ``view``."""
        tree = self._places_tree
        line = tree.cursor_line
        wanted: list[_Node] = []
        for sector, areas in places(view, self.scenario):
            present = tuple((area, tuple(people)) for area, people in areas if people)
            count = sum(len(people) for _, people in present)
            key = f"s:{sector}"
            children = None
            if self._holds.get(key) != present:
                self._holds[key] = present
                children = [
                    _Node(
                        f"a:{sector}:{area}",
                        area,
                        _area_label,
                        (area,),
                        f"{sector}:{area}",
                        True,
                        self._people(f"a:{sector}:{area}", people),
                    )
                    for area, people in present
                ]
            wanted.append(
                _Node(
                    key, (count, len(areas)), _sector_label, (sector, count, len(areas)), sector, bool(count), children
                )
            )
        moving = tuple(
            (person, destination, f"{max(0, arrival - view.t) / 60:.0f}")
            for person, destination, arrival in travelling(view)
        )
        if moving:
            children = None
            if self._holds.get("moving") != moving:
                self._holds["moving"] = moving
                children = [
                    _Node(f"p:{person}", (destination, minutes), _moving_label, (person, destination, minutes), person)
                    for person, destination, minutes in moving
                ]
            wanted.append(
                _Node("moving", len(moving), Text, (f"on the way ({len(moving)})", "bold yellow"), None, True, children)
            )
        with tree.changes():
            self._sync(tree.root, wanted)
        tree.cursor_line = line  # keep the cursor where it was as the world changes under it
        if self._map is not None:
            self._map.show(view)

    def _people(self, key: str, people: tuple[tuple[str, str], ...]) -> list[_Node] | None:
        """The leaves of an area's people, or None if the tree shows them already."""
        if self._holds.get(key) == people:
            return None
        self._holds[key] = people
        return [
            _Node(f"p:{person}", activity, _person_label, (person, activity), person) for person, activity in people
        ]

    def _sync(self, parent: TreeNode[Any], wanted: list[_Node]) -> None:
        """Make ``parent``'s children show ``wanted``, in that order, changing only the nodes that differ."""
        keys = {item.key for item in wanted}
        for child in list(parent.children):
            if self._key_of.get(child.id) not in keys:
                self._forget(child)
                child.remove()
        # What is left are wanted nodes, in the wanted order: item ``index`` is at ``index`` or missing.
        for index, item in enumerate(wanted):
            node = self._node_of.get(item.key)
            if node is not None and node.parent is not parent:  # moved, e.g. from an area to the road
                self._forget(node)
                node.remove()
                node = None
            if node is None:
                node = parent.add(
                    item.make(*item.args),
                    data=item.data,
                    before=index,
                    expand=bool(item.expand),
                    allow_expand=item.expand is not None,
                )
                self._node_of[item.key], self._key_of[node.id], self._shown_as[item.key] = node, item.key, item.shows
            else:
                if self._shown_as[item.key] != item.shows:
                    node.set_label(item.make(*item.args))
                    self._shown_as[item.key] = item.shows
                if item.expand is not None and node.is_expanded != item.expand:
                    node.expand() if item.expand else node.collapse()
            if item.children is not None:
                self._sync(node, item.children)

    def _forget(self, node: TreeNode[Any]) -> None:
        """Drop ``node`` and what is under it from the keys."""
        for child in node.children:
            self._forget(child)
        key = self._key_of.pop(node.id, None)
        if key is not None and self._node_of.get(key) is node:
            del self._node_of[key]
            self._shown_as.pop(key, None)
            self._holds.pop(key, None)

    @on(Tree.NodeSelected)
    def _inspect(self, event: Tree.NodeSelected[str]) -> None:
        names = {p.name for p in self.scenario.people}
        if event.node.data in names:
            self.post_message(Inspect(str(event.node.data)))


@lru_cache(maxsize=1024)
def _sector_label(sector: str, count: int, areas: int) -> Text:
    label = Text(f"{sector} ", "bold" if count else "dim")
    label.append(f"({count})" if count else f"({areas} places, empty)", "dim")
    return label


@lru_cache(maxsize=1024)
def _area_label(area: str) -> Text:
    return Text(area, "cyan")


# Labels are made once for each text and shared by the nodes that show it (the tree copies a label
# before styling it), so a thousand people changing places do not make a thousand new labels.
@lru_cache(maxsize=4096)
def _person_label(person: str, activity: str) -> Text:
    return Text.assemble((person, "bold"), (f" · {activity}" if activity else "", ""))


@lru_cache(maxsize=2048)
def _moving_label(person: str, destination: str, minutes: str) -> Text:
    return Text.assemble((person, "bold"), f" → {destination} in {minutes} min")


class PeoplePane(Vertical):
    """Everyone's place, action, plan item and last line; sortable (click a header, or ``s``) and filterable."""

    BINDINGS = [Binding("s", "sort", "Sort by next column"), Binding("slash", "filter", "Filter", show=False)]
    DEFAULT_CSS = """
    PeoplePane Input { margin: 0 1; }
    """

    def __init__(self, timeline: Timeline) -> None:
        super().__init__()
        self.timeline = timeline
        self.sort_by, self.reverse = "name", False
        self.rows: list[PersonRow] = []
        self.view: View | None = None
        # what the table shows: the people in order, the sort, and each one's cells
        self._names: list[str] | None = None
        self._sorted_as: tuple[str, bool] | None = None
        self._cells: dict[str, tuple[str, ...]] = {}

    def compose(self) -> ComposeResult:
        """The filter box and the table."""
        yield Input(
            compact=True,
            placeholder="filter people (/): any words from name, place, action, plan or line",
            id="people-filter",
        )
        table: DataTable[str] = DataTable(id="people-table", cursor_type="row", zebra_stripes=True)
        for column, width in zip(COLUMNS, WIDTHS, strict=True):
            table.add_column(column, key=column, width=width)
        yield table

    def show(self, view: View) -> None:
        """Fill the table for ``view``."""
        self.view = view
        self.rows = people_rows(view, self.timeline)
        self._fill()

    def shown(self) -> list[PersonRow]:
        """The rows in the order the table shows them."""
        text = self.query_one("#people-filter", Input).value
        return sort_rows(filter_rows(self.rows, text), self.sort_by, self.reverse)

    def _fill(self) -> None:
        table = self.query_one("#people-table", DataTable)
        rows = self.shown()
        names = [r.name for r in rows]
        header = (self.sort_by, self.reverse)
        if names == self._names and header == self._sorted_as:
            # The same people in the same order (a step, a live run's new ticks): change the cells that
            # changed, rather than refill a thousand rows.
            for row in rows:
                cells = row.cells()
                before = self._cells[row.name]
                if cells != before:
                    for column, old, new in zip(COLUMNS, before, cells, strict=True):
                        if old != new:
                            table.update_cell(row.name, column, new)
                    self._cells[row.name] = cells
            return
        keep = None
        if table.row_count and table.cursor_row < table.row_count:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        for column in COLUMNS:
            arrow = (" ▼" if self.reverse else " ▲") if column == self.sort_by else ""
            table.columns[column].label = Text(column + arrow)  # type: ignore[index]
        for row in rows:
            table.add_row(*row.cells(), key=row.name)
        self._names, self._sorted_as, self._cells = names, header, {row.name: row.cells() for row in rows}
        if keep in names:
            table.move_cursor(row=names.index(keep), animate=False)

    def action_sort(self) -> None:
        """Sort by the next column."""
        self.sort_by = COLUMNS[(COLUMNS.index(self.sort_by) + 1) % len(COLUMNS)]
        self.reverse = False
        self._fill()

    def action_filter(self) -> None:
        """Put the cursor in the filter box."""
        self.query_one("#people-filter", Input).focus()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        self.reverse = not self.reverse if column == self.sort_by else False
        self.sort_by = column
        self._fill()

    @on(Input.Changed, "#people-filter")
    def _filtered(self) -> None:
        self._fill()

    @on(Input.Submitted, "#people-filter")
    def _to_table(self) -> None:
        self.query_one("#people-table", DataTable).focus()

    @on(DataTable.RowSelected, "#people-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(Inspect(str(event.row_key.value)))

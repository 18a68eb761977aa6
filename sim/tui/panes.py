"""The world and people tabs: places by sector with who is there, the map, and the people table."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static, Tree

from sim.scenario import Scenario
from sim.tui.timeline import Timeline
from sim.tui.view import (
    COLUMNS,
    PersonRow,
    View,
    filter_rows,
    map_rows,
    people_rows,
    places,
    sector_counts,
    sort_rows,
    travelling,
)

WIDTHS = (18, 28, 30, 26, 48)
"""The people table's column widths; longer cells are cut."""


class Inspect(Message):
    """Open the inspector for ``person``."""

    def __init__(self, person: str) -> None:
        super().__init__()
        self.person = person


class SpaceTree(Tree[Any]):
    """A tree on which ``space`` plays or pauses, as everywhere else; ``enter`` still folds a node."""

    BINDINGS = [Binding("space", "app.play", "Play/pause", show=False)]


class WorldPane(Horizontal):
    """Places grouped by sector with who is in each and what they do, beside a text map of the place graph."""

    DEFAULT_CSS = """
    WorldPane Tree { width: 1fr; }
    WorldPane #map-box { width: 1fr; border-left: vkey $foreground 20%; padding: 0 1; }
    """

    def __init__(self, scenario: Scenario) -> None:
        super().__init__()
        self.scenario = scenario

    def compose(self) -> ComposeResult:
        """A tree of places and the map."""
        tree = SpaceTree("places", id="places")
        tree.show_root = False
        yield tree
        with VerticalScroll(id="map-box"):
            yield Static(id="map")

    def show(self, view: View) -> None:
        """Draw the world at ``view``."""
        tree = self.query_one("#places", Tree)
        line = tree.cursor_line
        tree.clear()
        for sector, areas in places(view, self.scenario):
            present = [(area, people) for area, people in areas if people]
            count = sum(len(people) for _, people in present)
            label = Text(f"{sector} ", "bold" if count else "dim")
            label.append(f"({count})" if count else f"({len(areas)} places, empty)", "dim")
            node = tree.root.add(label, data=sector, expand=bool(count))
            for area, people in present:
                spot = node.add(Text(area, "cyan"), data=f"{sector}:{area}", expand=True)
                for person, activity in people:
                    spot.add_leaf(Text.assemble((person, "bold"), (f" · {activity}" if activity else "", "")), data=person)
        moving = travelling(view)
        if moving:
            node = tree.root.add(Text(f"on the way ({len(moving)})", "bold yellow"), expand=True)
            for person, destination, arrival in moving:
                minutes = max(0, arrival - view.t) / 60
                node.add_leaf(Text.assemble((person, "bold"), f" → {destination} in {minutes:.0f} min"), data=person)
        tree.cursor_line = line  # keep the cursor where it was as the world changes under it
        grid = Table(box=None, show_header=False, padding=(0, 1, 0, 0), expand=True)
        grid.add_column(width=3, no_wrap=True)
        grid.add_column(ratio=2, style="bold")
        grid.add_column(ratio=3, style="dim")
        for mark, sector, near in map_rows(self.scenario, sector_counts(view)):
            grid.add_row(Text(mark, "green" if mark != "○" else "dim"), sector, near)
        self.query_one("#map", Static).update(Group(Text("Map: ● people there, [areas], ─ walks in minutes", "bold"),
                                                    grid))

    @on(Tree.NodeSelected)
    def _inspect(self, event: Tree.NodeSelected[str]) -> None:
        names = {p.name for p in self.scenario.people}
        if event.node.data in names:
            self.post_message(Inspect(str(event.node.data)))


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

    def compose(self) -> ComposeResult:
        """The filter box and the table."""
        yield Input(compact=True, placeholder="filter people (/): any words from name, place, action, plan or line",
                    id="people-filter")
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
        keep = None
        if table.row_count and table.cursor_row < table.row_count:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        for column in COLUMNS:
            arrow = (" ▼" if self.reverse else " ▲") if column == self.sort_by else ""
            table.columns[column].label = Text(column + arrow)  # type: ignore[index]
        rows = self.shown()
        for row in rows:
            table.add_row(*row.cells(), key=row.name)
        names = [r.name for r in rows]
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

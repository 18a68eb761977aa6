"""The feed: conversations and events in log order with their simulated time, filtered by person, place and kind."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import RichLog, Select

from sim.core.events import KINDS, Event, event_class
from sim.tui.source import Filters, RunSource
from sim.tui.view import View
from sim.worldfile.scenario import Scenario


def _groups() -> dict[str, tuple[str, ...]]:
    """The kinds of each group the event classes name, the groups in alphabetical order."""
    groups: dict[str, list[str]] = {}
    for kind in KINDS:
        group = event_class(kind).group
        if group:
            groups.setdefault(group, []).append(kind)
    return {name: tuple(groups[name]) for name in sorted(groups)}


GROUPS = _groups()
"""Kind filters that name several kinds (``conversations``, ``movement``, ``team``): each class says its group."""

LIMIT = 400  # lines the feed keeps


def feed_line(event: dict[str, Any]) -> Text:
    """One feed line: time, kind in its class's colour, who, what (the class's sentence), where."""
    line = Text(no_wrap=False)
    line.append(str(event["time"])[11:19], "dim")
    typed = Event.decode(event)
    line.append(f" {typed.kind:<10}", typed.colour)
    if typed.person:
        line.append(f"{typed.person}: ", "bold")
    line.append(typed.describe())
    if typed.place and not typed.names_place:
        line.append(f"  @ {typed.place}", "dim")
    return line


class FeedPane(Vertical):
    """Events up to the viewed point, newest at the bottom, with three filters above."""

    DEFAULT_CSS = """
    FeedPane #filters { height: 1; }
    FeedPane Select { width: 1fr; }
    FeedPane RichLog { height: 1fr; }
    """

    def __init__(self, source: RunSource, scenario: Scenario) -> None:
        super().__init__()
        self.source = source
        self.scenario = scenario
        self.filters = Filters()
        self.upto = -1  # the seq the log shows events up to; -1: nothing drawn yet
        self.drawn: Filters | None = None
        self.view: View | None = None
        self.seqs: list[int] = []  # the events the log shows, in order

    def compose(self) -> ComposeResult:
        """The filters and the log."""
        people = [(p.name, p.name) for p in self.scenario.people]
        spots = []
        for sector in self.scenario.sectors:
            spots.append((sector.name, sector.name))
            spots += [(f"  {area.name}", f"{sector.name}:{area.name}") for area in sector.areas]
        kinds = [(name, name) for name in GROUPS] + [(kind, kind) for kind in KINDS]
        with Horizontal(id="filters"):
            yield Select(people, prompt="any person", id="feed-person", compact=True)
            yield Select(spots, prompt="anywhere", id="feed-place", compact=True)
            yield Select(kinds, prompt="any kind", id="feed-kind", compact=True)
        yield RichLog(id="feed-log", wrap=True, max_lines=4 * LIMIT, min_width=40)

    def set_filters(self, person: str | None = None, place: str | None = None, kind: str | None = None) -> None:
        """Filter by person, sector or area (``Sector`` or ``Sector:area``), and kind or group (None: any)."""
        kinds = GROUPS.get(kind, (kind,)) if kind else ()
        self.filters = Filters(person or None, place or None, tuple(kinds))

    def show(self, view: View) -> None:
        """Bring the log up to ``view``: append what is new, or redraw after a seek back, a long jump or a new filter.

        A step, or a live run's newest ticks, appends their events; after a jump of more events than
        the log shows, the last ``LIMIT`` are found with one query, not by reading all in between.
        """
        self.view = view
        log = self.query_one("#feed-log", RichLog)
        if self.drawn == self.filters and 0 <= self.upto <= view.seq <= self.upto + 4 * LIMIT:
            events = [e for e in self.source.events(self.upto, view.seq) if self._passes(e)][-LIMIT:]
        else:
            log.clear()
            self.seqs = []
            events = self.source.feed(view.seq, self.filters, LIMIT)
            if not events:
                log.write(Text("no events here yet", "dim"))
        for event in events:
            log.write(feed_line(event))
            self.seqs.append(int(event["seq"]))
        del self.seqs[:-LIMIT]
        self.upto, self.drawn = view.seq, self.filters

    def _passes(self, event: dict[str, Any]) -> bool:
        f = self.filters
        data = event.get("data") or {}
        if f.person and f.person not in (event.get("person"), data.get("with"), data.get("to")):
            return False
        place = event.get("place") or ""
        if f.place and place != f.place and not place.startswith(f.place + ":"):
            return False
        return not f.kinds or event["kind"] in f.kinds

    @on(Select.Changed)
    def _changed(self, event: Select.Changed) -> None:
        values = {}
        for name in ("person", "place", "kind"):
            value = self.query_one(f"#feed-{name}", Select).value
            values[name] = None if value in (Select.BLANK, Select.NULL) else str(value)
        self.set_filters(**values)
        if self.view is not None and self.drawn != self.filters:
            self.show(self.view)

"""The world tab's map: the town drawn at the viewed point, with a mark for each person and a legend.

The drawing is ``sim/tui/town.py``'s; this widget scales it into its own size (again only when
that changes), puts the people of the viewed point on it, and keeps where each mark went
(``marks``) for whoever asks: the tests, and nothing else.
"""

from __future__ import annotations

from collections import Counter

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from sim.tui.timeline import Timeline
from sim.tui.town import (
    CROWD,
    PRESENT,
    WALKING,
    Mark,
    Picture,
    Town,
    draw,
    on_the_way,
    person_marks,
    picture,
    town,
)
from sim.tui.view import View
from sim.worldfile.scenario import Scenario


class TownMap(Widget):
    """The town as a map at the viewed point: sectors placed by the place graph's layout, walks, people as marks."""

    DEFAULT_CSS = """
    TownMap { width: 1fr; height: 1fr; }
    """

    def __init__(self, scenario: Scenario, timeline: Timeline, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.town: Town = town(scenario)
        self.timeline = timeline
        self.mark_of = person_marks(person.name for person in scenario.people)
        self.view: View | None = None
        self.marks: dict[str, Mark] = {}  # person -> where their mark is, as last drawn
        self._picture: Picture | None = None

    def show(self, view: View) -> None:
        """Draw the town at ``view``."""
        self.view = view
        self.refresh()

    def render(self) -> RenderableType:
        """The map above its legend, at the widget's size."""
        width, height = self.size
        if self.view is None or width < 1 or height < 1:
            return Text()
        state = self.view.state
        self.mark_of = person_marks(state.people, self.mark_of)  # people added since get marks too
        legend = self._legend(width, height)
        rows = max(1, height - len(legend))
        if self._picture is None or (self._picture.width, self._picture.height) != (width, rows):
            self._picture = picture(self.town, width, rows)
        lines, marks = draw(self._picture, *self._people())
        self.marks = {mark.person: mark for mark in marks}
        return Text("\n").join(lines + legend)

    def _people(self) -> tuple[dict[str, list[tuple[str, str, bool]]], list[tuple[str, str, tuple[str, str, float]]]]:
        """The people in each sector (and whether on the way) and the people on a walk between two, with their marks."""
        assert self.view is not None
        state, t = self.view.state, self.view.t
        present: dict[str, list[tuple[str, str, bool]]] = {}
        walking = []
        journeys = self.timeline.journeys(state) if state.travel else {}
        for person in state.people:
            area = state.position.get(person)
            if area is not None:
                present.setdefault(self.town.sector(area), []).append((person, self.mark_of[person], False))
                continue
            journey = journeys.get(person)
            if journey is None or not journey[1]:  # a walk the log does not describe: the places tab lists it
                continue
            where = on_the_way(self.town, journey[1], journey[0], state.travel[person][1], t)
            if isinstance(where, str):  # between two rooms of one sector
                present.setdefault(where, []).append((person, self.mark_of[person], True))
            else:
                walking.append((person, self.mark_of[person], where))
        return present, walking

    def _legend(self, width: int, height: int) -> list[Text]:
        """The key, then each person's mark and first name, in a third of ``height`` at most."""
        key = Text.assemble(("●", PRESENT), " someone there  ", ("○", "dim"), " nobody  ", ("on the way", WALKING))
        assert self.view is not None
        people = self.view.state.people
        if any(self.mark_of[p] == CROWD for p in people):
            return [key, Text.assemble((CROWD, PRESENT), " a person  ", ("3", PRESENT), " on a place: 3 people there")]
        firsts = Counter(_first(person) for person in people)
        lines, line = [key], Text()
        for person in sorted(people, key=lambda p: self.mark_of[p]):
            entry = Text.assemble(
                (self.mark_of[person], PRESENT), f" {_first(person) if firsts[_first(person)] == 1 else person}"
            )
            if line.cell_len and line.cell_len + 2 + entry.cell_len > width:
                lines.append(line)
                line = Text()
            line.append_text(Text("  ") if line.cell_len else Text())
            line.append_text(entry)
        if line.cell_len:
            lines.append(line)
        most = max(2, height // 3)
        if len(lines) > most:  # many people: the map keeps its room, the people tab has them all
            lines = lines[:most]
            lines[-1] = Text.assemble(lines[-1][: max(0, width - 2)], " …")
        return lines


def _first(name: str) -> str:
    """A person's first name (the whole name if it has no spaces)."""
    return (name.split() or [name])[0]

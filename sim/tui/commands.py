"""The command palette (``ctrl+p``): every viewer action, and "inspect" for each person of the run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = (
    ("Play / pause", "play", "replay: play or pause; live: pause or resume the run"),
    ("Step one event forward", "step(1)", "."),
    ("Step one event back", "step(-1)", ","),
    ("Step one tick forward", "tick(1)", ">"),
    ("Step one tick back", "tick(-1)", "<"),
    ("Play faster", "speed(1)", "+"),
    ("Play slower", "speed(-1)", "-"),
    ("Jump to time", "jump", "j: ISO time, +6h or HH:MM"),
    ("Go to the newest event / follow", "follow", "f"),
    ("Go to the start", "start", "0"),
    ("Show the world", "tab('world')", "1"),
    ("Show the people", "tab('people')", "2"),
    ("Show the feed", "tab('feed')", "3"),
    ("Show the LLM calls", "tab('calls')", "4"),
    ("Show the metrics", "metrics", "m: diffusion, network density, conversations, cost at the viewed time"),
    ("Intervene in the live run", "intervene", "x: inject, whisper, set an object, add or remove a person"),
    ("Help", "help", "?"),
)


class HamletCommands(Provider):
    """Commands of the Hamlet viewer for Textual's command palette."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.app
        found: list[tuple[str, Callable[[], Any], str]] = [
            (name, partial(app.run_action, action), text) for name, action, text in ACTIONS
        ]
        source = getattr(app, "source", None)
        scenario = getattr(source, "scenario", None)
        for person in getattr(scenario, "people", []):
            found.append(
                (
                    f"Inspect {person.name}",
                    partial(app.run_action, f"inspect_person({person.name!r})"),
                    "memories, recall, reflections, plan, interview",
                )
            )
        return found

    async def discover(self) -> Hits:
        """Every command, for an empty palette."""
        for name, run, text in self._commands():
            yield DiscoveryHit(name, run, help=text)

    async def search(self, query: str) -> AsyncIterator[Hit]:
        """Commands matching ``query``, best first."""
        matcher = self.matcher(query)
        for name, run, text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=text)

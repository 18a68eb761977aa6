"""Conservative lookahead: when a person's next wake-up may be thought through before the clock gets there.

A mind's decision reads only its percept (the place, who is there doing what, the objects'
states, the events kept for it, why it woke), its own state and random stream, and the world's
unchanging parts (the scenario, the place graph). ``Simulation`` gives minds nothing else: their
``MindContext.world`` is a ``FixedWorld``. So a wake-up of person P at second t' in area A may be
decided early, with the percept as it stands now, if nothing still to be committed before t' can
change that percept or wake P sooner:

- everything still to happen is a *source*: an uncommitted decision, conversation or team step
  of the tick under way (at its second T), and every entry in the clock (a wake-up, an arrival, a
  conversation, an intervention, a team step, a fixed step) at its second;
- a source at area Y at second s can change area A no earlier than s + ``walk(Y, A)``: people
  change other places only by walking there (words, conversations and what they notice stay in
  their area), and a chain of people waking one another walks at least as far;
- a source with no area (an intervention, a team step, everyone's fixed step) can change any
  place at its second;
- P's own wake-up is not a source for P.

P's wake-up at t' is safe when every other source reaches A strictly after t'. Strictly: a wake
at the same second in the same area might be taken in an earlier tick of that second and wake P
again. ``Simulation`` checks the rule where it would be broken (an event offered to a person
thinking ahead, a conversation with them, a percept that differs when the clock arrives) and
stops with ``LookaheadBroken`` rather than log something the in-order run would not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    from sim.core.world import World

UNREACHABLE = 10**12
"""Seconds to carry anything between areas no path joins: never, in any run."""


class LookaheadBroken(RuntimeError):
    """A decision made ahead would not be the one the in-order run makes (a bug in the rule, never input)."""


@dataclass(frozen=True, slots=True)
class Source:
    """Something still to happen: from second ``t`` in ``area`` (None: anywhere), caused by ``person`` (if anyone)."""

    t: int
    area: str | None
    person: str | None


class Walks:
    """Lower bounds on the seconds anyone needs to carry something from one area to another."""

    def __init__(self, world: World) -> None:
        self.world = world
        # A move takes max(1, round(60 x minutes)) seconds, so a walk of several moves can come in
        # up to half a second per move under 60 x minutes; with every edge at least ``shortest``
        # minutes, a walk of D minutes makes at most D / shortest moves.
        shortest = min((float(m) for _, _, m in world.graph.edges(data="minutes", default=0.0)), default=0.0)
        self.per_minute = max(0.0, 60.0 - 0.5 / shortest) if shortest > 0 else 0.0

    def __call__(self, source: str, target: str) -> int:
        """Seconds before anything that starts in ``source`` can reach ``target`` (0 for the same area)."""
        if source == target:
            return 0
        try:
            minutes = self.world.route(source, target).minutes
        except nx.NetworkXNoPath:
            return UNREACHABLE
        return max(1, math.floor(self.per_minute * minutes))


def safe(person: str, area: str, t: int, sources: Iterable[Source], walk: Walks) -> bool:
    """Whether ``person``'s wake-up at second ``t`` in ``area`` is out of reach of every other source.

    ``sources`` must be sorted by second: the scan stops at the first that comes after ``t``.
    """
    for source in sources:
        if source.t > t:
            return True
        if source.person == person:
            continue
        if source.area is None or source.t + walk(source.area, area) <= t:
            return False
    return True

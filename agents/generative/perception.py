"""Perception: what a person notices of the people and events around them (Park et al. 2023 §4.1, §5.1).

Observations wait in a queue and are scored in the next decomposition call, then stored as
memories: so an observation is stamped with the time of that call, not of the moment seen.
Objects and their states are not perceived yet. ``--set observation=off`` leaves this
component out: nothing is noticed (whispers still become memories; they are planted).
"""

from __future__ import annotations

from typing import Any, ClassVar

from agents.generative.memory import Memories
from sim.mind import Percept


class Perception:
    """The observations a person has noticed and not yet stored, and what each other person was last seen doing."""

    PURPOSES: ClassVar[tuple[str, ...]] = ()
    """The ``purpose`` of each LLM call this component makes (none: observations are scored in the decomposition call)."""

    EMPTY: ClassVar[dict[str, Any]] = {"noticed": [], "seen": {}}
    """The state of a person who has noticed nothing."""

    def __init__(self, memory: Memories, params: dict[str, Any]) -> None:
        self.memory = memory
        self.limit = int(params["notice_limit"])
        self.noticed: list[str] = []  # observations waiting to be scored and stored
        self.seen: dict[str, str] = {}  # person -> the activity last noticed

    def observe(self, percept: Percept) -> None:
        """Queue what is new: people doing something else than last seen, events heard."""
        fresh: list[str] = []
        for other, activity in percept.people:
            if activity and self.seen.get(other) != activity:
                self.seen[other] = activity
                fresh.append(f"{other} {activity}" if not activity.startswith("talking") else f"{other} is {activity}")
        for event in percept.events:
            if event.kind == "say":
                fresh.append(f"{event.person} said to me: {event.data.get('text', '')}")
            elif event.kind == "intervene" and event.data.get("kind") != "whisper":
                fresh.append(str(event.data.get("text", "")))
        self.noticed = (self.noticed + fresh)[-self.limit:]

    async def store(self, scores: list[int] | None, t: int) -> None:
        """Store the queued observations as memories, with ``scores`` (or scored now when None)."""
        if not self.noticed:
            return
        texts, self.noticed = self.noticed, []
        values = [float(s) for s in scores] if scores is not None else await self.memory.score(texts, t)
        await self.memory.remember("observation", texts, values, t)
        self.memory.importance_since += sum(values)

    def state(self) -> dict[str, Any]:
        """The queue and who was last seen doing what."""
        return {"noticed": self.noticed, "seen": self.seen}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved."""
        self.noticed, self.seen = state["noticed"], state["seen"]

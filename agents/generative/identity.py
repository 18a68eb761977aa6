"""Identity: who the person is, the persona every prompt speaks as, and what they know of the town.

Thin today (Park et al. 2023 §3.1: the seed description of each agent): the persona line, the
seed memories, home, bed and the places and objects the person knows. It holds no state yet;
a person whose description changes over the run (the paper's agent summary, §A.1) would keep
it here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from sim.llm.gateway import CallSite
from sim.mind import MindContext
from sim.scenario import PersonSpec


class Identity:
    """The person's fixed description, and the model call made in their voice."""

    PURPOSES: ClassVar[tuple[str, ...]] = ()
    """The ``purpose`` of each LLM call this component makes (none: it asks for the others)."""

    EMPTY: ClassVar[dict[str, Any]] = {}
    """The state an identity saves: none yet."""

    def __init__(self, spec: PersonSpec, ctx: MindContext) -> None:
        self.spec, self.ctx = spec, ctx
        scenario = ctx.scenario
        self.name = spec.name
        self.home = scenario.resolve_place(spec.home)
        self.places, self.objects = known_places(scenario, spec)
        self.bed = bed_of(scenario, self.home)

    def persona(self) -> str:
        """The system prompt of every call: name, age, occupation, traits and home."""
        spec = self.spec
        text = f"You are {spec.name}, {spec.age}"
        text += f", {spec.occupation}." if spec.occupation else "."
        if spec.traits:
            text += f" You are {', '.join(spec.traits)}."
        return text + f" You live at {self.home}."

    def seeds(self) -> list[str]:
        """The memories a person starts with: the world's, one per relationship, and their habits."""
        seeds = list(self.spec.memories)
        seeds += [f"{r.name} is my {r.relation}" for r in self.spec.relationships]
        if self.spec.lifestyle:
            seeds.append(f"My habits: {self.spec.lifestyle}")
        return seeds

    def relations(self) -> dict[str, str]:
        """Person -> how this person relates to them, as the world says."""
        return {r.name: r.relation for r in self.spec.relationships}

    def relation(self, other: str, default: str) -> str:
        """How this person relates to ``other`` (the first relationship naming them), or ``default``."""
        return next((r.relation for r in self.spec.relationships if r.name == other), default)

    def second(self, now: datetime) -> int:
        """``now`` as simulated seconds since the run's start (memories' time)."""
        return int((now - self.ctx.scenario.start).total_seconds())

    async def ask(self, schema: type[BaseModel], purpose: str, task: str, fallback: BaseModel | None) -> Any:
        """One structured call as this person (``fallback`` None: None when the model gave no valid answer)."""
        messages = [{"role": "system", "content": self.persona()}, {"role": "user", "content": task}]
        settings = self.spec.model.over(self.ctx.scenario.model) if self.spec.model else self.ctx.scenario.model
        if fallback is None:
            fallback = schema.model_construct()
            answer = await self.ctx.gateway.ask(schema, messages, site=CallSite(self.spec.name, purpose),
                                                fallback=fallback, settings=settings)
            return None if answer is fallback else answer
        return await self.ctx.gateway.ask(schema, messages, site=CallSite(self.spec.name, purpose),
                                          fallback=fallback, settings=settings)

    def state(self) -> dict[str, Any]:
        """Nothing to save yet."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Nothing to load yet."""


def known_places(scenario: Any, spec: PersonSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Areas a person knows (their home, their routine's places, every place nobody lives in) and their objects."""
    homes = {scenario.resolve_place(p.home).split(":", 1)[0] for p in scenario.people}
    own = scenario.resolve_place(spec.home).split(":", 1)[0]
    known = [f"{s.name}:{a.name}" for s in scenario.sectors for a in s.areas if s.name == own or s.name not in homes]
    for item in spec.routine:
        if item.place and item.place != "free":
            area = scenario.resolve_place(item.place)
            if area not in known:
                known.append(area)
    objects = sorted({o.name for s in scenario.sectors for a in s.areas for o in a.objects
                      if f"{s.name}:{a.name}" in known})
    return tuple(known), tuple(objects)


def bed_of(scenario: Any, home: str) -> str | None:
    """The first object with "bed" in its name in the person's home area, if any."""
    sector, area = home.split(":", 1)
    for s in scenario.sectors:
        if s.name == sector:
            for a in s.areas:
                for o in a.objects:
                    if "bed" in o.name and a.name == area:
                        return str(o.name)
    return None

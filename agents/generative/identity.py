"""Identity: who the person is, the card every prompt opens with, and what they know of the town.

Park et al. 2023 §3.1 (the seed description: name, age, occupation, traits, home, seed memories)
and Appendix A (the agent's summary description). Once a simulated day, at the first wake from
04:00, the summary description is synthesised from retrieval: three queries (core
characteristics, occupation and current situation, feeling about recent progress), then one
call that answers all three (the paper asks one call per query).

Every call the person makes has one system message, their card (``card``): what the paper's
code puts at the head of almost every prompt, the agent's "identity stable set" (name, age,
innate traits, learned traits, currently, lifestyle, daily plan requirement, current date),
as far as Hamlet has it, one line an item, what never changes first and what changes daily last:
name, age, innate traits, occupation, home, lifestyle, the people they know with their relation
(the world file's), the date, the summary description (learned traits, currently, feeling) once
made, and today's plan in broad strokes once made. Within a day it changes only when the
morning's summary and plan are made, so a person's calls, whatever their purpose, begin with the
same text and a server's prefix cache serves it; the call's instruction, what it retrieved and
the moment follow in the user message, which repeats nothing the card says.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints

from agents.generative.text import clip
from sim.core.mind import MindContext
from sim.core.simtime import RunTime
from sim.llm.gateway import CallSite
from sim.llm.grammar import Words
from sim.worldfile.scenario import PersonSpec

if TYPE_CHECKING:
    from agents.generative.memory import Memories
    from agents.generative.planning import DayPlanning

Trait = Annotated[str, StringConstraints(max_length=160), Words(3, 16)]
QUERIES = (
    "{name}'s core characteristics",
    "{name}'s current daily occupation and situation",
    "{name}'s feeling about their recent progress in life",
)
"""The three retrievals a summary description is synthesised from (the paper's Appendix A)."""
SUMMARY_FROM = 4 * 60
"""Minute of the day from which the day's summary description is made (with the day plan)."""


class Summary(BaseModel):
    """A person's summary description: who they are, what they do now, how they feel about it."""

    core: Trait = Field(description="core characteristics, in a sentence")
    occupation: Trait = Field(description="occupation and current situation, in a sentence")
    feeling: Trait = Field(description="feeling about recent progress in life, in a sentence")


class Identity:
    """The person's description (the seed and the day's summary), and the model call made in their voice."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("summary",)
    """The ``purpose`` of each LLM call this component makes (beside asking for the others)."""

    EMPTY: ClassVar[dict[str, Any]] = {"summary": None, "summary_date": None}
    """The state of a person whose summary description was never made."""

    def __init__(self, spec: PersonSpec, ctx: MindContext) -> None:
        self.spec, self.ctx = spec, ctx
        scenario = ctx.scenario
        self.name = spec.name
        self.home = scenario.resolve_place(spec.home)
        self.places, self.objects = known_places(scenario, spec)
        self.bed = bed_of(scenario, self.home)
        self.summary: dict[str, str] | None = None  # the latest summary description (``Summary`` fields)
        self.summary_date: str | None = None
        self.time = RunTime(scenario.start)  # the run's seconds and datetimes (memories' time)
        self.day: DayPlanning | None = None  # where today's plan is kept (set by the mind; None: no planning)
        self.known = {r.name for r in spec.relationships}
        # The lines of the card that never change: who the person is, where they live, whom they know.
        sectors = {s.name for s in scenario.sectors}
        lines = [f"You are {spec.name}.", f"Age: {spec.age}"]
        if spec.traits:
            lines.append(f"Innate traits: {', '.join(spec.traits)}")
        if spec.occupation:
            lines.append(f"Occupation: {spec.occupation}")
        lines.append(f"Home: {spec.home if spec.home in sectors else self.home}")
        if spec.lifestyle:
            lines.append(f"Lifestyle: {spec.lifestyle}")
        if spec.relationships:
            lines.append("People you know: " + "; ".join(f"{r.name} ({r.relation})" for r in spec.relationships))
        self.stable = "\n".join(lines)

    def card(self, now: datetime) -> str:
        """The system message of every call at ``now``, one line an item, what never changes first.

        Name, age, innate traits, occupation, home, lifestyle, the people known and how (the world
        file's), then what changes once a day: the date, the latest summary description, and
        today's plan in broad strokes once it is made.
        """
        lines = [self.stable, f"Date: {now:%A %d %B %Y}"]
        if self.summary:
            lines.append(f"Learned traits: {_sentence(self.summary['core'])}")
            lines.append(f"Currently: {_sentence(self.summary['occupation'])}")
            lines.append(f"Feeling about recent progress: {_sentence(self.summary['feeling'])}")
        plan = self.day.plan if self.day is not None and self.day.plan_date == now.date().isoformat() else None
        if plan:
            items = "; ".join(f"{item['start']} {item['activity']}" for item in plan["items"])
            lines.append(f"Today's plan: wake {plan['wake_up']}; {items}; bed {plan['bedtime']}")
        return "\n".join(lines)

    def knows(self, other: str) -> bool:
        """Whether ``other`` is one of the people on the card (the world gives their relation)."""
        return other in self.known

    def due(self, now: datetime) -> bool:
        """Whether today's summary description is still to be made: not made today, and 04:00 or later."""
        return self.summary_date != now.date().isoformat() and now.hour * 60 + now.minute >= SUMMARY_FROM

    async def describe(self, memory: Memories, now: datetime) -> None:
        """Synthesise today's summary description from three retrievals (one call), and keep it."""
        t = self.second(now)
        found: dict[int, str] = {}
        for query in QUERIES:
            for m in await memory.retrieve(query.format(name=self.name), t):
                found.setdefault(m.id, m.text)
        spec = self.spec
        # The instruction first, the retrieved statements last: a server's prefix cache keeps what repeats.
        task = (
            "From these, describe yourself now: your core characteristics; your occupation and current "
            "situation; how you feel about your recent progress in life. One sentence each.\n"
            "Statements about you:\n" + "\n".join(f"- {text}" for text in found.values())
        )
        fallback = Summary(
            core=clip(", ".join(spec.traits) or "an ordinary person", 160),
            occupation=clip(spec.occupation or "goes about their days", 160),
            feeling="content enough",
        )
        summary = await self.ask(Summary, "summary", task, fallback, t=t)
        self.summary, self.summary_date = summary.model_dump(), now.date().isoformat()

    def seeds(self) -> list[str]:
        """The memories a person starts with: the world's, one per relationship, and their habits."""
        seeds = list(self.spec.memories)
        # "Name: relation", as the world writes it: relations read "her husband" or "makes his lunch
        # every weekday", which "Name is my ..." turned into "is my her husband".
        seeds += [f"{r.name}: {r.relation}" for r in self.spec.relationships]
        if self.spec.lifestyle:
            seeds.append(f"My habits: {self.spec.lifestyle}")
        return seeds

    def relation(self, other: str, default: str) -> str:
        """How this person relates to ``other`` (the first relationship naming them), or ``default``."""
        return next((r.relation for r in self.spec.relationships if r.name == other), default)

    def second(self, now: datetime) -> int:
        """``now`` as simulated seconds since the run's start (memories' time)."""
        return self.time.second(now)

    async def ask(self, schema: type[BaseModel], purpose: str, task: str, fallback: BaseModel | None, *, t: int) -> Any:
        """One structured call as this person at second ``t``: the card, then ``task`` (``fallback`` None: None when
        the model gave no valid answer)."""
        messages = [{"role": "system", "content": self.card(self.time.when(t))}, {"role": "user", "content": task}]
        settings = self.spec.model.over(self.ctx.scenario.model) if self.spec.model else self.ctx.scenario.model
        if fallback is None:
            fallback = schema.model_construct()
            answer = await self.ctx.gateway.ask(
                schema, messages, site=CallSite(self.spec.name, purpose), fallback=fallback, settings=settings
            )
            return None if answer is fallback else answer
        return await self.ctx.gateway.ask(
            schema, messages, site=CallSite(self.spec.name, purpose), fallback=fallback, settings=settings
        )

    def state(self) -> dict[str, Any]:
        """The summary description and the day it was made."""
        return {"summary": self.summary, "summary_date": self.summary_date}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved (a snapshot from before summaries has none)."""
        self.summary, self.summary_date = state.get("summary"), state.get("summary_date")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def known_places(scenario: Any, spec: PersonSpec) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Areas a person knows (their home, their routine's places, every place nobody lives in) and their objects.

    In a building of several homes (flats), another household's area is not the person's: they
    know their own flat and the shared rooms, never a neighbour's flat (nor its armchair).
    """
    homes = {scenario.resolve_place(p.home).split(":", 1)[0] for p in scenario.people}
    mine = scenario.resolve_place(spec.home)
    own = mine.split(":", 1)[0]
    # Areas named as someone's home (``home: "Canal Lofts:Priya's flat"``), not a whole house.
    private = {scenario.resolve_place(p.home) for p in scenario.people if ":" in p.home} - {mine}
    known = [
        f"{s.name}:{a.name}"
        for s in scenario.sectors
        for a in s.areas
        if (s.name == own or s.name not in homes) and f"{s.name}:{a.name}" not in private
    ]
    for item in spec.routine:
        if item.place and item.place != "free":
            area = scenario.resolve_place(item.place)
            if area not in known:
                known.append(area)
    objects = sorted(
        {o.name for s in scenario.sectors for a in s.areas for o in a.objects if f"{s.name}:{a.name}" in known}
    )
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

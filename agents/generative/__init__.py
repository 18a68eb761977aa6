"""The generative agent (Park et al. 2023): a mind composed of components.

Each wake-up: notice what changed, sum up who one is and plan the day in the morning, react to
what matters (a conversation, or the rest of the day planned again), or carry on with the current
5–15 minute action, decomposing the hour just in time; then, when enough has mattered, ask to
reflect (a unit of its own a second later, ``reflect``). Each step is a component with its own prompts and
state (identity, memory, perception, planning, reflection, reaction, dialogue: one module
each); ``GenerativeMind`` wires them, and an ablation (``--set reflection=off``) leaves its
component out. Every constant is a parameter under ``minds: {generative: {...}}`` in the world
file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Protocol

from pydantic import BaseModel, Field

from agents.embeddings import make_embedder
from agents.generative.dialogue import Dialogue
from agents.generative.identity import Identity
from agents.generative.memory import Memories, recall_rows, weights
from agents.generative.perception import Perception, overheard
from agents.generative.planning import Acting, DayPlanning
from agents.generative.reaction import Reaction
from agents.generative.reflection import Reflection
from agents.generative.text import listing
from agents.memory import Memory
from sim.core.events import Event
from sim.core.mind import Decision, Line, MindContext, Percept, Recalled, Turn
from sim.llm.grammar import Words
from sim.worldfile.scenario import PersonSpec

DEFAULTS: dict[str, Any] = {
    "planning": True,  # ablation switch: plan the day, or choose the next half hour as it comes
    "reflection": True,  # ablation switch
    "observation": True,  # ablation switch: remember what is perceived
    "reaction": True,  # ablation switch: react to what is noticed (talk, re-plan) and re-plan after conversations
    "reflection_threshold": 150.0,  # importance of new observations and conversations that triggers a reflection
    "reflection_questions": 3,
    "insights_per_question": 5,
    "reflection_window": 100,  # recent memories the questions are asked over
    "w_recency": 1.0,
    "w_importance": 1.0,
    "w_relevance": 1.0,
    "decay": 0.995,  # recency = decay ** hours since last access
    "top_k": 6,  # memories retrieved per query
    "talk_cooldown_minutes": 180,  # before the same two people may start another conversation
    "max_turns": 8,  # lines in a conversation at most
    "perception_limit": 12,  # observations remembered one by one at a wake; the rest become one summary memory
    "perception_minutes": 60,  # at most one importance call for observations per this many minutes
    "embeddings": None,  # None: WordLlama; "hash"; or "URL/model" of an embeddings endpoint
}

SWITCHES = {"planning": "day_planning", "reflection": "reflection", "observation": "perception", "reaction": "reaction"}
"""Ablation switch -> the component it leaves out when off."""

__all__ = ["DEFAULTS", "SWITCHES", "Answer", "Component", "GenerativeMind", "Introspection", "check_params", "weights"]


def check_params(params: dict[str, Any]) -> None:
    """Refuse parameters no run could use: negative or all-zero weights, a threshold ≤ 0."""
    merged = {**DEFAULTS, **params}
    weights(merged).check()
    if float(merged["reflection_threshold"]) <= 0:
        raise ValueError(f"reflection_threshold must be more than 0 (got {merged['reflection_threshold']})")
    if merged["embeddings"] is not None:
        make_embedder(str(merged["embeddings"]))  # checks the spec; nothing is loaded or contacted yet
    if int(merged["perception_limit"]) < 1:
        raise ValueError(f"perception_limit must be at least 1 (got {merged['perception_limit']})")
    if int(merged["perception_minutes"]) < 0:
        raise ValueError(f"perception_minutes must be 0 or more (got {merged['perception_minutes']})")
    if int(merged["max_turns"]) < 2:
        raise ValueError(f"max_turns must be at least 2 (got {merged['max_turns']})")


class Answer(BaseModel):
    """A person's answer to an interview question."""

    answer: Annotated[str, Words(2, 80)] = Field(max_length=600)


class Component(Protocol):
    """What the mind asks of every component beside its own hooks: its calls, and its part of the snapshot."""

    PURPOSES: ClassVar[tuple[str, ...]]
    EMPTY: ClassVar[dict[str, Any]]

    def state(self) -> dict[str, Any]:
        """The component's part of the mind's state, JSON-ready; its keys are no other component's."""
        ...

    def restore(self, state: dict[str, Any]) -> None:
        """Load the component's keys from the mind's saved ``state``."""
        ...


class GenerativeMind:
    """A person with a memory stream who plans, reflects, notices, talks and remembers.

    The components, in the order a wake-up runs them: ``memory`` (wakes first), ``perception``,
    ``day_planning``, ``reaction``, ``acting``; ``reflection`` after the decision, in a unit of
    its own; ``dialogue`` speaks in conversations. A switched-off component is None.
    """

    def __init__(self, spec: PersonSpec, ctx: MindContext) -> None:
        self.spec, self.ctx = spec, ctx
        self.params = params = {**DEFAULTS, **ctx.params}
        self.identity = Identity(spec, ctx)
        self.memory = Memories(self.identity, ctx, params)
        self.perception = Perception(self.memory, spec.name, params) if params["observation"] else None
        self.day_planning = DayPlanning(self.identity, self.memory) if params["planning"] else None
        self.identity.day = self.day_planning  # today's plan joins the card
        self.acting = Acting(self.identity, self.memory, ctx, self.day_planning)
        self.reflection = Reflection(self.identity, self.memory, params) if params["reflection"] else None
        self.dialogue = Dialogue(self.identity, self.memory, self.acting, reacts=bool(params["reaction"]))
        self.reaction = (
            Reaction(self.identity, self.memory, self.acting, self.dialogue, self.day_planning, params)
            if params["reaction"]
            else None
        )

    def components(self) -> dict[str, Component | None]:
        """Component name -> component, None for one an ablation left out."""
        return {
            "identity": self.identity,
            "memory": self.memory,
            "perception": self.perception,
            "day_planning": self.day_planning,
            "acting": self.acting,
            "reflection": self.reflection,
            "reaction": self.reaction,
            "dialogue": self.dialogue,
        }

    async def retrieve(
        self, query: str, now: int, *, k: int | None = None, before: int | None = None, touch: bool = True
    ) -> list[Memory]:
        """The memories most worth recalling for ``query`` at second ``now``."""
        return await self.memory.retrieve(query, now, k=k, before=before, touch=touch)

    # -- the protocol --------------------------------------------------------------------

    async def decide(self, percept: Percept) -> Decision:
        """Notice, sum up and plan in the morning, react, or do the next action of the plan; ask to reflect if due."""
        now = percept.now
        t = self.identity.second(now)
        memory = self.memory
        await memory.wake(t)
        whispers = [
            str(e.data.get("text", ""))
            for e in percept.events
            if e.kind == "intervene" and e.data.get("kind") == "whisper"
        ]
        if whispers:  # planted by a researcher: a memory at once, whatever the ablations, even on the road
            await memory.remember("whisper", whispers, await memory.score(whispers, t), t)
        if percept.place is None:
            if whispers and self.reaction is not None:
                self.reaction.hear_news(whispers)
            return Decision()
        notes: list[Any] = []
        noticed = [("event", text) for text in whispers]
        if self.perception is not None:
            noticed += await self.perception.perceive(percept, t, asleep=self.acting.sleeping())
        if self.identity.due(now):
            await self.identity.describe(memory, now)
        if self.day_planning is not None and self.day_planning.due(now):
            notes += await self.day_planning.plan_day(now, self.acting.yesterday(now))
            self.acting.start_over()
            if self.reaction is not None:
                self.reaction.new_day()
        if self.acting.asleep(now.hour * 60 + now.minute):
            return self.acting.sleep(percept, now, notes)
        decision = await self._respond(percept, now, t, noticed, notes)
        # Reflection comes after the decision, as in the paper's code (plan, then reflect, then
        # act): in a unit of its own, so nobody waits for it but the person's own next unit.
        decision.reflect = self.reflection is not None and self.reflection.due()
        return decision

    async def _respond(self, percept: Percept, now: datetime, t: int, noticed: list[Any], notes: list[Any]) -> Decision:
        """React to what was noticed (a conversation, or the day planned again), else the next action of the plan."""
        if self.reaction is not None:
            talk, replan = await self.reaction.react(percept, t, noticed)
            if replan is not None and self.day_planning is not None and self.day_planning.plan_date is not None:
                notes.append(await self.day_planning.replan(now, replan))
                self.acting.start_over()
            if talk is not None:
                return Decision([*notes, talk])
        return await self.acting.act(percept, now, t, notes)

    async def reflect(self, now: datetime) -> None:
        """Reflect, as the last decision asked (``sim.core.mind.Reflector``): questions, insights, their importance."""
        if self.reflection is None:
            return
        t = self.identity.second(now)
        await self.memory.wake(t)
        await self.reflection.reflect(t)

    def notices(self, event: Event) -> bool:
        """Woken by being spoken to, or by an injected event where the person is."""
        if event.kind == "say":
            return event.data.get("to") == self.spec.name
        return event.kind == "intervene"

    def hears(self, event: Event) -> bool:
        """Keeps, without waking, a line said to someone else within earshot (``sim.core.mind.Listener``).

        It reads no state: lines kept while the person slept are left out at the wake instead.
        """
        return self.perception is not None and overheard(event, self.spec.name)

    def state(self) -> dict[str, Any]:
        """Every component's state in one flat dict (a left-out one's as it starts), memories aside (run-file rows).

        The keys are those of snapshots before the mind had components, so old run files resume.
        """
        out: dict[str, Any] = {}
        for name, component in self.components().items():
            out.update(_LEFT_OUT[name] if component is None else component.state())
        return out

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved into each component there is; the stream is rebuilt on the next wake."""
        for component in self.components().values():
            if component is not None:
                component.restore(state)

    # -- conversations and interviews ----------------------------------------------------

    async def prepare(self, partner: str, now: datetime) -> None:
        """Sum up the partner of a conversation about to begin (``sim.core.mind.Preparer``)."""
        await self.dialogue.prepare(partner, now)

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        """Say the next line, drawing on memories of the partner and the topic."""
        return await self.dialogue.speak(partner, topic, lines, now)

    async def remember_conversation(self, partner: str, topic: str, lines: list[Line], now: datetime) -> None:
        """Keep a summary and what was learned, scored by how much it mattered; re-plan later if it changes the plans."""
        changed = await self.dialogue.remember_conversation(partner, topic, lines, now)
        if self.reaction is not None:
            self.reaction.after_talk(partner, changed)

    async def answer(self, question: str, at: int, form: type[BaseModel] | None = None) -> str:
        """Answer from memories formed by second ``at``, touching none of them (``form``: as that schema's JSON)."""
        await self.memory.wake(at)
        recalled = await self.memory.retrieve(question, at, before=at, touch=False)
        task = f"Question: {question}\nYou remember: {listing(recalled)}"
        if form is not None:
            filled = await self.identity.ask(form, "interview", task, None, t=at)
            return "" if filled is None else str(filled.model_dump_json())
        reply = await self.identity.ask(Answer, "interview", task, Answer(answer="I don't remember."), t=at)
        return str(reply.answer)


_LEFT_OUT: dict[str, dict[str, Any]] = {
    "perception": Perception.EMPTY,
    "day_planning": DayPlanning.EMPTY,
    "reflection": Reflection.EMPTY,
    "reaction": Reaction.EMPTY,
}
"""What a switched-off component contributes to the snapshot: its state as it starts, so the keys never change."""


class Introspection:
    """What a viewer reads of a recorded generative person (``sim.core.mind.Introspection``)."""

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The generative defaults under ``params``."""
        return {**DEFAULTS, **params}

    def recall(
        self,
        rows: list[dict[str, Any]],
        state: dict[str, Any],
        query: str,
        now: int,
        params: dict[str, Any],
        k: int = 20,
    ) -> list[Recalled]:
        """The memory component's retrieval over recorded rows, touching none."""
        return recall_rows(rows, state, query, now, params, k)

"""Reaction: whether what the person just noticed changes what they do (Park et al. 2023 §4.3.1, "Reacting and Updating Plans").

When a wake brings something that matters, one call asks the person whether to talk to someone
present (or nobody) and whether to carry on with their plan or change it, and why. A reaction is
a conversation (the talk's own aftermath decides the plans: see below) or, talking to nobody, a
change of plans: the rest of the day planned again from now (``DayPlanning.replan``). After every conversation each side decides, in the call
that remembers it (``Dialogue.remember_conversation``), whether what was said changes their plans;
if so the rest of their day is planned again at their next wake, with that reason.

What matters, so a decision is asked (never at every wake with the same people present, so a
person's decisions are bounded by their waking hours, not by the size of the crowd):

- news: an injected event or a whisper (also one that reached them on the road), a line said
  to them outside a conversation, or an object whose state changed; or
- company when ready: someone is here to talk to and ``talk_cooldown_minutes`` have passed since
  the person's last conversation and last decision.

The people offered are those here, awake, not in a conversation, and not talked with (or
offered) within the cooldown; everyone offered counts as talked with. Lines overheard become
memories but are not news (in a crowd they would ask at every line). Differences from the paper:
one call decides both whether to react and how (the paper asks what to react to, then whether
to talk, then re-plans: three calls); people seen are news only when the cooldown allows.
``--set reaction=off`` leaves this component out: nobody reacts, starts a conversation or
re-plans on their own (they still answer when spoken to and follow their plan).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from agents.generative.dialogue import NOBODY, Dialogue
from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.planning import Acting, DayPlanning
from agents.generative.text import clip, listing
from sim.core.mind import Percept, Talk
from sim.llm.grammar import Words

Text = Annotated[str, StringConstraints(max_length=240), Words(2, 16)]
CARRY_ON, CHANGE = "carry on", "change plans"
NOTICED_SHOWN = 5
"""Observations of a wake quoted in the decision's prompt (the rest are memories, retrieved if they matter)."""


def available(activity: str) -> bool:
    """Whether someone doing ``activity`` could be asked to talk: awake and not in a conversation."""
    return "sleep" not in activity and not activity.startswith("talking")


@cache
def reaction_model(candidates: tuple[str, ...]) -> type[BaseModel]:
    """The schema of the reaction decision: (with people here) whom to talk to and about what; carry on or not; why.

    Talking is a reaction by itself, so a choice of someone to talk to starts the conversation
    whatever the other field says (one answer never contradicts itself into silence).
    """
    fields: dict[str, Any] = {}
    if candidates:
        # a type made at run time: Any keeps type checkers from reading it as a form
        whom: Any = Literal[(*candidates, NOBODY)]
        fields["talk_to"] = (whom, Field(description="who to talk to now, or nobody"))
        fields["topic"] = (Text, Field(description="what to talk about"))
    fields["reaction"] = (Literal[CARRY_ON, CHANGE], Field(description="carry on with your plan, or change it"))
    fields["reason"] = (Text, Field(description="why"))
    return create_model("ReactionChoice", **fields)


class Reaction:
    """Decides, when something matters, whether to carry on or react (talk, or plan the rest of the day again)."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("reaction",)
    """The ``purpose`` of each LLM call this component makes (re-planning is the day planning's)."""

    EMPTY: ClassVar[dict[str, Any]] = {"pending": None, "news": []}
    """The state of a person with nothing to react to."""

    def __init__(
        self,
        identity: Identity,
        memory: Memories,
        acting: Acting,
        dialogue: Dialogue,
        day: DayPlanning | None,
        params: dict[str, Any],
    ) -> None:
        self.identity, self.memory, self.acting, self.dialogue, self.day = identity, memory, acting, dialogue, day
        self.cooldown = int(params["talk_cooldown_minutes"]) * 60
        self.max_turns = int(params["max_turns"])
        self.pending: str | None = None  # why to plan the rest of the day again at the next wake (after a talk)
        self.news: list[str] = []  # news that reached the person where they could not react (on the road)

    def hear_news(self, texts: list[str]) -> None:
        """Keep news to react to at the next wake in a place (it came on the road)."""
        self.news += texts

    def new_day(self) -> None:
        """Forget a change of plans decided after yesterday's last talk: today's plan weighs that talk's memories."""
        self.pending = None

    def after_talk(self, partner: str, reason: str | None) -> None:
        """A conversation with ``partner`` changed the person's plans (``reason``), or did not (None)."""
        if reason is not None:
            self.pending = clip(f"After talking with {partner}: {reason}", 300)

    def due(self, percept: Percept, t: int, noticed: list[tuple[str, str]], candidates: tuple[str, ...]) -> bool:
        """Whether something matters enough for a decision: news, or company when ready to talk again."""
        me = self.identity.spec.name
        if self.news or any(kind == "object" for kind, _ in noticed):
            return True
        if any(
            e.kind == "intervene" or (e.kind == "say" and e.data.get("to") == me and "turn" not in e.data)
            for e in percept.events
        ):
            return True
        return bool(candidates) and t - max(self.dialogue.last_talk.values(), default=-(10**9)) >= self.cooldown

    async def react(self, percept: Percept, t: int, noticed: list[tuple[str, str]]) -> tuple[Talk | None, str | None]:
        """A conversation to start, and/or why to plan the rest of the day again; (None, None) to carry on.

        A re-planning decided after a conversation is returned first, without a call.
        """
        if self.pending is not None:
            reason, self.pending = self.pending, None
            return None, reason
        last_talk = self.dialogue.last_talk
        candidates = tuple(
            other
            for other, activity in percept.people
            if available(activity) and t - last_talk.get(other, -(10**9)) >= self.cooldown
        )
        if not self.due(percept, t, noticed, candidates):
            return None, None
        news = [*self.news, *(text for _, text in noticed)][:NOTICED_SHOWN]
        self.news = []
        recalled = await self.memory.retrieve(" ".join([*news, *candidates]) or self.acting.doing(), t)
        # How the person relates to each is on the card; here only what they think of them since a talk,
        # or that the card does not name them.
        here = "".join(f"\n{c} is here{self.dialogue.about_note(c, 'someone you may not know')}." for c in candidates)
        minute = percept.now.hour * 60 + percept.now.minute
        plan = self.day.remaining(minute) if self.day is not None else "nothing planned"
        # The question first, what the moment brings last (a server's prefix cache keeps what repeats).
        prompt = (
            "Do you talk to someone here? Do you carry on with your plan, or change it? Say why.\n"
            f"The rest of your plan today: {plan}. Right now: {self.acting.doing()}.\n"
            f"You notice: {'; '.join(news) or 'nothing new'}.{here}\n"
            f"You remember: {listing(recalled)}\n"
            f"It is {percept.now:%H:%M}."
        )
        schema = reaction_model(candidates)
        fallback = schema.model_validate(
            {
                "reaction": CARRY_ON,
                "reason": "nothing calls for it",
                **({"talk_to": NOBODY, "topic": "nothing"} if candidates else {}),
            }
        )
        choice = await self.identity.ask(schema, "reaction", prompt, fallback, t=t)
        for other in candidates:  # asked once: not again about the same people until the cooldown
            last_talk[other] = t
        partner = str(getattr(choice, "talk_to", NOBODY))
        if partner != NOBODY:  # the conversation is the reaction; its aftermath decides the plans
            return Talk(partner, str(choice.topic), self.max_turns), None
        if choice.reaction == CHANGE:
            return None, str(choice.reason) or "something changed"
        return None, None

    def state(self) -> dict[str, Any]:
        """A re-planning decided after a conversation and not done yet, and news waiting for a place."""
        return {"pending": self.pending, "news": self.news}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved (a snapshot from before reactions re-planned has neither)."""
        self.pending, self.news = state.get("pending"), list(state.get("news", []))

"""Reaction: whether to react to the people present, today only by starting a conversation (Park et al. 2023 §4.3.1).

When someone awake and free is here and neither has talked with the other within the cooldown,
one call asks whether to talk and about what. Unlike the paper, the person cannot react by
changing their plan (only by talking), and is asked again about the same people only after the
cooldown. ``--set reaction=off`` leaves this component out: nobody starts a conversation on
their own (they still answer when spoken to).
"""

from __future__ import annotations

from typing import Any, ClassVar

from agents.generative.dialogue import NOBODY, Dialogue, talk_choice_model
from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.planning import Acting
from agents.generative.text import listing
from sim.mind import Percept, Talk


class Reaction:
    """Decides whether to start a conversation with someone present."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("talk_decision",)
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {}
    """The state reaction saves: none (the cooldown reads the dialogue's ``last_talk``)."""

    def __init__(self, identity: Identity, memory: Memories, acting: Acting, dialogue: Dialogue,
                 params: dict[str, Any]) -> None:
        self.identity, self.memory, self.acting, self.dialogue = identity, memory, acting, dialogue
        self.cooldown = int(params["talk_cooldown_minutes"]) * 60
        self.max_turns = int(params["max_turns"])

    async def react(self, percept: Percept, t: int) -> Talk | None:
        """A conversation to start with someone present, or None."""
        last_talk = self.dialogue.last_talk
        candidates = tuple(
            other for other, activity in percept.people
            if "sleep" not in activity and not activity.startswith("talking")
            and t - last_talk.get(other, -10**9) >= self.cooldown
        )
        if not candidates:
            return None
        recalled = await self.memory.retrieve(" ".join(candidates), t)
        schema = talk_choice_model(candidates)
        known = self.identity.relations()
        here = "; ".join(f"{c} ({known.get(c, 'someone you may not know')}) is here" for c in candidates)
        prompt = (f"Right now: {self.acting.doing()}. {here}.\n"
                  f"You remember: {listing(recalled)}\nDo you start a conversation, and about what?")
        choice = await self.identity.ask(schema, "talk_decision", prompt, schema(talk_to=NOBODY, topic="nothing"))
        partner = str(choice.talk_to)
        for other in candidates:  # asked once: not again about the same people until the cooldown
            last_talk[other] = t
        if partner == NOBODY:
            return None
        return Talk(partner, str(choice.topic), self.max_turns)

    def state(self) -> dict[str, Any]:
        """Nothing to save."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Load nothing."""

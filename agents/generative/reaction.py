"""Reaction: whether to react to the people present, today only by starting a conversation (Park et al. 2023 §4.3.1).

The talk decision (one call: whether to talk, to whom, about what) is asked only when something
changed for the person, never at every wake with the same people present, so a person's
conversations are bounded by their waking hours, not by the size of the crowd:

- news reached them (an injected event or a whisper, or a line said to them outside a
  conversation); or
- they are ready to talk again: ``talk_cooldown_minutes`` have passed since their last
  conversation (with anyone, begun by either side) and their last talk decision.

The people offered are those here, awake, not in a conversation, and not talked with (or
offered) within the cooldown; everyone offered counts as talked with. So a person asks at most
once per cooldown unless news arrives, however many people come and go. Lines overheard become
memories but are not news (in a crowd they would ask at every line). Unlike the paper, the person
cannot react by changing their plan (only by talking). ``--set reaction=off`` leaves this
component out: nobody starts a conversation on their own (they still answer when spoken to).
"""

from __future__ import annotations

from typing import Any, ClassVar

from agents.generative.dialogue import NOBODY, Dialogue, talk_choice_model
from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.planning import Acting
from agents.generative.text import listing
from sim.mind import Percept, Talk


def available(activity: str) -> bool:
    """Whether someone doing ``activity`` could be asked to talk: awake and not in a conversation."""
    return "sleep" not in activity and not activity.startswith("talking")


class Reaction:
    """Decides whether to start a conversation with someone present, when something changed."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("talk_decision",)
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {}
    """The state reaction saves: none (the cooldowns read the dialogue's ``last_talk``)."""

    def __init__(self, identity: Identity, memory: Memories, acting: Acting, dialogue: Dialogue,
                 params: dict[str, Any]) -> None:
        self.identity, self.memory, self.acting, self.dialogue = identity, memory, acting, dialogue
        self.cooldown = int(params["talk_cooldown_minutes"]) * 60
        self.max_turns = int(params["max_turns"])

    def due(self, percept: Percept, t: int) -> bool:
        """Whether something changed that is worth a talk decision: news, or ready to talk again."""
        me = self.identity.spec.name
        if any(e.kind == "intervene" or (e.kind == "say" and e.data.get("to") == me and "turn" not in e.data)
               for e in percept.events):
            return True
        return t - max(self.dialogue.last_talk.values(), default=-10**9) >= self.cooldown

    async def react(self, percept: Percept, t: int) -> Talk | None:
        """A conversation to start with someone present, or None (no call when nothing changed)."""
        last_talk = self.dialogue.last_talk
        candidates = tuple(other for other, activity in percept.people if available(activity)
                           and t - last_talk.get(other, -10**9) >= self.cooldown)
        if not candidates or not self.due(percept, t):
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

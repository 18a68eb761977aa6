"""Reaction: whether to react to the people present, today only by starting a conversation (Park et al. 2023 §4.3.1).

The talk decision (one call: whether to talk, to whom, about what) is asked only when something
changed since the person's last wake in a place, so a person's conversations are bounded by their
waking hours, not by the size of the crowd:

- someone is here who was not at the last wake (arrived, or the person arrived somewhere new):
  asked about those people;
- news reached the person (an injected event or a whisper, or a line said to them outside a
  conversation), or ``talk_cooldown_minutes`` passed since their last talk decision: asked
  about everyone here.

Only people awake, not in a conversation, and not talked with (or offered) within the cooldown
are offered; everyone offered counts as talked with. So a person asks at most once per cooldown
about the people who stay, and otherwise only at arrivals. Lines overheard become memories but
are not a change (in a crowd they would ask at every line). Unlike the paper, the person cannot
react by changing their plan (only by talking). ``--set reaction=off`` leaves this component
out: nobody starts a conversation on their own (they still answer when spoken to).
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

    EMPTY: ClassVar[dict[str, Any]] = {"here": None, "present": [], "asked": None}
    """The state of a person who has not looked around: no place, nobody seen, never asked."""

    def __init__(self, identity: Identity, memory: Memories, acting: Acting, dialogue: Dialogue,
                 params: dict[str, Any]) -> None:
        self.identity, self.memory, self.acting, self.dialogue = identity, memory, acting, dialogue
        self.cooldown = int(params["talk_cooldown_minutes"]) * 60
        self.max_turns = int(params["max_turns"])
        self.here: str | None = None  # the place of the last wake
        self.present: list[str] = []  # who was there then
        self.asked: int | None = None  # the second of the last talk decision

    def changed(self, percept: Percept, t: int) -> tuple[str, ...]:
        """Who is worth a talk decision now: newcomers, or everyone here after news or a cooldown without asking."""
        me = self.identity.spec.name
        here = [other for other, _ in percept.people]
        before = set(self.present) if self.here == percept.place else set()
        self.here, self.present = percept.place, here
        news = any(e.kind == "intervene" or (e.kind == "say" and e.data.get("to") == me and "turn" not in e.data)
                   for e in percept.events)
        if news or self.asked is None or t - self.asked >= self.cooldown:
            return tuple(here)
        return tuple(other for other in here if other not in before)

    async def react(self, percept: Percept, t: int) -> Talk | None:
        """A conversation to start with someone present, or None (no call when nothing changed)."""
        last_talk = self.dialogue.last_talk
        activity = dict(percept.people)
        candidates = tuple(other for other in self.changed(percept, t) if available(activity[other])
                           and t - last_talk.get(other, -10**9) >= self.cooldown)
        if not candidates:
            return None
        recalled = await self.memory.retrieve(" ".join(candidates), t)
        schema = talk_choice_model(candidates)
        known = self.identity.relations()
        here = "; ".join(f"{c} ({known.get(c, 'someone you may not know')}) is here" for c in candidates)
        prompt = (f"Right now: {self.acting.doing()}. {here}.\n"
                  f"You remember: {listing(recalled)}\nDo you start a conversation, and about what?")
        choice = await self.identity.ask(schema, "talk_decision", prompt, schema(talk_to=NOBODY, topic="nothing"))
        self.asked = t
        partner = str(choice.talk_to)
        for other in candidates:  # asked once: not again about the same people until the cooldown
            last_talk[other] = t
        if partner == NOBODY:
            return None
        return Talk(partner, str(choice.topic), self.max_turns)

    def state(self) -> dict[str, Any]:
        """The place of the last wake, who was there, and when the last talk decision was asked."""
        return {"here": self.here, "present": self.present, "asked": self.asked}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved (a snapshot from before this rule has none: everyone counts as new)."""
        self.here, self.present, self.asked = state.get("here"), list(state.get("present", [])), state.get("asked")

"""Dialogue: saying a line, and what each side keeps from a conversation (Park et al. 2023 §4.3.2).

Before their first line of a conversation, the speaker sums up what they remember of the other
person (one call over the memories retrieved for that name: the paper's relationship summary);
the summary is kept, shown again when deciding whether to talk to them, and made afresh at the
next conversation. Each line is one call conditioned on that summary, on memories retrieved for
the partner, the topic and the last line, on what the speaker is busy with, on who they are and
how they relate to the partner (their card, ``identity``), and on the conversation so far. Afterwards each side keeps a summary and up to
three things learned, rated in the same call, which count toward reflecting, and says whether
what was said changes their plans for the rest of the day (``reaction`` re-plans at their next
wake). Differences from the paper: the relationship summary is made once a conversation, not
before every line, and both people make it at once as the conversation begins (``prepare``: it
reads only the speaker's memories, not what is said); one call keeps the conversation (the paper asks for a summary, a memo and a
planning thought separately).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints

from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.planning import Acting
from agents.generative.text import clip, listing
from sim.core.mind import Line, Turn
from sim.llm.grammar import Words

Text = Annotated[str, StringConstraints(max_length=240), Words(2, 20)]
NOBODY = "nobody"


class Utterance(BaseModel):
    """One line of a conversation and whether the speaker ends it."""

    line: Text
    end: bool = Field(description="true when the conversation has run its course")


class ConversationNotes(BaseModel):
    """What a participant keeps: a summary, up to three things learned, and how much it mattered."""

    summary: Text
    learned: list[Text] = Field(max_length=3)
    importance: int = Field(ge=1, le=10)


class ReactingNotes(ConversationNotes):
    """The notes, and whether what was said changes the participant's plans for the rest of the day."""

    react: bool = Field(description="true if this changes your plans for the rest of today")
    why: Text = Field(description="how, if it does")


class RelationshipSummary(BaseModel):
    """What the speaker remembers of the other person and thinks of them."""

    summary: Text


def transcript(lines: list[Line]) -> str:
    """A conversation as ``Name: text`` lines."""
    return "\n".join(f"{line.speaker}: {line.text}" for line in lines) or "(nothing said yet)"


class Dialogue:
    """Speaks in conversations and remembers them; knows when it last talked with whom."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("relationship", "dialogue_turn", "dialogue_memory")
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {"last_talk": {}, "about": {}}
    """The state of a person who has talked with nobody."""

    def __init__(self, identity: Identity, memory: Memories, acting: Acting, reacts: bool) -> None:
        self.identity, self.memory, self.acting = identity, memory, acting
        self.reacts = reacts  # ask after a conversation whether it changes the plans (the reaction component is on)
        self.last_talk: dict[str, int] = {}  # partner -> simulated second of the last conversation (or offer)
        self.about: dict[str, list[Any]] = {}  # partner -> [second made, relationship summary]
        self.ready_for: str | None = None  # the partner summed up for the conversation about to begin

    def about_note(self, partner: str, stranger: str) -> str:
        """What a prompt adds about ``partner`` to the card, in brackets: the latest relationship summary
        (the card gives the world's relation), and ``stranger`` first for someone the card does not name;
        empty when there is nothing to add."""
        said = ([] if self.identity.knows(partner) else [stranger]) + (
            [str(self.about[partner][1])] if partner in self.about else []
        )
        return f" ({'; '.join(said)})" if said else ""

    async def sum_up(self, partner: str, t: int) -> str:
        """One call: what this person remembers of ``partner`` and thinks of them, kept for later."""
        relation = self.identity.relation(partner, "someone you know")
        recalled = await self.memory.retrieve(partner, t, k=8)
        # the card says how the person relates to those they know; a stranger is said to be one here
        who = "" if self.identity.knows(partner) else f"{partner} ({relation}). "
        prompt = (
            f"In a sentence or two: who is {partner} to you, and what do you think and feel about them?\n"
            f"{who}What you remember of {partner}: {listing(recalled)}"
        )
        answer = await self.identity.ask(
            RelationshipSummary,
            "relationship",
            prompt,
            RelationshipSummary(summary=clip(f"{partner} is {relation}.", 240)),
            t=t,
        )
        self.about[partner] = [t, str(answer.summary)]
        return str(answer.summary)

    async def prepare(self, partner: str, now: datetime) -> None:
        """Sum up ``partner`` before the conversation's first line, while the other does the same."""
        t = self.identity.second(now)
        await self.memory.wake(t)
        await self.sum_up(partner, t)
        self.ready_for = partner

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        """Say the next line, drawing on the relationship, memories of the partner and the topic, and the talk so far."""
        t = self.identity.second(now)
        await self.memory.wake(t)
        me = self.identity.name
        if self.ready_for == partner or (any(line.speaker == me for line in lines) and partner in self.about):
            self.ready_for = None
            about = str(self.about[partner][1])
        else:  # the speaker's first line: sum up the partner once for this conversation
            about = await self.sum_up(partner, t)
        doing = self.acting.doing()
        last = lines[-1].text if lines else ""
        recalled = await self.memory.retrieve(f"{partner}. {topic}. {last}", t, k=4)
        # After the card (which says how the speaker relates to the people they know): what holds for the
        # whole conversation, then the talk so far (each line extends the last prompt's), the memories
        # retrieved for this line last, so a server's prefix cache keeps the rest.
        stranger = "" if self.identity.knows(partner) else " (someone you know)"
        prompt = (
            "Say your next line; end the conversation when it has run its course.\n"
            f"You are talking with {partner}{stranger} about {topic}. What you think of {partner}: {about}\n"
            f"Right now: {doing}.\n"
            f"So far:\n{transcript(lines)}\n"
            f"You remember: {listing(recalled)}"
        )
        said = await self.identity.ask(
            Utterance, "dialogue_turn", prompt, Utterance(line="Well, I should get going.", end=True), t=t
        )
        return Turn(said.line, said.end)

    async def remember_conversation(self, partner: str, topic: str, lines: list[Line], now: datetime) -> str | None:
        """Keep a summary and what was learned, scored by how much it mattered; how it changes the plans, if it does."""
        t = self.identity.second(now)
        self.last_talk[partner] = t
        self.acting.log(now, f"talked with {partner} about {topic}")
        ask = (
            "Summarise the conversation, list up to three things you learned, and rate how much it mattered (1 to 10)."
        )
        schema: type[ConversationNotes] = ConversationNotes
        if self.reacts:
            schema = ReactingNotes
            ask += f" Does it change your plans for the rest of today ({self.acting.doing()} now)? If so, how?"
        fallback = schema.model_validate(
            {
                "summary": clip(f"I talked with {partner} about {topic}.", 240),
                "learned": [],
                "importance": 3,
                "react": False,
                "why": "",
            }
        )
        notes = await self.identity.ask(
            schema,
            "dialogue_memory",
            f"{ask}\nYou just talked with {partner} about {topic}:\n{transcript(lines)}",
            fallback,
            t=t,
        )
        texts = [notes.summary, *notes.learned]
        await self.memory.remember("dialogue", texts, [float(notes.importance)] * len(texts), t)
        # What is heard in a conversation is perceived too, and counts toward reflecting.
        self.memory.importance_since += float(notes.importance) * len(texts)
        if isinstance(notes, ReactingNotes) and notes.react:
            return str(notes.why) or f"what {partner} said"
        return None

    def state(self) -> dict[str, Any]:
        """When this person last talked with (or offered to talk to) whom, and what they think of them."""
        return {"last_talk": self.last_talk, "about": self.about}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved (a snapshot from before relationship summaries has none)."""
        self.last_talk, self.about = state["last_talk"], state.get("about", {})

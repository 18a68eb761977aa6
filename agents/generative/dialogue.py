"""Dialogue: saying a line, and what each side keeps from a conversation (Park et al. 2023 §4.3.2).

Each line is one call conditioned on memories retrieved for the partner, the topic and what the
speaker is busy with; afterwards each side keeps a summary and up to three things learned, which
count toward reflecting. (Deciding to talk is the reaction component's; its schema is here,
beside the conversation it opens.) Unlike the paper, a conversation does not change either
side's plan yet.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.planning import Acting
from agents.generative.text import clip, listing
from sim.mind import Line, Turn

Text = Annotated[str, StringConstraints(max_length=240)]
NOBODY = "nobody"


@cache
def talk_choice_model(candidates: tuple[str, ...]) -> type[BaseModel]:
    """The schema of the decide-to-talk call: whom to talk to (or nobody) and about what."""
    whom: Any = Literal[(*candidates, NOBODY)]  # a type made at run time: Any keeps type checkers from reading it as a form
    return create_model(
        "TalkChoice",
        talk_to=(whom, Field(description="who to start a conversation with")),
        topic=(Text, Field(description="what to talk about")),
    )


class Utterance(BaseModel):
    """One line of a conversation and whether the speaker ends it."""

    line: Text
    end: bool = Field(description="true when the conversation has run its course")


class ConversationNotes(BaseModel):
    """What a participant keeps: a summary, up to three things learned, and how much it mattered."""

    summary: Text
    learned: list[Text] = Field(max_length=3)
    importance: int = Field(ge=1, le=10)


def transcript(lines: list[Line]) -> str:
    """A conversation as ``Name: text`` lines."""
    return "\n".join(f"{line.speaker}: {line.text}" for line in lines) or "(nothing said yet)"


class Dialogue:
    """Speaks in conversations and remembers them; knows when it last talked with whom."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("dialogue_turn", "dialogue_memory")
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {"last_talk": {}}
    """The state of a person who has talked with nobody."""

    def __init__(self, identity: Identity, memory: Memories, acting: Acting) -> None:
        self.identity, self.memory, self.acting = identity, memory, acting
        self.last_talk: dict[str, int] = {}  # partner -> simulated second of the last conversation (or offer)

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        """Say the next line, drawing on memories of the partner and the topic."""
        t = self.identity.second(now)
        await self.memory.wake(t)
        doing = self.acting.doing()
        # What one is busy with colours what one says, as the paper's agent status does.
        recalled = await self.memory.retrieve(f"{partner}. {topic}. {doing}", t, k=4)
        relation = self.identity.relation(partner, "someone you know")
        prompt = (f"You are talking with {partner} ({relation}) about {topic}.\n"
                  f"Right now: {doing}.\n"
                  f"You remember: {listing(recalled)}\n"
                  f"So far:\n{transcript(lines)}\nSay your next line; end the conversation when it has run "
                  "its course.")
        said = await self.identity.ask(Utterance, "dialogue_turn", prompt,
                                       Utterance(line="Well, I should get going.", end=True))
        return Turn(said.line, said.end)

    async def remember_conversation(self, partner: str, topic: str, lines: list[Line], now: datetime) -> None:
        """Keep a summary and what was learned, scored by how much it mattered."""
        t = self.identity.second(now)
        self.last_talk[partner] = t
        prompt = (f"You just talked with {partner} about {topic}:\n{transcript(lines)}\n"
                  "Summarise the conversation, list up to three things you learned, and rate how much it mattered "
                  "(1 to 10).")
        notes = await self.identity.ask(ConversationNotes, "dialogue_memory", prompt,
                                        ConversationNotes(summary=clip(f"I talked with {partner} about {topic}.", 240),
                                                          learned=[], importance=3))
        assert isinstance(notes, ConversationNotes)
        texts = [notes.summary, *notes.learned]
        await self.memory.remember("dialogue", texts, [float(notes.importance)] * len(texts), t)
        # What is heard in a conversation is perceived too, and counts toward reflecting.
        self.memory.importance_since += float(notes.importance) * len(texts)

    def state(self) -> dict[str, Any]:
        """When this person last talked with (or offered to talk to) whom."""
        return {"last_talk": self.last_talk}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved."""
        self.last_talk = state["last_talk"]

"""Dialogue: deciding to talk, saying a line, and what each side keeps from a conversation."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from sim.mind import Line

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

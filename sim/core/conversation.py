"""Conversations: two people talk in turns until one ends it or the turn cap is reached."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sim.core.mind import Line, Preparer, Talker

DEFAULT_MAX_TURNS = 8
SECONDS_PER_TURN = 30
"""Simulated time one line takes; a conversation keeps both people busy for its lines."""


@dataclass(slots=True)
class Conversation:
    """A conversation the engine runs as one unit within a tick: who, about what, and how it went."""

    initiator: str
    partner: str
    topic: str
    place: str
    max_turns: int = DEFAULT_MAX_TURNS
    lines: list[Line] = field(default_factory=list)
    ended_by: str | None = None  # who chose to end it; None when the cap ended it

    def state(self) -> dict[str, Any]:
        """Who and what, for snapshots taken while the conversation is queued."""
        return {
            "initiator": self.initiator,
            "partner": self.partner,
            "topic": self.topic,
            "place": self.place,
            "max_turns": self.max_turns,
        }

    @property
    def reason(self) -> str:
        """Why it ended, in words for the log."""
        return f"ended by {self.ended_by}" if self.ended_by else "turn cap"

    @property
    def seconds(self) -> int:
        """How long it kept both people busy."""
        return max(1, len(self.lines)) * SECONDS_PER_TURN


async def hold(conversation: Conversation, minds: dict[str, Any], now: datetime, min_turns: int = 2) -> Conversation:
    """Alternate turns between the two minds, then let both remember the conversation."""
    speakers = (conversation.initiator, conversation.partner)
    first, second = minds[speakers[0]], minds[speakers[1]]
    assert isinstance(first, Talker) and isinstance(second, Talker)
    if conversation.max_turns >= 2:  # both will speak: they get ready at once, not one after the other
        pairs = ((first, speakers[1]), (second, speakers[0]))
        await asyncio.gather(*(mind.prepare(other, now) for mind, other in pairs if isinstance(mind, Preparer)))
    for turn in range(conversation.max_turns):
        name = speakers[turn % 2]
        other = speakers[(turn + 1) % 2]
        reply = await minds[name].speak(other, conversation.topic, list(conversation.lines), now)
        conversation.lines.append(Line(name, reply.text))
        # A conversation needs at least a greeting and an answer before either may end it.
        if reply.end and turn + 1 >= min_turns:
            conversation.ended_by = name
            break
    # Each remembers only into their own stream, so both can think about it at once.
    await asyncio.gather(
        *(
            minds[name].remember_conversation(other, conversation.topic, list(conversation.lines), now)
            for name, other in (speakers, speakers[::-1])
        )
    )
    return conversation

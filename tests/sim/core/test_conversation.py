"""Conversations end by a speaker's choice (after a minimum) or at the turn cap; both remember."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sim.core.conversation import Conversation, hold
from sim.core.mind import Line, Turn


class Speaker:
    def __init__(self, name: str, ends_at: int | None) -> None:
        self.name, self.ends_at = name, ends_at
        self.remembered: list[tuple[str, int]] = []

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        return Turn(
            f"{self.name} line {len(lines) + 1}", end=self.ends_at is not None and len(lines) + 1 >= self.ends_at
        )

    async def remember_conversation(self, partner: str, topic: str, lines: list[Line], now: datetime) -> None:
        self.remembered.append((partner, len(lines)))


def talk(a_ends: int | None, b_ends: int | None, cap: int = 8) -> tuple[Conversation, dict]:
    minds = {"A": Speaker("A", a_ends), "B": Speaker("B", b_ends)}
    done = asyncio.run(hold(Conversation("A", "B", "the party", "Cafe:room", cap), minds, datetime(2026, 1, 1)))
    return done, minds


def test_turns_alternate_starting_with_the_initiator() -> None:
    done, _ = talk(None, None, cap=4)
    assert [line.speaker for line in done.lines] == ["A", "B", "A", "B"]


def test_the_cap_ends_a_conversation_nobody_ends() -> None:
    done, _ = talk(None, None, cap=5)
    assert len(done.lines) == 5 and done.ended_by is None and done.reason == "turn cap"


def test_a_speaker_may_end_it_but_not_before_two_lines() -> None:
    done, _ = talk(1, 3)  # A wants to end at once; allowed only from line 2 on, B ends at line 3... A's line 3
    assert len(done.lines) == 3 and done.ended_by == "A"
    done, _ = talk(None, 2)
    assert len(done.lines) == 2 and done.ended_by == "B" and done.reason == "ended by B"


def test_both_participants_remember_the_whole_conversation() -> None:
    done, minds = talk(None, 4)
    assert minds["A"].remembered == [("B", 4)] and minds["B"].remembered == [("A", 4)]
    assert done.seconds == 4 * 30


class Preparing(Speaker):
    """A speaker that gets ready before its first line, taking a while, and notes when."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(name, None)
        self.log = log

    async def prepare(self, partner: str, now: datetime) -> None:
        self.log.append(f"{self.name} starts getting ready for {partner}")
        await asyncio.sleep(0.01)
        self.log.append(f"{self.name} is ready")

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        self.log.append(f"{self.name} speaks")
        return await super().speak(partner, topic, lines, now)


def test_both_get_ready_at_once_before_the_first_line() -> None:
    log: list[str] = []
    minds = {"A": Preparing("A", log), "B": Preparing("B", log)}
    asyncio.run(hold(Conversation("A", "B", "the party", "Cafe:room", 2), minds, datetime(2026, 1, 1)))
    assert log[:2] == ["A starts getting ready for B", "B starts getting ready for A"], "B did not wait for A"
    assert log.index("A speaks") > max(log.index("A is ready"), log.index("B is ready"))


def test_a_conversation_of_one_line_readies_nobody() -> None:
    log: list[str] = []
    minds = {"A": Preparing("A", log), "B": Preparing("B", log)}
    asyncio.run(hold(Conversation("A", "B", "the party", "Cafe:room", 1), minds, datetime(2026, 1, 1)))
    assert log == ["A speaks"]

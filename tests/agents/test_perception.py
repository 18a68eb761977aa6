"""Perception and the talk rule, by mechanism: what is perceived becomes memory when perceived, the
overflow is counted in one memory, and the talk decision is asked only when something changed."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agents.generative.perception import Perception
from sim.core.events import Event
from sim.core.mind import Percept
from sim.worldfile.scenario import load_scenario
from tests.agents.test_components import mind_for
from tests.conftest import record_run

POSTER = "shows a red poster for the party"
ROOM = f"""\
hamlet: 1
name: Three in a room
description: Three people who cannot leave one room; a poster goes up on the board.
start: 2026-03-02T12:00
seed: 1
mind: generative
minds:
  generative: {{talk_cooldown_minutes: 30, max_turns: 4, perception_minutes: 0, embeddings: hash}}
sectors:
  - name: Hall
    kind: home
    areas:
      - name: room
        objects: [notice board, table]
people:
  - {{name: Ada Brook, age: 31, occupation: carpenter, home: Hall}}
  - {{name: Ben Ortiz, age: 29, occupation: baker, home: Hall}}
  - {{name: Cy Dunn, age: 40, occupation: clerk, home: Hall}}
interventions:
  - {{at: +1h, kind: set_object, place: "Hall:room", object: notice board, state: {POSTER}}}
"""


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    """Three hours of the room under the eager profile."""
    folder = tmp_path_factory.mktemp("perception")
    (folder / "room.yaml").write_text(ROOM)
    run = folder / "room.db"
    record_run(folder / "room.yaml", run, "--llm-profile", "eager", "--hours", "3")
    return sqlite3.connect(run)


@pytest.mark.slow
def test_an_object_set_in_the_area_is_remembered_at_the_wake_that_perceives_it(room: sqlite3.Connection) -> None:
    for person in ("Ada Brook", "Ben Ortiz", "Cy Dunn"):
        rows = room.execute(
            "SELECT t, tick FROM memory WHERE person = ? AND kind = 'observation' AND text LIKE ?",
            (person, f"%notice board%{POSTER}%"),
        ).fetchall()
        assert len(rows) == 1, person  # seen once: the state did not change again
        t, tick = rows[0]
        assert 3600 <= t < 3600 + 16 * 60, (person, t)  # at the first wake after it went up
        asked = room.execute(
            "SELECT t FROM llm_call WHERE person = ? AND purpose = 'importance' AND tick = ?", (person, tick)
        ).fetchall()
        assert asked == [(t,)], "stamped with the wake's time, scored in that wake's one call"
    assert not room.execute("SELECT COUNT(*) FROM memory WHERE text LIKE '%table%'").fetchone()[0], "idle: no news"


def test_a_line_said_to_someone_else_is_the_listener_s_memory_stamped_at_the_line_s_time(
    room: sqlite3.Connection,
) -> None:
    lines = {
        (t, p, json.loads(d)["to"], json.loads(d)["text"])
        for t, p, d in room.execute("SELECT t, person, data FROM event WHERE kind = 'say'")
    }
    names = ("Ada Brook", "Ben Ortiz", "Cy Dunn")
    heard = [
        (p, t, text)
        for p, t, text in room.execute("SELECT person, t, text FROM memory WHERE kind = 'observation'")
        if any(text.startswith(f"{a} said to {b}: ") for a in names for b in names)
    ]
    assert heard, "nobody overheard a conversation in a room of three"
    for listener, t, text in heard:
        said = [line for line in lines if text == f"{line[1]} said to {line[2]}: {line[3]}"]
        assert said and any(line[0] == t for line in said), (listener, t, text)
        assert all(listener not in (line[1], line[2]) for line in said)


def test_the_reaction_decision_is_asked_only_when_something_matters() -> None:
    scenario = load_scenario_text(ROOM)
    mind = mind_for(scenario, "Ada Brook", talk_cooldown_minutes=30)
    asked: list[str] = []

    async def ask(schema: Any, purpose: str, task: str, fallback: Any, *, t: int) -> Any:
        asked.append(task)
        return fallback

    mind.identity.ask = ask  # type: ignore[method-assign]
    reaction = mind.reaction
    assert reaction is not None
    now = datetime(2026, 3, 2, 12, 0)

    def wake(
        minutes: int,
        people: tuple[tuple[str, str], ...],
        events: tuple[Event, ...] = (),
        noticed: tuple[tuple[str, str], ...] = (),
    ) -> int:
        percept = Percept(now + timedelta(minutes=minutes), "Hall:room", people, (), events)
        asyncio.run(reaction.react(percept, minutes * 60, list(noticed)))
        return len(asked)

    ben, both = (("Ben Ortiz", "bakes"),), (("Ben Ortiz", "bakes"), ("Cy Dunn", "reads"))
    assert wake(0, ben) == 1  # ready to talk, and Ben is here
    assert wake(10, ben) == 1  # the same people, nothing new
    assert wake(20, both) == 1  # Cy arrived, but Ada asked 20 minutes ago: not ready yet
    news = Event(26 * 60, "intervene", None, "Hall:room", {"kind": "inject", "text": "The roof leaks."})
    assert wake(26, both, (news,)) == 2  # news: asked about Cy (Ben was offered within the cooldown)
    assert "Cy Dunn" in asked[-1] and "Ben Ortiz" not in asked[-1]
    assert wake(40, both) == 2  # Ben is off his cooldown, but Ada asked 14 minutes ago
    mind.dialogue.last_talk["Dee"] = 50 * 60  # a conversation begun by someone else
    assert wake(60, both) == 2  # ready 30 minutes after it, not before
    assert wake(80, both) == 3 and "Ben Ortiz" in asked[-1] and "Cy Dunn" in asked[-1]
    assert wake(90, both) == 3
    assert wake(95, (), noticed=(("object", "The kettle in the room: boiling"),)) == 4  # a changed object is news
    assert "boiling" in asked[-1] and " is here" not in asked[-1]  # alone: no one to offer
    assert wake(96, (), noticed=(("person", "Ben Ortiz bakes"),)) == 4  # someone seen is not news by itself
    reaction.after_talk("Ben Ortiz", "I will go to the mill")
    assert wake(97, both) == 4 and reaction.pending is None  # re-planning decided after a talk needs no call


def test_the_reaction_decisions_of_a_run_are_fewer_than_its_wakes_with_company(room: sqlite3.Connection) -> None:
    """Without news, a person is asked at most once per cooldown, and not within one after a conversation;
    the poster going up is news, so a decision that follows another sooner quotes it."""
    for person in ("Ada Brook", "Ben Ortiz", "Cy Dunn"):
        asked = [
            (t, json.loads(request)["messages"][1]["content"])
            for t, request in room.execute(
                "SELECT t, request FROM llm_call WHERE person = ? AND purpose = 'reaction' ORDER BY id", (person,)
            )
        ]
        ended = [
            t
            for (t,) in room.execute(
                "SELECT t FROM llm_call WHERE person = ? AND purpose = 'dialogue_memory'", (person,)
            )
        ]
        assert asked, person
        calm = [(t, prompt) for t, prompt in asked if POSTER not in prompt.split("You remember:")[0]]
        assert len(calm) < len(asked), "the poster was news to nobody"
        assert all(b[0] - a[0] >= 30 * 60 for a, b in zip(calm, calm[1:], strict=False)), (person, calm)
        assert not [(a, e) for a, _ in calm for e in ended if 0 < a - e < 30 * 60], person


class Stub:
    """The memory component's part perception uses, keeping what it is given."""

    def __init__(self) -> None:
        self.kept: list[tuple[str, int]] = []
        self.importance_since = 0.0

        self.calls: list[int] = []

    def knows(self, text: str) -> bool:
        return text in {kept for kept, _ in self.kept}

    async def score(self, texts: list[str], t: int) -> list[float]:
        self.calls.append(t)
        return [3.0] * len(texts)

    async def remember(self, kind: str, texts: list[str], importance: list[float], t: int) -> list[Any]:
        self.kept += [(text, t) for text in texts]
        return []


def test_past_the_limit_the_rest_is_one_memory_saying_how_many_were_summarised() -> None:
    memory = Stub()
    perception = Perception(memory, "Ada Brook", {"perception_limit": 2, "perception_minutes": 0})  # type: ignore[arg-type]
    people = tuple((f"P{i}", "reads") for i in range(5))
    said = Event(50, "say", "P0", "Hall:room", {"text": "Hello", "to": "P1"})
    percept = Percept(datetime(2026, 3, 2, 12, 1), "Hall:room", people, (("board", POSTER),), (said,))
    asyncio.run(perception.perceive(percept, 60))
    assert len(memory.kept) == 3
    assert sorted(memory.kept[:2]) == [("P0 said to P1: Hello", 50), (f"The board in the room: {POSTER}", 60)]
    summary, t = memory.kept[2]
    assert t == 60 and "5 more observations (5 people)" in summary
    assert memory.importance_since == 9.0
    asyncio.run(perception.perceive(percept, 120))  # nothing changed: nothing new
    assert len(memory.kept) == 4 and memory.kept[3][0] == "P0 said to P1: Hello"


def test_an_activity_rated_once_keeps_its_rating_for_whoever_is_seen_doing_it() -> None:
    memory = Stub()
    memory.score = lambda texts, t: asyncio.sleep(0, [7.0] * len(texts))  # type: ignore[method-assign]
    perception = Perception(memory, "Ada Brook", {"perception_limit": 12, "perception_minutes": 0})  # type: ignore[arg-type]
    perception.rated["reads"] = 2.0
    percept = Percept(datetime(2026, 3, 2, 12, 1), "Hall:room", (("P0", "reads"), ("P1", "sings")), ())
    asyncio.run(perception.perceive(percept, 60))
    assert memory.importance_since == 9.0 and perception.rated == {"reads": 2.0, "sings": 7.0}


def test_lines_kept_while_the_person_slept_were_never_heard() -> None:
    perception = Perception(Stub(), "Ada Brook", {"perception_limit": 12, "perception_minutes": 0})  # type: ignore[arg-type]
    said = Event(50, "say", "P0", "Hall:room", {"text": "Hello", "to": "P1"})
    to_me = Event(55, "say", "P0", "Hall:room", {"text": "Wake up", "to": "Ada Brook"})
    percept = Percept(datetime(2026, 3, 2, 12, 1), "Hall:room", (), (), (said, to_me))
    assert [o[2] for o in perception.observations(percept, 60, asleep=True)] == ["P0 said to me: Wake up"]


def load_scenario_text(text: str) -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "room.yaml"
        path.write_text(text)
        return load_scenario(path)


def test_within_the_window_observations_wait_stamped_when_perceived_and_are_stored_in_the_next_call() -> None:
    memory = Stub()
    perception = Perception(memory, "Ada Brook", {"perception_limit": 12, "perception_minutes": 60})  # type: ignore[arg-type]
    start = datetime(2026, 3, 2, 12, 0)

    def wake(minutes: int, people: tuple[tuple[str, str], ...]) -> None:
        asyncio.run(
            perception.perceive(Percept(start + timedelta(minutes=minutes), "Hall:room", people, ()), minutes * 60)
        )

    wake(0, (("P0", "reads"),))
    assert memory.kept == [("P0 reads", 0)] and memory.calls == [0]
    wake(10, (("P0", "sings"),))
    wake(20, (("P0", "reads"),))  # an activity rated before: would need no call, but waits behind "sings"
    assert len(memory.kept) == 1 and perception.state()["waiting"] == [
        [600, "P0 sings", "sings"],
        [1200, "P0 reads", "reads"],
    ]
    wake(61, (("P0", "reads"), ("P1", "reads")))
    assert memory.kept[1:] == [("P0 sings", 600), ("P0 reads", 1200), ("P1 reads", 3660)]
    assert memory.calls == [0, 3660] and perception.state()["waiting"] == []

"""Every call of a generative person opens with their card, the paper's "identity stable set" as Hamlet has it.

The gateway here is a stand-in that keeps the messages of every call the mind sends, so the test
sees what a server would: one system message, the person's card, the same text for every call of
the day once the morning's summary and plan are made, whatever the call's purpose; and the card
holds the identity stable set's items in a fixed order, what never changes first.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

import agents  # noqa: F401  (registers the generative mind)
from agents.generative import GenerativeMind
from agents.generative.identity import Summary
from agents.generative.planning import DayPlan, PlanItem
from sim.core.mind import Line, MindContext, Percept
from sim.core.rng import Stream
from sim.core.world import World
from sim.llm.site import CallSite
from tests.agents.test_perception import load_scenario_text

MILL = """\
hamlet: 1
name: A mill town
start: 2026-03-02T05:00
mind: generative
sectors:
  - name: Hall
    kind: home
    areas:
      - name: room
        objects: [table, bed]
  - name: Mill
    areas:
      - name: yard
        objects: [bench]
links:
  - {between: [Hall, Mill], minutes: 5}
people:
  - name: Ada Brook
    age: 31
    traits: [careful, wry]
    occupation: carpenter at the mill
    lifestyle: up at six and in the yard by seven
    home: Hall
    relationships:
      - {name: Ben Ortiz, relation: her colleague at the mill}
    memories: ["The mayor closes the old mill bridge on Thursday."]
    routine:
      - {at: "06:00", do: has breakfast, place: "Hall:room", object: table}
      - {at: "07:00", do: planes boards, place: "Mill:yard", object: bench}
  - {name: Ben Ortiz, age: 29, occupation: baker, home: Hall}
"""

SUMMARY = Summary(core="Ada is careful and wry.", occupation="She builds the new mill gate.", feeling="She is proud.")
PLAN = DayPlan(
    wake_up="06:00",
    bedtime="22:00",
    items=[
        PlanItem(start=f"{h:02d}:00", activity=a)
        for h, a in ((6, "breakfast"), (7, "planes the gate"), (12, "lunch"), (13, "fits hinges"), (18, "supper"))
    ],
)
MONDAY = datetime(2026, 3, 2, 6, 0)


class Gateway:
    """Keeps (purpose, messages) of every call; answers the summary, the day plan and a reaction that re-plans."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, str]]]] = []

    async def ask(
        self, schema: type[BaseModel], messages: list[dict[str, str]], *, site: CallSite, fallback: Any, **_: Any
    ) -> Any:
        self.calls.append((site.purpose, [dict(m) for m in messages]))
        if site.purpose == "summary":
            return SUMMARY
        if site.purpose == "day_plan":
            return PLAN
        if site.purpose == "reaction":
            said = {"reaction": "change plans", "reason": "the bridge closes on Thursday"}
            return schema.model_validate(
                {**said, "talk_to": "nobody", "topic": "the bridge"} if "talk_to" in schema.model_fields else said
            )
        return fallback


def ada(gateway: Gateway) -> GenerativeMind:
    scenario = load_scenario_text(MILL)
    params = {"embeddings": "hash", "reflection_threshold": 1, "perception_minutes": 0}
    ctx = MindContext(scenario, World(scenario), gateway, Stream(0, "Ada Brook"), params)  # type: ignore[arg-type]
    return GenerativeMind(scenario.person("Ada Brook"), ctx)


def live_a_day(mind: GenerativeMind, day: datetime) -> None:
    """Wake with Ben there (notice, sum up, plan, react and re-plan, act, then reflect), talk with him, be interviewed."""
    ben = (("Ben Ortiz", "kneads dough"),)
    decided = asyncio.run(mind.decide(Percept(day, "Hall:room", ben, (("table", "idle"),), ())))
    if decided.reflect:  # as the engine does: a unit of its own, a second later
        asyncio.run(mind.reflect(day + timedelta(seconds=1)))
    later = day + timedelta(hours=3)
    lines = [Line("Ben Ortiz", "Did you hear about the bridge?")]
    turn = asyncio.run(mind.speak("Ben Ortiz", "the bridge", lines, later))
    asyncio.run(mind.remember_conversation("Ben Ortiz", "the bridge", [*lines, Line("Ada Brook", turn.text)], later))
    asyncio.run(mind.answer("What are you doing today?", mind.identity.second(later)))
    asyncio.run(mind.decide(Percept(later + timedelta(hours=1), "Hall:room", (), (("table", "idle"),), ())))


def check_cards(calls: list[tuple[str, list[dict[str, str]]]], card: str) -> set[str]:
    """Every call's one system message, its first, is ``card`` or (before the morning's summary and plan
    joined it) the start of it; the purposes of the calls whose system message is the whole card."""
    whole = set()
    for purpose, messages in calls:
        systems = [m["content"] for m in messages if m["role"] == "system"]
        assert messages[0]["role"] == "system" and len(systems) == 1, f"{purpose}: one system message, first"
        assert card.startswith(systems[0]), f"{purpose} built its own system message:\n{systems[0]}"
        assert [m["role"] for m in messages[1:]] == ["user"], f"{purpose}: the card, then the task"
        if systems[0] == card:
            whole.add(purpose)
    return whole


def test_every_call_of_a_day_opens_with_the_persons_card_whatever_its_purpose() -> None:
    gateway = Gateway()
    mind = ada(gateway)
    live_a_day(mind, MONDAY)
    card = mind.identity.card(MONDAY + timedelta(hours=12))
    whole = check_cards(gateway.calls, card)
    made = {purpose for purpose, _ in gateway.calls}
    assert made >= {"importance", "summary", "day_plan", "hour_plan", "reaction", "replan", "decompose"}
    assert made >= {"relationship", "dialogue_turn", "dialogue_memory", "reflection_questions", "interview"}
    assert whole == made - {"summary", "day_plan"}, "once the plan is made, every call's system message is the card"
    # The morning: the summary call's card has no summary yet; the day plan's no plan; both are the card's start.
    first = [messages[0]["content"] for purpose, messages in gateway.calls if purpose in ("summary", "day_plan")]
    assert "Learned traits" not in first[0] and "Learned traits" in first[1] and "Today's plan" not in first[1]


def test_the_card_holds_the_identity_stable_set_one_line_an_item_what_never_changes_first() -> None:
    mind = ada(Gateway())
    live_a_day(mind, MONDAY)
    card = mind.identity.card(MONDAY + timedelta(hours=12))
    items = [
        "You are Ada Brook.",  # name
        "Age: 31",
        "Innate traits: careful, wry",
        "Occupation: carpenter at the mill",
        "Home: Hall",
        "Lifestyle: up at six and in the yard by seven",
        "People you know: Ben Ortiz (her colleague at the mill)",
        "Date: Monday 02 March 2026",
        "Learned traits: Ada is careful and wry.",  # the summary description, made this morning
        "Currently: She builds the new mill gate.",
        "Feeling about recent progress: She is proud.",
        "Today's plan: wake 06:00; 06:00 breakfast; 07:00 planes the gate; 12:00 lunch; 13:00 fits hinges; "
        "18:00 supper; bed 22:00",
    ]
    assert card.split("\n") == items
    tomorrow = mind.identity.card(MONDAY + timedelta(days=1))
    stable = card.split("\nDate:")[0]
    assert tomorrow.startswith(stable + "\nDate: Tuesday 03 March 2026"), "what never changes stays first"
    assert "Today's plan" not in tomorrow, "yesterday's plan is not today's"


def test_no_task_repeats_what_the_card_says() -> None:
    gateway = Gateway()
    mind = ada(gateway)
    live_a_day(mind, MONDAY)
    tasks = [(purpose, messages[1]["content"]) for purpose, messages in gateway.calls]
    for purpose, task in tasks:
        # (retrieved memories may say what the card says: the seed "Ben Ortiz: her colleague at the mill")
        assert "2026" not in task and "(her colleague at the mill)" not in task, purpose
    # The hour plan expands the broad plan, so its task names it as material (the paper's hourly prompt
    # carries it beside the identity stable set); every other task leaves it to the card.
    (hours,) = [task for purpose, task in tasks if purpose == "hour_plan"]
    assert all(item.activity in hours for item in PLAN.items), "the plan to expand is the hour plan's material"
    assert all("go to bed" not in task for purpose, task in tasks if purpose == "replan"), "bedtime is the card's"


def test_a_call_that_builds_its_own_system_message_is_caught() -> None:
    gateway = Gateway()
    mind = ada(gateway)
    live_a_day(mind, MONDAY)
    card = mind.identity.card(MONDAY + timedelta(hours=12))
    rogue = ("decompose", [{"role": "system", "content": "You are Ada Brook, 31."}, {"role": "user", "content": "x"}])
    with pytest.raises(AssertionError, match="built its own system message"):
        check_cards([*gateway.calls, rogue], card)

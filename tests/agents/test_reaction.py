"""Identity, planning, reacting and dialogue by mechanism (Park et al. 2023 §4.3, Appendix A).

The model is a stand-in that answers each purpose as the test says and records every prompt, so
each test checks a link of a chain: what reached the prompt, and what the mind did with the answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from agents.generative import GenerativeMind
from agents.generative.dialogue import ReactingNotes
from agents.generative.identity import Summary
from agents.generative.planning import (
    DayPlan,
    HourItem,
    HourPlan,
    PlanItem,
    Replan,
    ReplanItem,
    replanned,
)
from sim.core.events import Event
from sim.core.mind import Line, Note, Percept
from tests.agents.test_components import mind_for
from tests.agents.test_perception import load_scenario_text

ROOM = """\
hamlet: 1
name: A mill town room
start: 2026-03-02T06:00
mind: generative
sectors:
  - name: Hall
    kind: home
    areas:
      - name: room
        objects: [table]
  - name: Mill
    areas:
      - name: yard
        objects: [bench]
links:
  - {between: [Hall, Mill], minutes: 5}
people:
  - {name: Ada Brook, age: 31, occupation: carpenter, home: Hall, traits: [careful],
     memories: ["The mayor closes the old mill bridge on Thursday."],
     relationships: [{name: Ben Ortiz, relation: colleague}]}
  - {name: Ben Ortiz, age: 29, occupation: baker, home: Hall}
"""

Answer = Callable[[type[BaseModel], str], Any]


class Model:
    """Answers each purpose with what the test gave (else the fallback) and keeps every (purpose, prompt)."""

    def __init__(self, mind: GenerativeMind, **answers: Answer) -> None:
        self.asked: list[tuple[str, str, str]] = []  # (purpose, system prompt, task)
        self.answers = answers
        identity = mind.identity

        async def ask(schema: type[BaseModel], purpose: str, task: str, fallback: Any, *, t: int) -> Any:
            self.asked.append((purpose, identity.card(identity.time.when(t)), task))
            if purpose in self.answers:
                return self.answers[purpose](schema, task)
            return fallback if fallback is not None else None

        identity.ask = ask  # type: ignore[method-assign]

    def tasks(self, purpose: str) -> list[str]:
        """The prompts of the calls made for ``purpose``, in order."""
        return [task for p, _, task in self.asked if p == purpose]

    def systems(self, purpose: str) -> list[str]:
        """The system messages (the person's card) of the calls made for ``purpose``, in order."""
        return [system for p, system, _ in self.asked if p == purpose]

    def purposes(self) -> list[str]:
        """The purposes asked, in order."""
        return [p for p, _, _ in self.asked]


def ada(**params: Any) -> GenerativeMind:
    return mind_for(load_scenario_text(ROOM), "Ada Brook", **params)


MONDAY = datetime(2026, 3, 2, 6, 0)


def seconds(now: datetime) -> int:
    return int((now - MONDAY).total_seconds())


def wake(
    mind: GenerativeMind, now: datetime, people: tuple[tuple[str, str], ...] = (), events: tuple[Event, ...] = ()
) -> Any:
    return asyncio.run(mind.decide(Percept(now, "Hall:room", people, (("table", "idle"),), events)))


def test_the_summary_description_is_made_from_retrieval_once_a_day_and_joins_every_prompt() -> None:
    mind = ada()
    said = Summary(
        core="Ada is careful and proud of her joinery.",
        occupation="She builds a new mill gate.",
        feeling="She feels her work is finally noticed.",
    )
    model = Model(mind, summary=lambda schema, task: said)
    wake(mind, MONDAY + timedelta(hours=1))
    (task,) = model.tasks("summary")
    assert "The mayor closes the old mill bridge on Thursday" in task, "the summary rests on retrieved memories"
    after = [system for purpose, system, _ in model.asked[model.purposes().index("summary") + 1 :]]
    assert after and all("She builds a new mill gate." in system for system in after), "every later prompt carries it"
    wake(mind, MONDAY + timedelta(hours=3))
    assert len(model.tasks("summary")) == 1, "made once a day"
    assert not mind.identity.due(datetime(2026, 3, 3, 3, 59)) and mind.identity.due(datetime(2026, 3, 3, 4, 0))
    saved = mind.state()
    again = ada()
    again.restore(saved)
    later = MONDAY + timedelta(hours=4)
    assert again.identity.card(later) == mind.identity.card(later), "the card is rebuilt from the snapshot"


def test_the_day_is_planned_from_yesterday_in_broad_strokes_then_hour_by_hour_and_both_are_memories() -> None:
    mind = ada()
    broad = DayPlan(
        wake_up="06:00",
        bedtime="22:00",
        items=[
            PlanItem(start=f"{h:02d}:00", activity=a)
            for h, a in ((6, "breakfast"), (8, "joinery at the mill"), (12, "lunch"), (13, "joinery"), (18, "supper"))
        ],
    )
    hours = HourPlan(
        hours=[
            HourItem(start="06:00", activity="breakfast"),
            HourItem(start="08:00", activity="planes the mill gate"),
            HourItem(start="09:00", activity="fits the gate hinges"),
            HourItem(start="12:00", activity="eats lunch by the river"),
        ]
    )
    model = Model(
        mind,
        day_plan=lambda s, t: broad,
        hour_plan=lambda s, t: hours,
        importance=lambda schema, task: schema(scores=[7] * (task.count("\n"))),
    )
    sunday = datetime(2026, 3, 1, 15, 0)
    mind.acting.log(sunday, "mends the fence at the mill")
    mind.acting.log(sunday + timedelta(hours=2), "talked with Ben Ortiz about the bridge")
    decision = wake(mind, MONDAY + timedelta(hours=1))
    (day_task,) = model.tasks("day_plan")
    assert "15:00 mends the fence at the mill; 17:00 talked with Ben Ortiz about the bridge" in day_task
    assert "habit rather than a rule" not in day_task, "Ada has no routine to offer as a habit"
    assert "Date: Monday 02 March 2026" in model.systems("day_plan")[0] and "2026" not in day_task, (
        "the date is the card's"
    )
    (hour_task,) = model.tasks("hour_plan")
    (hour_card,) = model.systems("hour_plan")
    assert "Today's plan: wake 06:00; 06:00 breakfast; 08:00 joinery at the mill" in hour_card, "made from the day plan"
    assert "08:00 joinery at the mill; 12:00 lunch" in hour_task, "and the task names it as what it expands"
    scopes = [a.data["scope"] for a in decision.actions if isinstance(a, Note)]
    assert scopes == ["day", "hours"]
    block = mind.day_planning.block_at(9 * 60 + 10)
    assert block is not None and block.activity == "fits the gate hinges", "the day follows the hour plan"
    plans = [row for row in mind.ctx.memories if row["kind"] == "plan"]
    assert len(plans) == 2 and all(row["importance"] == 7.0 for row in plans), "plan memories are rated"
    assert "fits the gate hinges" in plans[1]["text"]
    assert mind.memory.recent(2, kinds=("plan",))[1].text == plans[1]["text"], "plans are retrievable memories"


def test_replanned_keeps_what_began_before_now_and_replaces_the_rest() -> None:
    plan = {
        "wake_up": "07:00",
        "bedtime": "22:00",
        "items": [
            {"start": "07:00", "activity": "breakfast"},
            {"start": "09:00", "activity": "work"},
            {"start": "15:00", "activity": "shop"},
        ],
    }
    new = replanned(
        plan,
        10 * 60 + 20,
        [("now", "runs to the mill"), ("09:00", "helps at the mill"), ("17:00", "goes to the party")],
    )
    assert new["items"] == [
        {"start": "07:00", "activity": "breakfast"},
        {"start": "09:00", "activity": "work"},
        {"start": "10:20", "activity": "runs to the mill"},
        {"start": "10:20", "activity": "helps at the mill"},
        {"start": "17:00", "activity": "goes to the party"},
    ]
    assert plan["items"][-1]["activity"] == "shop", "the old plan is not changed in place"


def react(reason: str, talk_to: str = "nobody") -> Answer:
    def answer(schema: type[BaseModel], task: str) -> Any:
        fields = {"reaction": "change plans", "reason": reason}
        if "talk_to" in schema.model_fields:
            fields |= {"talk_to": talk_to, "topic": "the bridge"}
        return schema.model_validate(fields)

    return answer


def test_news_makes_a_reaction_that_plans_the_rest_of_the_day_again_and_the_next_actions_follow_it() -> None:
    mind = ada()
    model = Model(
        mind,
        reaction=react("the bridge is closed, so the timber must come by the ford"),
        replan=lambda s, t: Replan(
            items=[ReplanItem(start="now", activity="fetches timber by the ford")], importance=6
        ),
    )
    wake(mind, MONDAY + timedelta(hours=1))
    assert not model.tasks("reaction"), "nothing mattered yet: no decision"
    news = Event(
        seconds(MONDAY) + 5 * 3600,
        "intervene",
        None,
        "Hall:room",
        {"kind": "inject", "text": "Floodwater closes the mill road."},
    )
    decision = wake(mind, MONDAY + timedelta(hours=5), events=(news,))
    (asked,) = model.tasks("reaction")
    assert "Floodwater closes the mill road." in asked, "the decision sees the news"
    (replan,) = model.tasks("replan")
    assert "the bridge is closed, so the timber must come by the ford" in replan, "re-planned for the reaction's reason"
    (note,) = [a for a in decision.actions if isinstance(a, Note) and a.data["scope"] == "replan"]
    assert note.data["reason"] == "the bridge is closed, so the timber must come by the ford"
    assert {"start": "11:00", "activity": "fetches timber by the ford"} in note.data["items"]
    assert mind.day_planning.block_at(11 * 60 + 5).activity == "fetches timber by the ford"
    assert "fetches timber by the ford" in model.tasks("decompose")[-1], "the hour is decomposed afresh"
    memory = [row for row in mind.ctx.memories if row["kind"] == "plan"][-1]
    assert memory["text"].startswith("At 11:00 I changed my plans") and memory["importance"] == 6.0


def test_a_conversation_that_changes_the_plans_is_followed_by_a_replan_at_the_next_wake_without_a_decision() -> None:
    mind = ada()
    notes = ReactingNotes(
        summary="Ben told me about the party",
        learned=["Party at the mill at six"],
        importance=8,
        react=True,
        why="I will go to the party at the mill at six",
    )
    model = Model(
        mind,
        dialogue_memory=lambda s, t: notes,
        replan=lambda s, t: Replan(items=[ReplanItem(start="18:00", activity="goes to the party")], importance=7),
    )
    wake(mind, MONDAY + timedelta(hours=1))
    lines = [Line("Ben Ortiz", "There is a party at the mill at six."), Line("Ada Brook", "I'll come.")]
    asyncio.run(mind.remember_conversation("Ben Ortiz", "the party", lines, MONDAY + timedelta(hours=4)))
    assert "Does it change your plans" in model.tasks("dialogue_memory")[0]
    decided = len(model.tasks("reaction"))
    decision = wake(mind, MONDAY + timedelta(hours=4, minutes=2), people=(("Ben Ortiz", "bakes"),))
    assert len(model.tasks("reaction")) == decided, "the talk's notes already decided"
    (replan,) = model.tasks("replan")
    assert "After talking with Ben Ortiz: I will go to the party at the mill at six" in replan
    assert any(isinstance(a, Note) and a.data["scope"] == "replan" for a in decision.actions)
    assert mind.day_planning.block_at(18 * 60).activity == "goes to the party"


def test_without_reaction_a_conversation_is_remembered_but_never_changes_the_plans() -> None:
    mind = ada(reaction=False)
    model = Model(mind)
    wake(mind, MONDAY + timedelta(hours=1))
    asyncio.run(
        mind.remember_conversation("Ben Ortiz", "the party", [Line("Ben Ortiz", "Party!")], MONDAY + timedelta(hours=4))
    )
    assert "change your plans" not in model.tasks("dialogue_memory")[0]
    wake(
        mind,
        MONDAY + timedelta(hours=5),
        events=(
            Event(seconds(MONDAY) + 5 * 3600, "intervene", None, "Hall:room", {"kind": "inject", "text": "Fire!"}),
        ),
    )
    assert not model.tasks("reaction") and not model.tasks("replan")


def test_each_side_sums_up_the_partner_before_their_first_line_and_each_line_carries_the_summary() -> None:
    mind = ada()
    model = Model(mind, relationship=lambda schema, task: schema(summary="Ben bakes the best rye and gossips."))
    wake(mind, MONDAY + timedelta(hours=1))
    now = MONDAY + timedelta(hours=2)
    asyncio.run(mind.speak("Ben Ortiz", "the bridge", [], now))
    (summed,) = model.tasks("relationship")
    (card,) = model.systems("relationship")
    assert "Ben Ortiz (colleague)" in card and "Ben Ortiz (colleague)" not in summed, "the relation is the card's"
    asyncio.run(mind.speak("Ben Ortiz", "the bridge", [Line("Ada Brook", "Hello"), Line("Ben Ortiz", "Hi")], now))
    assert len(model.tasks("relationship")) == 1, "once a conversation"
    turns = model.tasks("dialogue_turn")
    assert len(turns) == 2 and all("Ben bakes the best rye and gossips." in task for task in turns)
    assert "Ben Ortiz: Hi" in turns[1], "the conversation so far"
    assert mind.dialogue.about_note("Ben Ortiz", "a stranger") == " (Ben bakes the best rye and gossips.)"
    assert mind.dialogue.about_note("Cy Dunn", "a stranger") == " (a stranger)", "the card does not name Cy"

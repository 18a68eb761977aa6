"""Planning: a day plan in broad strokes, hourly blocks, and 5–15 minute actions bound to places.

Park et al. 2023 §4.3: a plan for the day is decomposed recursively, here into hourly blocks
(computed) and each block, just in time, into 5–15 minute actions (one call). The day plan and
each block's decomposition are one structured LLM call each; everything that can be computed
(turning items into blocks, fitting actions into a block without gaps) is not. Two components:
``DayPlanning`` (left out by ``--set planning=off``: each half hour is then chosen as it comes)
and ``Acting`` (always there: the action under way and the ones to come). Unlike the paper,
a reaction does not re-plan the rest of the day yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.text import at, clip, clock, listing
from sim.mind import Decision, Do, Go, MindContext, Note, Percept, plan_spans

Text = Annotated[str, StringConstraints(max_length=160)]
ACTIVITY_CHARS = 80
Activity = Annotated[str, StringConstraints(max_length=ACTIVITY_CHARS)]
"""An action's words: short, so a grammar-bound small model cannot run past its token limit."""
WAKE_TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(5, 10) for m in (0, 30))
BED_TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(20, 24) for m in (0, 30))
HOURS = tuple(f"{h:02d}:00" for h in range(5, 24))
MIN_ACTION, MAX_ACTION = 5, 15


class PlanItem(BaseModel):
    """One broad item of a day plan, starting at a full hour."""

    start: Literal[HOURS]  # type: ignore[valid-type]
    activity: Text


class DayPlan(BaseModel):
    """The morning plan: when to get up and go to bed, and 5–8 things to do in order."""

    wake_up: Literal[WAKE_TIMES]  # type: ignore[valid-type]
    bedtime: Literal[BED_TIMES]  # type: ignore[valid-type]
    items: list[PlanItem] = Field(min_length=5, max_length=8)


@dataclass(frozen=True, slots=True)
class Block:
    """An hour (or less) of the day given to one plan item, in minutes after midnight."""

    start: int
    end: int
    activity: str


@dataclass(frozen=True, slots=True)
class Action:
    """A 5–15 minute action: what, where (area id), with which object, from ``start`` to ``end``."""

    start: int
    end: int
    activity: str
    place: str
    object: str | None = None


def minutes(clock: str) -> int:
    """``HH:MM`` as minutes after midnight."""
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


def blocks(plan: DayPlan) -> list[Block]:
    """Hourly blocks from waking to bedtime: each item lasts until the next one starts (``sim.mind.plan_spans``)."""
    wake, bed = minutes(plan.wake_up), minutes(plan.bedtime)
    spans = plan_spans(plan.model_dump()) or [(wake, "goes about the day")]
    out: list[Block] = []
    for index, (start, activity) in enumerate(spans):
        end = spans[index + 1][0] if index + 1 < len(spans) else bed
        hour = start
        while hour < end:
            step_end = min(end, (hour // 60 + 1) * 60)
            out.append(Block(hour, step_end, activity))
            hour = step_end
    return out


@cache
def decomposition_model(places: tuple[str, ...], objects: tuple[str, ...]) -> type[BaseModel]:
    """The schema of a block's actions, with the person's known places and objects as choices."""
    place: Any = Literal[places]  # a type made at run time: Any keeps type checkers from reading it as a form
    thing: Any = Literal[("none", *objects)]
    step = create_model(
        "Step",
        minutes=(int, Field(ge=MIN_ACTION, le=MAX_ACTION)),
        activity=(Activity, ...),
        place=(place, ...),
        object=(thing, ...),
    )
    return create_model("Steps", steps=(list[step], Field(min_length=2, max_length=8)))


def fit(steps: list[tuple[int, str, str, str | None]], start: int, end: int) -> list[Action]:
    """Lay ``(minutes, activity, place, object)`` steps end to end over [start, end): no gap, no overlap.

    Each step lasts 5–15 minutes; steps repeat in order if they run out before ``end``; the last
    one is cut at ``end``; when less than 5 minutes remain they join the step before, or that
    step gives up minutes so the last one lasts 5 (only a block shorter than 5 minutes has a
    shorter action).
    """
    if not steps or end <= start:
        return []
    out: list[Action] = []
    clock, index = start, 0
    while clock < end:
        length, activity, place, obj = steps[index % len(steps)]
        length = min(max(length, MIN_ACTION), MAX_ACTION, end - clock)
        if length < MIN_ACTION and out:
            last = out.pop()
            if last.end - last.start + length <= MAX_ACTION:
                out.append(Action(last.start, clock + length, last.activity, last.place, last.object))
            else:
                cut = end - MIN_ACTION
                out.append(Action(last.start, cut, last.activity, last.place, last.object))
                out.append(Action(cut, end, activity, place, obj))
        else:
            out.append(Action(clock, clock + length, activity, place, obj))
        clock += length
        index += 1
    return out


class DayPlanning:
    """The day plan: made each morning from the person's habits, intentions and recent reflections."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("day_plan",)
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {"plan": None, "plan_date": None}
    """The state of a person who has not planned a day."""

    def __init__(self, identity: Identity, memory: Memories) -> None:
        self.identity, self.memory = identity, memory
        self.plan: dict[str, Any] | None = None
        self.plan_date: str | None = None

    def due(self, now: datetime) -> bool:
        """Whether today still needs a plan: not planned yet, and 04:00 or later."""
        return self.plan_date != now.date().isoformat() and now.hour * 60 + now.minute >= 4 * 60

    async def plan_day(self, now: datetime) -> Note:
        """Plan today in one call, remember the plan, and say so in a ``plan`` event."""
        t = self.identity.second(now)
        spec = self.identity.spec
        insights = [m.text for m in self.memory.recent(5, kinds=("reflection",))]
        habits = "; ".join(f"{item.at} {item.do}" for item in spec.routine) or spec.lifestyle or "none given"
        # What the person has in mind (plans made, news to pass on) shapes the day, as in the paper.
        in_mind = await self.memory.retrieve(f"my plans, intentions and news for {now:%A %d %B}", t, k=3)
        prompt = (f"Today is {now:%A %d %B %Y}. Your usual day: {habits}.\n"
                  f"You have in mind: {listing(in_mind)}\n"
                  f"Your recent thoughts: {' '.join(insights) or 'none'}\n"
                  "Plan today in broad strokes: when you get up and go to bed, and 5 to 8 things you will do, "
                  "each with the hour it starts.")
        first = spec.routine[0].do if spec.routine else "starts the day"
        fallback = DayPlan(wake_up="07:00", bedtime="22:00", items=[
            PlanItem(start=f"{h:02d}:00", activity=clip(a, 160)) for h, a in
            ((7, first), (9, f"works as {spec.occupation or 'usual'}"), (12, "has lunch"),
             (13, "works"), (18, "has dinner and rests"))])
        plan = await self.identity.ask(DayPlan, "day_plan", prompt, fallback)
        assert isinstance(plan, DayPlan)
        self.plan, self.plan_date = plan.model_dump(), now.date().isoformat()
        summary = "; ".join(f"{i.start} {i.activity}" for i in plan.items)
        await self.memory.remember("plan", [f"My plan for {now:%A}: wake {plan.wake_up}, {summary}, "
                                            f"bed {plan.bedtime}"], [5.0], t)
        return Note("plan", {"scope": "day", "date": self.plan_date, **self.plan})

    def block_at(self, minute: int) -> Block | None:
        """The rest of the plan's block under way at ``minute``, if the plan has one then."""
        if self.plan is not None:
            for block in blocks(DayPlan.model_validate(self.plan)):
                if block.start <= minute < block.end:
                    return Block(minute, block.end, block.activity)
        return None

    def state(self) -> dict[str, Any]:
        """Today's plan and its date."""
        return {"plan": self.plan, "plan_date": self.plan_date}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved."""
        self.plan, self.plan_date = state["plan"], state["plan_date"]


class Acting:
    """The action under way and the ones to come: blocks decomposed just in time, sleep at night."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("decompose",)
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {"actions": [], "current": None}
    """The state of a person who has not acted yet."""

    def __init__(self, identity: Identity, memory: Memories, ctx: MindContext, day: DayPlanning | None) -> None:
        self.identity, self.memory, self.ctx = identity, memory, ctx
        self.day = day
        self.actions: list[list[Any]] = []  # upcoming [start, end, activity, place, object], minutes of the day
        self.current: list[str] | None = None  # [activity, place] under way

    def doing(self) -> str:
        """What the person is busy with, for prompts."""
        return self.current[0] if self.current else "nothing in particular"

    def sleeping(self) -> bool:
        """Whether the person has gone to sleep (and not woken since)."""
        return self.current is not None and self.current[0] == "sleeping"

    def replan(self) -> None:
        """Drop the actions to come: the next wake decomposes afresh (after a new day plan)."""
        self.actions = []

    def asleep(self, minute: int) -> bool:
        """Whether ``minute`` of the day is before waking or after bedtime (06:00–23:00 without a plan)."""
        plan = self.day.plan if self.day is not None else None
        if plan is None:
            return minute < 6 * 60 or minute >= 23 * 60
        wake, bed = minutes(plan["wake_up"]), minutes(plan["bedtime"])
        return minute < wake or minute >= bed

    def sleep(self, percept: Percept, now: datetime, notes: list[Any]) -> Decision:
        """Go home, or sleep in one's bed until waking time (or 04:00 tomorrow)."""
        home = self.identity.home
        if percept.place != home:
            self.current = None
            return Decision([*notes, Go(home, purpose="going home to sleep")])
        minute = now.hour * 60 + now.minute
        plan = self.day.plan if self.day is not None else None
        wake = minutes(plan["wake_up"]) if plan else 6 * 60
        until = at(now, wake) if minute < wake else at(now + timedelta(days=1), 4 * 60)
        if self.current != ["sleeping", home]:
            self.current = ["sleeping", home]
            notes.append(Do("sleeping", until, self.identity.bed))
        return Decision(notes, until)

    async def act(self, percept: Percept, now: datetime, t: int, notes: list[Any]) -> Decision:
        """Carry on with the next action: walk to its place, or start it here until it ends."""
        action = await self._next_action(now, t)
        if action[3] != percept.place:
            self.current = None
            return Decision([*notes, Go(action[3], purpose=action[2])])
        until = at(now, action[1])
        if self.current != [action[2], action[3]]:
            self.current = [action[2], action[3]]
            notes.append(Do(action[2], until, action[4]))
        return Decision(notes, until)

    async def _next_action(self, now: datetime, t: int) -> list[Any]:
        minute = now.hour * 60 + now.minute
        self.actions = [a for a in self.actions if a[1] > minute]
        if not self.actions:
            self.actions = await self._decompose(self._block(minute), now, t)
        return self.actions[0]

    def _block(self, minute: int) -> Block:
        block = self.day.block_at(minute) if self.day is not None else None
        return block or Block(minute, min(minute + 30, 24 * 60 - 1), "whatever seems best right now")

    async def _decompose(self, block: Block, now: datetime, t: int) -> list[list[Any]]:
        """One call: the block's 5–15 minute actions with their places (what was perceived is already memory)."""
        identity = self.identity
        recalled = await self.memory.retrieve(block.activity, t)
        schema = decomposition_model(identity.places, identity.objects)
        prompt = (f"It is {now:%H:%M}. From {clock(block.start)} to {clock(block.end)} you planned: {block.activity}.\n"
                  f"You remember: {listing(recalled)}\n"
                  "Break the time into steps of 5 to 15 minutes, each at one of your places, using an object "
                  "there or none.")
        where = self.current[1] if self.current else identity.home
        step = {"minutes": 15, "activity": block.activity[:ACTIVITY_CHARS], "object": "none",
                "place": where if where in identity.places else identity.places[0]}
        answer = await identity.ask(schema, "decompose", prompt, schema.model_validate({"steps": [step, step]}))
        steps = []
        for step in answer.steps:
            area = self.ctx.scenario.resolve_place(step.place)
            obj = step.object if step.object in self.ctx.world.objects.get(area, {}) else None
            steps.append((step.minutes, step.activity, area, obj))
        return [[a.start, a.end, a.activity, a.place, a.object] for a in fit(steps, block.start, block.end)]

    def state(self) -> dict[str, Any]:
        """The actions to come and the one under way."""
        return {"actions": self.actions, "current": self.current}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved."""
        self.actions, self.current = state["actions"], state["current"]


"""Planning: a day plan in broad strokes, an hour-level plan, and 5–15 minute actions bound to places.

Park et al. 2023 §4.3: each morning the person plans the day in broad strokes (5–8 items) from
their summary description (on their card, ``identity``), what they did yesterday and what they
have in mind; their routine is offered as a habit, not copied. The plan joins the card; a second
call makes it an hour-by-hour plan, and each hour is decomposed just in time into 5–15 minute actions (one call
each). Both plans are memories (rated like every memory) and ``plan`` events. When the person
reacts (``reaction``), the rest of the day is planned again from now: one call, a ``plan`` event
with scope ``replan`` and its reason, and a plan memory; the actions under way are dropped and
the new hour decomposed. Everything that can be computed (hours into blocks, actions fitted into
a block without gaps) is. Two components: ``DayPlanning`` (left out by ``--set planning=off``:
each half hour is then chosen as it comes, and a reaction cannot re-plan) and ``Acting`` (always
there: the action under way, the ones to come, and what was done today and yesterday).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.text import at, clip, clock, listing
from sim.core.mind import Decision, Do, Go, MindContext, Note, Percept, clock_minutes, plan_spans
from sim.llm.grammar import Words

Text = Annotated[str, StringConstraints(max_length=160), Words(2, 12)]
ACTIVITY_CHARS = 80
Activity = Annotated[str, StringConstraints(max_length=ACTIVITY_CHARS), Words(2, 8)]
"""An action's words: short, so a grammar-bound small model cannot run past its token limit."""
WAKE_TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(5, 10) for m in (0, 30))
BED_TIMES = tuple(f"{h:02d}:{m:02d}" for h in range(20, 24) for m in (0, 30))
HOURS = tuple(f"{h:02d}:00" for h in range(5, 24))
MIN_ACTION, MAX_ACTION = 5, 15
DONE_KEPT = 48
"""Entries of what a person began kept a day: enough to sample yesterday from, bounded in snapshots."""


class PlanItem(BaseModel):
    """One broad item of a day plan, starting at a full hour."""

    start: Literal[HOURS]  # type: ignore[valid-type]
    activity: Text


class DayPlan(BaseModel):
    """The morning plan: when to get up and go to bed, and 5–8 things to do in order."""

    wake_up: Literal[WAKE_TIMES]  # type: ignore[valid-type]
    bedtime: Literal[BED_TIMES]  # type: ignore[valid-type]
    items: list[PlanItem] = Field(min_length=5, max_length=8)


class HourItem(BaseModel):
    """One hour of an hour-level plan."""

    start: Literal[HOURS]  # type: ignore[valid-type]
    activity: Text


class HourPlan(BaseModel):
    """The day hour by hour: what the person does from each hour on (an hour not listed goes on with the last)."""

    hours: list[HourItem] = Field(min_length=3, max_length=len(HOURS))


class ReplanItem(BaseModel):
    """One item of a re-planned rest of the day: from now, or from an hour."""

    start: Literal[("now", *HOURS)]  # type: ignore[valid-type]
    activity: Text


class Replan(BaseModel):
    """The rest of today planned again after a reaction, and how much the change matters."""

    items: list[ReplanItem] = Field(min_length=1, max_length=8)
    importance: int = Field(ge=1, le=10)


@lru_cache(maxsize=64)
def hour_plan_model(hours: tuple[str, ...]) -> type[HourPlan]:
    """The hour plan's schema offering only ``hours`` (those from getting up to bedtime): a ``HourPlan``."""
    start: Any = Literal[hours]  # a type made at run time: Any keeps type checkers from reading it as a form
    item = create_model("HourItem", __base__=HourItem, start=(start, ...))
    return create_model(
        "HourPlan", __base__=HourPlan, hours=(list[item], Field(min_length=min(3, len(hours)), max_length=len(hours)))
    )


@lru_cache(maxsize=64)
def replan_model(hours: tuple[str, ...]) -> type[Replan]:
    """The re-planning schema offering "now" and ``hours`` (those still to come today): a ``Replan``."""
    start: Any = Literal[("now", *hours)]
    item = create_model("ReplanItem", __base__=ReplanItem, start=(start, ...))
    return create_model("Replan", __base__=Replan, items=(list[item], Field(min_length=1, max_length=8)))


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


def blocks(plan: DayPlan | Mapping[str, Any]) -> list[Block]:
    """Hourly blocks from waking to bedtime: each item lasts until the next one starts (``sim.core.mind.plan_spans``)."""
    data = plan.model_dump() if isinstance(plan, BaseModel) else plan
    wake, bed = minutes(data["wake_up"]), minutes(data["bedtime"])
    spans = plan_spans(data) or [(wake, "goes about the day")]
    out: list[Block] = []
    for index, (start, activity) in enumerate(spans):
        end = spans[index + 1][0] if index + 1 < len(spans) else bed
        hour = start
        while hour < end:
            step_end = min(end, (hour // 60 + 1) * 60)
            out.append(Block(hour, step_end, activity))
            hour = step_end
    return out


@lru_cache(maxsize=4096)
def decomposition_model(places: tuple[str, ...], objects: tuple[str, ...]) -> type[BaseModel]:
    """The schema of a block's actions, with the places and objects offered for that block as choices."""
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


_WORD = re.compile(r"[^\W\d_]{3,}")
"""A word that can name a place in a plan: three letters or more ("the", "at" name nothing)."""
_COMMON = frozenset({"the", "and", "room", "house", "home", "area", "place", "front", "back", "main", "old", "new"})
"""Words of place names too common to say which place a plan means (every house has a room)."""


def block_places(
    scenario: Any, known: tuple[str, ...], activity: str, start: int, end: int, routine: list[Any], here: str, home: str
) -> tuple[str, ...]:
    """The known places a block's actions may be at: its own sectors, not the whole town.

    Offered: every known area of the sectors of the person's place now and their home, of the
    routine's places during the block (the item under way at its start and those starting in
    it), and of each sector whose name or kind, or any of whose areas' names, the plan's
    activity names (a word of three letters or more, less a few common ones). A block with
    no plan of its own ("whatever seems best") or that names none of these is offered every
    known place. In file order, so the same block gets the same schema.
    """
    if not known:
        return known
    sectors = {here.split(":", 1)[0], home.split(":", 1)[0]}
    under_way = [item for item in routine if item.minute <= start][-1:]
    for item in [*under_way, *(item for item in routine if start < item.minute < end)]:
        if item.place and item.place != "free":
            sectors.add(scenario.resolve_place(item.place).split(":", 1)[0])
    said = {word.lower() for word in _WORD.findall(activity)} - _COMMON
    named = False
    for sector in scenario.sectors:
        words = " ".join([sector.name, sector.kind, *(area.name for area in sector.areas)])
        if said & ({word.lower() for word in _WORD.findall(words)} - _COMMON):
            sectors.add(sector.name)
            named = True
    if not named and not under_way and not any(start < item.minute < end for item in routine):
        return known  # nothing says where this block belongs: any known place may do
    offered = tuple(area for area in known if area.split(":", 1)[0] in sectors)
    return offered or known


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
    """Today's plans: broad strokes each morning, then hour by hour, rebuilt from now when the person reacts."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("day_plan", "hour_plan", "replan")
    """The ``purpose`` of each LLM call this component makes (its plan memories are rated by the memory's)."""

    EMPTY: ClassVar[dict[str, Any]] = {"plan": None, "plan_date": None, "hours": None}
    """The state of a person who has not planned a day."""

    def __init__(self, identity: Identity, memory: Memories) -> None:
        self.identity, self.memory = identity, memory
        self.plan: dict[str, Any] | None = None  # today's plan in broad strokes (``DayPlan`` fields)
        self.plan_date: str | None = None
        self.hours: dict[str, Any] | None = None  # today's hour-level plan, same shape; what the day follows

    def due(self, now: datetime) -> bool:
        """Whether today still needs a plan: not planned yet, and 04:00 or later."""
        return self.plan_date != now.date().isoformat() and now.hour * 60 + now.minute >= 4 * 60

    async def plan_day(self, now: datetime, yesterday: list[str]) -> list[Note]:
        """Plan today in broad strokes, then hour by hour (a call each); remember both; a ``plan`` event each."""
        t = self.identity.second(now)
        spec = self.identity.spec
        # The routine is the day plan's alone (the card says the lifestyle and the date): without one, no line.
        habits = "; ".join(f"{item.at} {item.do}" for item in spec.routine)
        # What the person has in mind (plans made, news to pass on) shapes the day, as in the paper.
        in_mind = await self.memory.retrieve(f"my plans, intentions and news for {now:%A %d %B}", t, k=3)
        # After the card: the instruction, the habits (the same every day), then what changes.
        prompt = (
            "Plan today in broad strokes: when you get up and go to bed, and 5 to 8 things you will do, "
            "each with the hour it starts.\n"
            + (f"Your usual day, a habit rather than a rule: {habits}.\n" if habits else "")
            + f"Yesterday you: {'; '.join(yesterday) or 'nothing you remember'}.\n"
            f"You have in mind: {listing(in_mind)}"
        )
        first = spec.routine[0].do if spec.routine else "starts the day"
        fallback = DayPlan(
            wake_up="07:00",
            bedtime="22:00",
            items=[
                PlanItem(start=f"{h:02d}:00", activity=clip(a, 160))
                for h, a in (
                    (7, first),
                    (9, f"works as {spec.occupation or 'usual'}"),
                    (12, "has lunch"),
                    (13, "works"),
                    (18, "has dinner and rests"),
                )
            ],
        )
        plan = await self.identity.ask(DayPlan, "day_plan", prompt, fallback, t=t)
        assert isinstance(plan, DayPlan)
        self.plan, self.plan_date = plan.model_dump(), now.date().isoformat()
        broad = "; ".join(f"{i.start} {i.activity}" for i in plan.items)
        # only the hours from getting up to bedtime can be planned: the schema offers no others
        awake = tuple(h for h in HOURS if minutes(plan.wake_up) // 60 * 60 <= minutes(h) < minutes(plan.bedtime))
        # The plan in broad strokes is on the card from now on (with getting up and bedtime); this call,
        # whose task is to expand it, also names it as its material, as the paper's hourly prompt does.
        hourly = await self.identity.ask(
            hour_plan_model(awake),
            "hour_plan",
            "Make today's plan an hour-by-hour plan: for each hour from getting up to bedtime, what you do.\n"
            f"Your plan in broad strokes: {broad}.\n"
            "One activity an hour, in your own words.",
            HourPlan(hours=[HourItem(start=i.start, activity=i.activity) for i in plan.items]),
            t=t,
        )
        self.hours = {"wake_up": plan.wake_up, "bedtime": plan.bedtime, "items": [i.model_dump() for i in hourly.hours]}
        texts = [
            f"My plan for {now:%A}: wake {plan.wake_up}, {broad}, bed {plan.bedtime}",
            f"My hour-by-hour plan for {now:%A}: {spoken(self.hours)}",
        ]
        await self.memory.remember("plan", texts, await self.memory.score(texts, t), t)
        return [
            Note("plan", {"scope": "day", "date": self.plan_date, **self.plan}),
            Note("plan", {"scope": "hours", "date": self.plan_date, **self.hours}),
        ]

    async def replan(self, now: datetime, reason: str) -> Note:
        """Rebuild the rest of today's hour-level plan from now (one call), remember it, and say so."""
        t = self.identity.second(now)
        minute = now.hour * 60 + now.minute
        current = self.hours or self.plan
        assert current is not None
        later = [f"{start} {activity}" for start, activity in _spans_after(current, minute)]
        # The rest of the hour-by-hour plan as it stands (the card has the morning's broad strokes and bedtime).
        prompt = (
            "Plan the rest of today again from now, in the light of this: what you do from now, and what "
            "after, each with the hour it starts. Rate how much this change matters (1 to 10).\n"
            f"The rest of your plan for today: {'; '.join(later) or 'nothing more'}.\n"
            f"{reason}\nIt is {now:%H:%M}."
        )
        fallback = Replan(
            items=[ReplanItem(start="now", activity=clip(later[0].split(" ", 1)[1], 160) if later else "carries on")],
            importance=3,
        )
        # "now" or an hour still to come before bedtime: an hour gone by cannot start anything
        to_come = tuple(h for h in HOURS if minute < minutes(h) < minutes(current["bedtime"]))
        answer = await self.identity.ask(replan_model(to_come), "replan", prompt, fallback, t=t)
        assert isinstance(answer, Replan)
        self.hours = replanned(current, minute, [(i.start, i.activity) for i in answer.items])
        rest = "; ".join(f"{start} {activity}" for start, activity in _spans_after(self.hours, minute))
        await self.memory.remember(
            "plan", [clip(f"At {now:%H:%M} I changed my plans ({reason}): {rest}", 600)], [float(answer.importance)], t
        )
        return Note("plan", {"scope": "replan", "date": self.plan_date, "reason": reason, **self.hours})

    def remaining(self, minute: int) -> str:
        """The rest of today's plan from ``minute``, for prompts."""
        current = self.hours or self.plan
        later = _spans_after(current, minute) if current else []
        return "; ".join(f"{start} {activity}" for start, activity in later) or "nothing planned"

    def block_at(self, minute: int) -> Block | None:
        """The rest of the plan's block under way at ``minute``, if the plan has one then."""
        current = self.hours or self.plan
        if current is not None:
            for block in blocks(current):
                if block.start <= minute < block.end:
                    return Block(minute, block.end, block.activity)
        return None

    def state(self) -> dict[str, Any]:
        """Today's plans (broad and hour by hour) and their date."""
        return {"plan": self.plan, "plan_date": self.plan_date, "hours": self.hours}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved (a snapshot from before hour plans has none)."""
        self.plan, self.plan_date, self.hours = state["plan"], state["plan_date"], state.get("hours")


def spoken(plan: Mapping[str, Any]) -> str:
    """A plan's items as ``HH:MM activity`` phrases in time order."""
    return "; ".join(f"{clock(start)} {activity}" for start, activity in plan_spans(plan))


def _spans_after(plan: Mapping[str, Any], minute: int) -> list[tuple[str, str]]:
    """The plan's items still to come at ``minute`` (the one under way starting at ``minute``)."""
    spans = plan_spans(plan)
    out: list[tuple[str, str]] = []
    for index, (start, activity) in enumerate(spans):
        end = spans[index + 1][0] if index + 1 < len(spans) else minutes(plan["bedtime"])
        if end > minute:
            out.append((clock(max(start, minute)), activity))
    return out


def replanned(plan: Mapping[str, Any], minute: int, items: list[tuple[str, str]]) -> dict[str, Any]:
    """``plan`` with everything from ``minute`` on replaced by ``items`` (``now`` or ``HH:00`` starts).

    Items kept are those starting before ``minute`` (the one under way lasts until now); a new
    item starting "now" or at an hour already begun starts at ``minute``.
    """
    kept = [dict(i) for i in plan.get("items", []) if (clock_minutes(i.get("start")) or 0) < minute]
    new = [
        {"start": clock(max(minute, clock_minutes(start) or 0) if start != "now" else minute), "activity": activity}
        for start, activity in items
    ]
    return {**plan, "items": kept + new}


class Acting:
    """The action under way and the ones to come: blocks decomposed just in time, sleep at night."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("decompose",)
    """The ``purpose`` of each LLM call this component makes."""

    EMPTY: ClassVar[dict[str, Any]] = {"actions": [], "current": None, "done": {}}
    """The state of a person who has not acted yet."""

    def __init__(self, identity: Identity, memory: Memories, ctx: MindContext, day: DayPlanning | None) -> None:
        self.identity, self.memory, self.ctx = identity, memory, ctx
        self.day = day
        self.actions: list[list[Any]] = []  # upcoming [start, end, activity, place, object], minutes of the day
        self.current: list[str] | None = None  # [activity, place] under way
        self.done: dict[str, list[str]] = {}  # date -> "HH:MM what was begun", today's and yesterday's

    def log(self, now: datetime, what: str) -> None:
        """Keep that the person began ``what`` at ``now`` (for tomorrow's plan: what they did yesterday)."""
        day = now.date().isoformat()
        if day not in self.done:
            self.done = {
                d: entries for d, entries in self.done.items() if d == (now.date() - timedelta(days=1)).isoformat()
            }
            self.done[day] = []
        entries = self.done[day]
        if len(entries) < DONE_KEPT and not (entries and entries[-1].endswith(what)):
            entries.append(f"{now:%H:%M} {clip(what, ACTIVITY_CHARS)}")

    def yesterday(self, now: datetime, most: int = 10) -> list[str]:
        """What the person began the day before ``now``, at most ``most`` entries spread over the day."""
        entries = self.done.get((now.date() - timedelta(days=1)).isoformat(), [])
        if len(entries) <= most:
            return entries
        return [entries[i * len(entries) // most] for i in range(most)]

    def doing(self) -> str:
        """What the person is busy with, for prompts."""
        return self.current[0] if self.current else "nothing in particular"

    def sleeping(self) -> bool:
        """Whether the person has gone to sleep (and not woken since)."""
        return self.current is not None and self.current[0] == "sleeping"

    def start_over(self) -> None:
        """Drop the actions to come: the hour is decomposed afresh (after a new or changed plan)."""
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
            self.log(now, action[2])
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
        where = self.current[1] if self.current else identity.home
        # The schema offers only the places this block can be at (and their objects): a schema of the
        # whole town cost more tokens than the prompt itself, and a small model picks among fewer better.
        places = block_places(
            self.ctx.scenario,
            identity.places,
            block.activity,
            block.start,
            block.end,
            identity.spec.routine,
            where,
            identity.home,
        )
        here = {name for area in places for name in self.ctx.scenario.objects_in(area)}
        objects = tuple(o for o in identity.objects if o in here)
        schema = decomposition_model(places, objects)
        prompt = (
            "Break the time into steps of 5 to 15 minutes, each at one of your places, using an object "
            "there or none.\n"
            f"From {clock(block.start)} to {clock(block.end)} you planned: {block.activity}.\n"
            f"You remember: {listing(recalled)}\n"
            f"It is {now:%H:%M}."
        )
        step = {
            "minutes": 15,
            "activity": block.activity[:ACTIVITY_CHARS],
            "object": "none",
            "place": where if where in places else places[0],
        }
        answer = await identity.ask(schema, "decompose", prompt, schema.model_validate({"steps": [step, step]}), t=t)
        steps = []
        for step in answer.steps:
            area = self.ctx.scenario.resolve_place(step.place)
            obj = step.object if step.object in self.ctx.scenario.objects_in(area) else None
            steps.append((step.minutes, step.activity, area, obj))
        return [[a.start, a.end, a.activity, a.place, a.object] for a in fit(steps, block.start, block.end)]

    def state(self) -> dict[str, Any]:
        """The actions to come, the one under way, and what was begun today and yesterday."""
        return {"actions": self.actions, "current": self.current, "done": self.done}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved (a snapshot from before the log has none)."""
        self.actions, self.current, self.done = state["actions"], state["current"], state.get("done", {})

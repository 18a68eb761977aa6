"""Planning: a day plan in broad strokes, hourly blocks, and 5–15 minute actions bound to places.

The day plan and each block's decomposition are one structured LLM call each; everything that
can be computed (turning items into blocks, fitting actions into a block without gaps) is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

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
    """Hourly blocks from waking to bedtime: each item lasts until the next one starts."""
    wake, bed = minutes(plan.wake_up), minutes(plan.bedtime)
    items = sorted({minutes(item.start): item.activity for item in plan.items}.items())
    # Items before waking start at waking; the first item also covers any time before it.
    spans: list[tuple[int, str]] = []
    for start, activity in items:
        start = max(start, wake)
        if start >= bed:
            break
        if spans and spans[-1][0] == start:
            spans[-1] = (start, activity)
        else:
            spans.append((start, activity))
    if not spans:
        spans = [(wake, "goes about the day")]
    spans[0] = (wake, spans[0][1])
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

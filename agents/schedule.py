"""The ``schedule`` mind: follows the person's routine from the scenario, with one LLM call a day.

It is the control condition for research (no memory, no reflection, no conversation) and the
engine's test subject. Its only LLM call is the morning day plan: a mood, a few intentions and
where to spend free time, so the gateway's whole path is exercised in every run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, create_model

from sim.core.mind import Decision, Do, Go, MindContext, Note, Percept
from sim.llm.gateway import CallSite
from sim.llm.grammar import Words
from sim.worldfile.scenario import PersonSpec, RoutineItem, Scenario

MOODS = ("cheerful", "calm", "focused", "tired", "restless", "curious")
FREE = "free"
DEFAULTS: dict[str, Any] = {
    "jitter_minutes": 10,  # routine items start up to this many minutes early or late
    "plan_with_llm": True,  # False: no LLM call at all (a pure clockwork control)
}


def default_routine(spec: PersonSpec) -> list[RoutineItem]:
    """The routine of a person whose scenario entry gives none."""
    work = f"works as {spec.occupation}" if spec.occupation else "spends the day at home"
    return [
        RoutineItem(at="07:00", do="wakes up and gets ready", place=spec.home),
        RoutineItem(at="09:00", do=work, place=spec.home),
        RoutineItem(at="18:00", do="spends free time", place=FREE),
        RoutineItem(at="22:00", do="goes to bed", place=spec.home),
    ]


_UNLIVED: list[tuple[Scenario, tuple[str, ...]]] = []  # the last scenario asked about, and its answer


def _unlived_sectors(scenario: Scenario) -> tuple[str, ...]:
    """The sectors nobody lives in: worked out once per scenario, not once per person (N^2)."""
    if _UNLIVED and _UNLIVED[0][0] is scenario:
        return _UNLIVED[0][1]
    homes = {scenario.resolve_place(p.home).split(":", 1)[0] for p in scenario.people}
    unlived = tuple(s.name for s in scenario.sectors if s.name not in homes)
    _UNLIVED[:] = [(scenario, unlived)]
    return unlived


def free_time_places(scenario: Scenario, home: str) -> tuple[str, ...]:
    """Sectors a person may choose for free time: their own home and every sector nobody lives in."""
    own = scenario.resolve_place(home).split(":", 1)[0]
    return (own, *_unlived_sectors(scenario))


@cache
def day_plan_model(places: tuple[str, ...]) -> type[BaseModel]:
    """The answer schema of the day plan, with the free-time places as the allowed values."""
    mood: Any = Literal[MOODS]  # types made at run time: Any keeps type checkers from reading them as forms
    place: Any = Literal[places]
    return create_model(
        "DayPlan",
        mood=(mood, Field(description="how the person feels this morning")),
        intentions=(
            list[Annotated[str, StringConstraints(max_length=200), Words(2, 25)]],
            Field(min_length=1, max_length=5, description="what the person means to do today"),
        ),
        free_time_place=(place, Field(description="where to spend free time today")),
    )


class ScheduleMind:
    """Walks to each routine item's place and does it until the next item starts."""

    def __init__(self, spec: PersonSpec, ctx: MindContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.params = {**DEFAULTS, **ctx.params}
        self.routine = spec.routine or default_routine(spec)
        self.home = ctx.scenario.resolve_place(spec.home)
        self.places = free_time_places(ctx.scenario, spec.home)
        # state saved in snapshots:
        self.plan_date: str | None = None  # date of the current day plan
        self.plan: dict[str, Any] = {}  # the day plan's answer
        self.starts: list[int] = []  # today's item start minutes, with jitter
        self.current: list[str] | None = None  # [activity, place] being done now

    # -- the protocol --------------------------------------------------------------------

    async def decide(self, percept: Percept) -> Decision:
        """Plan the day if it is a new one, then go to or carry on with the current routine item."""
        if percept.place is None:
            return Decision()  # travelling: the arrival wakes us
        actions: list[Any] = []
        today = percept.now.date()
        if self.plan_date != today.isoformat():
            actions.append(await self._plan_day(percept.now))
        item, next_start = self._current(percept.now)
        target = self._place_of(item)
        if target != percept.place:
            self.current = None
            return Decision([*actions, Go(target, purpose=item.do)])
        if self.current != [item.do, target]:
            self.current = [item.do, target]
            actions.append(Do(item.do, next_start, item.object))
        return Decision(actions, next_start)

    def notices(self, event: Any) -> bool:
        """A routine follower is never distracted."""
        return False

    def state(self) -> dict[str, Any]:
        """Plan, jittered starts and current activity."""
        return {"plan_date": self.plan_date, "plan": self.plan, "starts": self.starts, "current": self.current}

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved."""
        self.plan_date, self.plan = state["plan_date"], state["plan"]
        self.starts, self.current = state["starts"], state["current"]

    # -- the day -------------------------------------------------------------------------

    async def _plan_day(self, now: datetime) -> Note:
        rng = self.ctx.rng
        jitter = int(self.params["jitter_minutes"])
        starts: list[int] = []
        for item in self.routine:
            start = item.minute + (rng.randint(-jitter, jitter) if jitter else 0)
            starts.append(max(0, start, starts[-1] + 1 if starts else 0))
        self.starts = starts
        self.plan_date = now.date().isoformat()
        schema = day_plan_model(self.places)
        fallback = schema(mood="calm", intentions=[self.routine[0].do], free_time_place=self.places[0])
        if self.params["plan_with_llm"]:
            answer = await self.ctx.gateway.ask(
                schema,
                self._prompt(now),
                fallback=fallback,
                site=CallSite(self.spec.name, "day_plan"),
                settings=self._settings(),
            )
        else:
            answer = fallback
        self.plan = answer.model_dump()
        return Note("plan", {"scope": "day", "date": self.plan_date, **self.plan})

    def _settings(self) -> Any:
        scenario_model = self.ctx.scenario.model
        return self.spec.model.over(scenario_model) if self.spec.model else scenario_model

    def _prompt(self, now: datetime) -> list[dict[str, str]]:
        spec = self.spec
        persona = f"You are {spec.name}, aged {spec.age}"
        persona += f", {spec.occupation}." if spec.occupation else "."
        if spec.traits:
            persona += f" You are {', '.join(spec.traits)}."
        if spec.lifestyle:
            persona += f" {spec.lifestyle}."
        known = "; ".join(f"{r.name} ({r.relation})" for r in spec.relationships) or "nobody in particular"
        remembered = " ".join(m.rstrip(".") + "." for m in spec.memories) or "Nothing special."
        routine = "\n".join(
            f"- {item.at} {item.do}" + (f" at {item.place}" if item.place else "") for item in self.routine
        )
        # Everything but the date is the same every morning: the date last, so a server's prefix
        # cache serves all the rest from yesterday's call.
        user = (
            f"Choose your mood, up to five intentions for today, and where to spend your free time "
            f"(one of: {', '.join(self.places)}).\n"
            f"You live at {self.home}. You know {known}.\n"
            f"What you remember: {remembered}\n"
            f"Your routine:\n{routine}\n"
            f"Today is {now:%A %d %B %Y}."
        )
        return [{"role": "system", "content": persona}, {"role": "user", "content": user}]

    def _current(self, now: datetime) -> tuple[RoutineItem, datetime]:
        """The routine item under way at ``now`` and when the next one starts."""
        minute = now.hour * 60 + now.minute
        midnight = datetime.combine(now.date(), datetime.min.time())
        index = -1  # before today's first item, yesterday's last one is still under way
        for i, start in enumerate(self.starts):
            if start <= minute:
                index = i
        if index + 1 < len(self.starts):
            next_start = midnight + timedelta(minutes=self.starts[index + 1])
        else:
            next_start = midnight + timedelta(days=1, minutes=self.routine[0].minute)
        return self.routine[index], next_start

    def _place_of(self, item: RoutineItem) -> str:
        if item.place is None:
            return self.current[1] if self.current else self.home
        if item.place == FREE:
            chosen = str(self.plan.get("free_time_place", self.places[0]))
            # "home" means the person's own area at home, not their building's entrance
            return self.home if chosen == self.places[0] else self.ctx.scenario.resolve_place(chosen)
        return self.ctx.scenario.resolve_place(item.place)

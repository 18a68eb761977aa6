"""Perception: what a person notices of the people, objects and lines around them (Park et al. 2023 §4.1, §5.1).

At every wake in a place, the person perceives their area and each new observation becomes a
memory at once, stamped with the second it was perceived: people doing something other than
last seen, objects whose state is not ``idle`` and differs from what the person last saw of them,
lines said to them or overheard (said by one person to another in their area; the line's own
time), and injected events (their own time). The importance of all of them is rated in one
batched call (texts already in the stream keep their score, and so does an activity already
rated when someone else was seen doing it: "X eats lunch" matters as "Y eats lunch" did, so a
crowd does not cost a call at every wake). Nothing is dropped silently: past
``perception_limit`` observations at one wake, the rest become one summary memory saying how
many of each kind were not remembered one by one (no call). ``--set observation=off`` leaves
this component out: nothing is noticed (whispers still become memories; they are planted).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, ClassVar

from agents.generative.memory import Memories
from sim.core.events import Event
from sim.core.mind import Percept

IDLE = "idle"
"""An object's state when nobody changed it (``sim.worldfile.scenario``'s default): not worth a memory on first sight."""


def overheard(event: Event, me: str) -> bool:
    """Whether ``event`` is a line said within earshot of ``me`` to someone else (or to nobody in particular)."""
    return event.kind == "say" and event.person != me and event.data.get("to") != me


class Perception:
    """Turns a percept into observation memories; remembers what each person and object was last seen doing."""

    PURPOSES: ClassVar[tuple[str, ...]] = ()
    """The ``purpose`` of each LLM call this component makes (none of its own: the memory's ``importance``)."""

    EMPTY: ClassVar[dict[str, Any]] = {"seen": {}, "things": {}, "rated": {}, "waiting": [], "rated_at": None}
    """The state of a person who has perceived nothing."""

    def __init__(self, memory: Memories, me: str, params: dict[str, Any]) -> None:
        self.memory, self.me = memory, me
        self.limit = int(params["perception_limit"])
        self.seen: dict[str, str] = {}  # person -> the activity last noticed
        self.things: dict[str, str] = {}  # "area|object" -> the state last noticed
        self.rated: dict[str, float] = {}  # activity -> the importance it was rated when someone was seen at it
        self.window = int(params["perception_minutes"]) * 60
        self.waiting: list[list[Any]] = []  # [second perceived, text, activity] perceived within the window
        self.rated_at: int | None = None  # the second of the last importance call for observations

    def observations(self, percept: Percept, t: int, asleep: bool = False) -> list[tuple[int, str, str, str]]:
        """What is new in ``percept`` as (second perceived, kind, text, activity seen or ""), most telling first.

        Kinds: ``event`` (injected, or said to me), ``object``, ``overheard``, ``person``; the
        order is the priority when a wake brings more than the limit. ``asleep``: the person slept
        until now, so lines said to others meanwhile were never heard.
        """
        by_kind: dict[str, list[tuple[int, str, str, str]]] = {"event": [], "object": [], "overheard": [], "person": []}
        for event in percept.events:
            text = str(event.data.get("text", ""))
            if event.kind == "say" and event.data.get("to") == self.me:
                by_kind["event"].append((event.t, "event", f"{event.person} said to me: {text}", ""))
            elif event.kind == "say" and overheard(event, self.me) and not asleep:
                to = event.data.get("to")
                said = f"{event.person} said to {to}" if to else f"{event.person} said"
                by_kind["overheard"].append((event.t, "overheard", f"{said}: {text}", ""))
            elif event.kind == "intervene" and event.data.get("kind") != "whisper" and text:
                by_kind["event"].append((event.t, "event", text, ""))
        where = percept.place or ""
        area = where.split(":")[-1]
        for name, state in percept.objects:
            key = f"{where}|{name}"
            if state != self.things.get(key, IDLE):  # first sight of an idle object is no news
                self.things[key] = state
                by_kind["object"].append((t, "object", f"The {name} in the {area}: {state}", ""))
        for other, activity in percept.people:
            if activity and self.seen.get(other) != activity:
                self.seen[other] = activity
                text = f"{other} is {activity}" if activity.startswith("talking") else f"{other} {activity}"
                by_kind["person"].append((t, "person", text, activity))
        return [o for kind in by_kind.values() for o in kind]

    async def perceive(self, percept: Percept, t: int, asleep: bool = False) -> list[tuple[str, str]]:
        """Store what is new in ``percept`` as memories (the overflow as one summary), scored in one call.

        Returns what was noticed as (kind, text), most telling first, for the reaction to weigh.

        Within ``perception_minutes`` of the last importance call, new observations wait (stamped
        when perceived) and are stored with the next wake's, so a crowd costs at most one call per
        window; texts and activities already rated are stored at once.
        """
        found = self.observations(percept, t, asleep)
        kept, rest = found[: self.limit], found[self.limit :]
        stamped = [[at, text, activity] for at, _, text, activity in kept]
        if rest:  # counted, not dropped: one memory says what was not remembered one by one
            counts = Counter(kind for _, kind, _, _ in rest)
            parts = ", ".join(f"{n} {_NOUNS[kind][n != 1]}" for kind, n in counts.items())
            stamped.append(
                [
                    t,
                    f"Also noticed, too much to take in one by one: {len(rest)} more "
                    f"observation{'s' if len(rest) != 1 else ''} ({parts})",
                    "",
                ]
            )
        self.waiting += stamped
        noticed = [(kind, text) for _, kind, text, _ in found]
        if not self.waiting:
            return noticed
        unrated = [
            text for _, text, activity in self.waiting if activity not in self.rated and not self.memory.knows(text)
        ]
        if unrated and self.rated_at is not None and t - self.rated_at < self.window:
            return noticed
        ready, self.waiting = self.waiting, []
        texts = [text for _, text, activity in ready if activity not in self.rated]
        if unrated:
            self.rated_at = t
        fresh = dict(zip(texts, await self.memory.score(texts, t), strict=True)) if texts else {}
        scores = [self.rated[activity] if activity in self.rated else fresh[text] for _, text, activity in ready]
        for (_, _, activity), score in zip(ready, scores, strict=True):
            if activity:
                self.rated.setdefault(activity, score)
        for at in sorted({at for at, _, _ in ready}):  # one stamp per group: each memory at its own second
            group = [(text, score) for (when, text, _), score in zip(ready, scores, strict=True) if when == at]
            await self.memory.remember("observation", [g[0] for g in group], [g[1] for g in group], at)
        self.memory.importance_since += sum(scores)
        return noticed

    def state(self) -> dict[str, Any]:
        """Who and what was last seen in which state, and the importance of each activity seen."""
        return {
            "seen": self.seen,
            "things": self.things,
            "rated": self.rated,
            "waiting": self.waiting,
            "rated_at": self.rated_at,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Load what ``state`` saved (a snapshot from before objects were perceived has no ``things``)."""
        self.seen, self.things, self.rated = state["seen"], state.get("things", {}), state.get("rated", {})
        self.waiting, self.rated_at = state.get("waiting", []), state.get("rated_at")


_NOUNS = {
    "event": ("event", "events"),
    "object": ("object", "objects"),
    "overheard": ("line overheard", "lines overheard"),
    "person": ("person", "people"),
}

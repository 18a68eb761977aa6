"""Events: everything observable in a run, one class per kind, and the world state they change.

An event is a row of the run file's ``event`` table: when (``t``, ``tick``, ``time``), its
``kind``, who (``person``), where (``place``) and its fields (``data``, stored as JSON). Each kind
is one class here, as SimPy has a class per event and Textual one per message: it declares its
fields (annotations, read from ``data``), its sentence for the viewer's feed (``describe``), its
colour and group there, and how it changes the world (``apply``, on a ``WorldState``). Subclassing
``Event`` with ``kind="..."`` registers a kind; ``KINDS`` lists them in the glossary's order.

``Event(t, kind, ...)`` and ``Event.decode(row)`` give the registered class of ``kind``, and the
base class for a kind nobody registered (a newer file's, say): it has no effect on the world and
shows its fields as they are. ``SomeKind.new(t, person, place, **fields)`` makes an event whose
fields are checked against the declaration. The stored row is ``data`` exactly as it was given, so
the classes change nothing in a run file.

The engine changes its ``World`` (a ``WorldState``) only by emitting events, and the viewer's
timeline rebuilds its ``State`` (another one) by applying the logged ones: both call
``WorldState.apply``.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self, cast

import orjson

_REQUIRED: Any = object()  # the default of a field every event of its kind has


@dataclass(slots=True)
class Event:
    """One happening at simulated second ``t`` of the run; ``seq`` is given when it is committed.

    The base class is also the fallback for a kind no class declares: no effect, fields shown as they are.
    """

    t: int
    kind: str
    person: str | None = None
    place: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    tick: int = 0
    time: str = ""

    KIND: ClassVar[str] = ""
    """The kind a class declares (``""``: the fallback)."""
    colour: ClassVar[str] = "white"
    """How the feed colours the kind (a Rich style)."""
    group: ClassVar[str | None] = None
    """The feed's filter that takes this kind with others (``conversations``, ``movement``, ``team``)."""
    names_place: ClassVar[bool] = False
    """Whether ``describe`` names the place (the feed then does not add it)."""
    FIELDS: ClassVar[dict[str, Any]] = {}
    """The fields the class declares, with their defaults."""
    open_fields: ClassVar[bool] = False
    """Whether ``data`` may hold fields beyond those declared (a plan holds its mind's own)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        """An instance of the class registered for the ``kind`` argument (the base class for an unknown one)."""
        target: type[Event] = cls
        if cls is Event:  # as pathlib.Path gives a PosixPath: the kind picks the class
            kind = kwargs["kind"] if "kind" in kwargs else args[1] if len(args) > 1 else ""
            target = _CLASSES.get(kind, cls)
        return cast(Self, object.__new__(target))

    def __init_subclass__(cls, kind: str = "") -> None:
        """Register a class as its ``kind``; its annotated fields become properties that read ``data``."""
        own = [
            name
            for name, hint in vars(cls).get("__annotations__", {}).items()
            if not str(hint).startswith(("ClassVar", "typing.ClassVar"))
        ]
        fields = dict(cls.FIELDS)
        for name in own:  # ``with_`` is the field stored as "with" (a keyword), ``kind_`` the one stored as "kind"
            if hasattr(Event, name):
                raise TypeError(f"{cls.__name__}.{name}: an event's own attribute; name the field {name}_")
            key = name.removesuffix("_")
            fields[key] = vars(cls).get(name, _REQUIRED)
            setattr(cls, name, _field(key, fields[key]))
        cls.FIELDS = fields
        if kind:
            if kind in _CLASSES:
                raise ValueError(f"event kind {kind!r} is declared twice: {_CLASSES[kind].__name__} and {cls.__name__}")
            cls.KIND = kind
            _CLASSES[kind] = cls

    @classmethod
    def new(cls, t: int, person: str | None = None, place: str | None = None, **fields: Any) -> Self:
        """This kind of event at second ``t`` with ``fields`` as its data, checked against the declaration.

        A field named after a keyword is given with a trailing underscore (``with_=``), as it is declared.
        """
        fields = {name.removesuffix("_"): value for name, value in fields.items()}
        unknown = set() if cls.open_fields else fields.keys() - cls.FIELDS.keys()
        missing = [name for name, default in cls.FIELDS.items() if default is _REQUIRED and name not in fields]
        if unknown or missing or not cls.KIND:
            raise TypeError(f"{cls.__name__}: unknown fields {sorted(unknown)}, missing fields {missing}")
        return cls(t, cls.KIND, person, place, fields)

    @classmethod
    def decode(cls, row: Mapping[str, Any]) -> Event:
        """The event a row holds (``data`` decoded or as the stored JSON text), as its kind's class."""
        data = row.get("data") or {}
        if isinstance(data, str | bytes):
            data = orjson.loads(data)
        kind = row["kind"]
        # what Event(...) does, without its argument parsing: a seek decodes thousands of rows
        event = object.__new__(_CLASSES.get(kind, Event))
        _init(
            event,
            row["t"],
            kind,
            row.get("person"),
            row.get("place"),
            data,
            row.get("seq") or 0,
            row.get("tick") or 0,
            row.get("time") or "",
        )
        return event

    def describe(self) -> str:
        """The event in words for the feed, without its time, person or place."""
        return str(self.data)

    def apply(self, state: WorldState) -> None:
        """Change ``state`` as this event changes the world (most kinds change nothing)."""


_CLASSES: dict[str, type[Event]] = {}
_init = Event.__init__


def _field(name: str, default: Any) -> property:
    """A read-only property for field ``name``: its value in ``data``, else its default (None if required)."""
    fallback = None if default is _REQUIRED else default

    def read(event: Event) -> Any:
        value = event.data.get(name, fallback)
        if value is fallback and isinstance(value, list | dict):
            return value.copy()  # never share a default
        return value

    return property(read, doc=f"The event's {name!r}.")


def event_class(kind: str) -> type[Event]:
    """The class registered for ``kind``, or the base class when none is."""
    return _CLASSES.get(kind, Event)


def event_dict(event: Event) -> dict[str, Any]:
    """An event as a dict of its fields (snapshots keep inboxes so)."""
    return {
        "t": event.t,
        "kind": event.kind,
        "person": event.person,
        "place": event.place,
        "data": event.data,
        "seq": event.seq,
        "tick": event.tick,
        "time": event.time,
    }


class WorldState:
    """Who is in the world and where, who walks where and by which route, doing what; objects' states; plans.

    The engine's ``sim.core.world.World`` and the viewer's ``sim.tui.timeline.State`` are both one, and
    both change only through ``apply``. The methods below are what events do to it; ``World``
    extends them to keep its index of who is in each place.
    """

    __slots__ = ()
    people: list[str]  # sorted
    position: dict[str, str | None]  # None while travelling
    travel: dict[str, tuple[str, int]]  # (destination area, arrival second)
    activity: dict[str, str]
    objects: dict[str, dict[str, str]]  # area -> object -> state
    plans: dict[str, dict[str, Any]]  # the plan a person follows (the newest ``plan`` event's, without its scope)
    routes: dict[str, tuple[int, tuple[str, ...]]]  # the walk under way: when it began, the areas it passes

    def apply(self, event: Event) -> None:
        """Change the state as ``event`` changes the world."""
        event.apply(self)

    def join(self, person: str) -> None:
        """Count ``person`` among the people of the world."""
        at = bisect.bisect_left(self.people, person)
        if at == len(self.people) or self.people[at] != person:
            self.people.insert(at, person)

    def place(self, person: str, area: str) -> None:
        """Put ``person`` in ``area`` at once (a spawn or an arrival)."""
        self.travel.pop(person, None)
        self.routes.pop(person, None)
        self.position[person] = area

    def depart(self, person: str, destination: str, arrival: int, began: int = 0, route: tuple[str, ...] = ()) -> None:
        """Take ``person`` out of their place: from ``began`` they walk ``route`` to ``destination`` until ``arrival``."""
        self.position[person] = None
        self.travel[person] = (destination, arrival)
        self.routes[person] = (began, route)

    def set_object(self, area: str, name: str, state: str) -> None:
        """Set the state of object ``name`` in ``area`` (adding it if it is new there)."""
        self.objects.setdefault(area, {})[name] = state

    def remove(self, person: str) -> None:
        """Take ``person`` out of the world entirely."""
        if person in self.people:
            self.people.remove(person)
        for table in (self.position, self.travel, self.activity, self.plans, self.routes):
            table.pop(person, None)


# -- the kinds, in the glossary's order (README.md) -------------------------------------------------


class RunStart(Event, kind="run_start"):
    """The run began (a resumed run does not log it again: its log equals an uninterrupted one)."""

    world: str
    seed: int
    people: int
    fixed_step: int | None = None

    def describe(self) -> str:
        """The world, the seed and how many people."""
        return f"the run starts: {self.world}, seed {self.seed}, {self.people} people"


class Spawn(Event, kind="spawn"):
    """A person appeared at ``place`` (the start of the run, or ``add_person``)."""

    names_place = True
    home: str

    def describe(self) -> str:
        """Where they appear."""
        return f"appears at {self.place}"

    def apply(self, state: WorldState) -> None:
        """They are in the world, at ``place``."""
        if self.person:
            state.join(self.person)
            if self.place:
                state.place(self.person, self.place)


class Move(Event, kind="move"):
    """A person set off from ``place`` along ``route``; they arrive at ``arrival``."""

    colour = "blue"
    group = "movement"
    to: str
    route: list[str] = []
    minutes: float = 0.0
    purpose: str = ""

    @property
    def arrival(self) -> int:
        """The second they arrive: the walk's minutes later, and never in the same second."""
        return self.t + max(1, round(float(self.minutes or 0) * 60))

    def describe(self) -> str:
        """Where to, how long, and why."""
        return f"sets off to {self.to} ({float(self.minutes or 0):g} min): {self.purpose}"

    def apply(self, state: WorldState) -> None:
        """They are on the way until ``arrival``."""
        if self.person:
            state.depart(
                self.person, str(self.to or ""), self.arrival, self.t, tuple(str(area) for area in self.route or ())
            )


class Arrive(Event, kind="arrive"):
    """A person reached the end of their journey, ``place``."""

    colour = "blue"
    names_place = True
    group = "movement"

    def describe(self) -> str:
        """Where they arrive."""
        return f"arrives at {self.place}"

    def apply(self, state: WorldState) -> None:
        """They are at ``place``."""
        if self.person and self.place:
            state.place(self.person, self.place)


class Act(Event, kind="act"):
    """A person started an activity, perhaps with an object, perhaps until a time."""

    colour = "cyan"
    activity: str = ""
    object: str | None = None
    until: str | None = None

    def describe(self) -> str:
        """The activity, the object and until when."""
        until = f" until {str(self.until)[11:16]}" if self.until else ""
        used = f" with the {self.object}" if self.object else ""
        return f"{self.activity}{used}{until}"

    def apply(self, state: WorldState) -> None:
        """It is what they are doing now (if they are still in the world)."""
        if self.person in state.position:
            state.activity[str(self.person)] = str(self.activity or "")


SAID = 300
"""Characters of a phase's line the feed shows (a task prompt quotes the whole program)."""


class Say(Event, kind="say"):
    """A person said something: to someone or whoever is present, in a conversation (``turn``) or a team's phase."""

    colour = "green"
    group = "conversations"
    text: str = ""
    to: str | None = None
    hearers: list[str] = []
    turn: int | None = None
    phase: str | None = None
    files: list[str] = []
    extract: bool = False
    dehallucination: str | None = None
    questions: list[str] = []

    def describe(self) -> str:
        """The line in quotes, to whom; a phase's line clipped, with the files it wrote."""
        to = f" (to {self.to})" if self.to else ""
        if self.phase:
            wrote = f" [writes {', '.join(self.files)}]" if self.files else ""
            asked = " (the conclusion, asked for)" if self.extract else ""
            return f"[{self.phase}] “{clip(str(self.text), SAID)}”{to}{wrote}{asked}"
        return f"“{self.text}”{to}"


class Talk(Event, kind="talk"):
    """A conversation began: the person speaks first, ``with`` answers."""

    colour = "green"
    group = "conversations"
    with_: str
    topic: str = ""

    def describe(self) -> str:
        """With whom, about what."""
        return f"starts talking with {self.with_} about {self.topic}"


class TalkEnd(Event, kind="talk_end"):
    """A conversation ended, after how many lines and why; both spent its length talking."""

    colour = "green"
    group = "conversations"
    with_: str
    turns: int
    reason: str = ""

    def describe(self) -> str:
        """With whom, how long, why."""
        return f"ends the talk with {self.with_} after {self.turns} lines ({self.reason})"

    def apply(self, state: WorldState) -> None:
        """Both are talking with each other."""
        other = self.with_
        if self.person and other:
            state.activity[self.person] = f"talking with {other}"
            state.activity[str(other)] = f"talking with {self.person}"


class Plan(Event, kind="plan"):
    """A mind made a plan (``scope`` ``day`` or ``hours``) or changed it (``replan``, with its ``reason``).

    The rest of its fields are the plan as the mind keeps it (the generative mind's ``items``, wake-up
    and bedtime; the schedule mind's mood and intentions).
    """

    colour = "magenta"
    open_fields = True
    scope: str = ""
    date: str = ""
    reason: str = ""
    items: list[dict[str, Any]] = []

    def describe(self) -> str:
        """The plan's items, and why it changed."""
        items = "; ".join(f"{i.get('start')} {i.get('activity')}" for i in self.items or [])
        if self.scope == "replan":
            return f"changes plans ({self.reason}): {items}"
        how = " hour by hour" if self.scope == "hours" else ""
        return f"plans the day{how}: {items or self.data}"

    def apply(self, state: WorldState) -> None:
        """It is the plan the person follows."""
        if self.person:
            state.plans[self.person] = {k: v for k, v in self.data.items() if k not in ("scope", "date", "reason")}


class Intervene(Event, kind="intervene"):
    """A researcher's intervention took effect: ``inject`` (at ``place``), ``whisper`` (to ``person``), ``add_person``."""

    colour = "bold red"
    kind_: str
    text: str = ""

    def describe(self) -> str:
        """Which intervention, and its text."""
        return f"intervention ({self.kind_}): {self.text}"


class ObjectState(Event, kind="object"):
    """An object at ``place`` changed state."""

    colour = "yellow"
    object: str
    state: str | None = None
    by: str = ""

    def describe(self) -> str:
        """The object and its new state."""
        return f"the {self.object} now {self.state}"

    def apply(self, state: WorldState) -> None:
        """The object is in its new state."""
        if self.place and self.object:
            state.set_object(self.place, str(self.object), str(self.state or ""))


class Leave(Event, kind="leave"):
    """A person was removed from the world."""

    colour = "red"
    by: str = ""

    def describe(self) -> str:
        """That they leave."""
        return "leaves the world"

    def apply(self, state: WorldState) -> None:
        """They are no longer anywhere."""
        if self.person:
            state.remove(self.person)


# -- a team's chat chain (docs/teams.md); its lines are ``say`` events carrying the phase ---------------


class ChainStart(Event, kind="chain"):
    """The team took up its task."""

    colour = "bold magenta"
    group = "team"
    task: str = ""
    roles: list[str] = []
    phases: int = 0

    def describe(self) -> str:
        """The task and how many phases."""
        return f"the team takes up its task: {self.task} ({self.phases} phases)"


class Phase(Event, kind="phase"):
    """A phase began: who instructs, who assists (``with``), at most how many replies, in which loop's cycle."""

    colour = "magenta"
    group = "team"
    phase: str = ""
    with_: str = ""
    instructor: str = ""
    assistant: str = ""
    turns: int = 0
    loop: str | None = None
    cycle: int | None = None

    def describe(self) -> str:
        """The phase, its players and its cap."""
        cycle = f", {self.loop} cycle {self.cycle}" if self.loop else ""
        return (
            f"opens {self.phase} with {self.data.get('with')} ({self.instructor} instructs, "
            f"{self.assistant} assists; at most {count(int(self.turns or 0), 'reply')}{cycle})"
        )


class PhaseEnd(Event, kind="phase_end"):
    """A phase ended: after how many replies, why, and its conclusion or the files written."""

    colour = "magenta"
    group = "team"
    phase: str = ""
    with_: str = ""
    replies: int = 0
    reason: str = ""
    conclusion: str = ""
    conclusion_name: str | None = None
    files: list[str] = []
    loop: str | None = None
    cycle: int | None = None
    approved: bool = False

    def describe(self) -> str:
        """The phase, its length, why it ended and what it came to."""
        result = (
            f" → {', '.join(self.files)}"
            if self.files
            else f" → {clip(str(self.conclusion), 120)}"
            if self.conclusion
            else ""
        )
        return f"{self.phase} ends after {count(int(self.replies or 0), 'reply')}: {self.reason}{result}"


class Loop(Event, kind="loop"):
    """A loop began: at most how many cycles, until what."""

    colour = "yellow"
    group = "team"
    loop: str = ""
    cycles: int = 0
    until: str | None = None

    def describe(self) -> str:
        """The loop, its cap and its stop condition."""
        until = f", until {self.until}" if self.until else ""
        return f"loop {self.loop} begins (at most {self.cycles} cycles{until})"


class LoopEnd(Event, kind="loop_end"):
    """A loop ended, after how many cycles, and why."""

    colour = "yellow"
    group = "team"
    loop: str = ""
    cycles: int = 0
    reason: str = ""

    def describe(self) -> str:
        """The loop, its cycles and why it ended."""
        return f"loop {self.loop} ends after {count(int(self.cycles or 0), 'cycle')}: {self.reason}"


class Artifact(Event, kind="artifact"):
    """A team member wrote a version of a file (its text is a row of the ``artifact`` table)."""

    colour = "bold cyan"
    group = "team"
    path: str = ""
    version: int = 0
    phase: str = ""
    role: str = ""
    bytes: int = 0
    lines: int = 0

    def describe(self) -> str:
        """The file, its version and size, and the phase that wrote it."""
        made = f" in {self.phase}" if self.phase else " (the team's starting file)"
        return f"writes {self.path} v{self.version} ({self.lines} lines){made}"


class FileRejected(Event, kind="file_rejected"):
    """A file a reply proposed was not written (its name, escaped, and why); the team's next prompt says so."""

    colour = "red"
    group = "team"
    path: str = ""
    reason: str = ""
    phase: str = ""
    role: str = ""

    def describe(self) -> str:
        """The file and why it was not saved."""
        return f"proposes a file {self.path!r} that is not saved: {self.reason}"


class Sandbox(Event, kind="sandbox"):
    """The team's program ran in the sandbox (exit status, signal, limit hit, output), or could not."""

    colour = "bold yellow"
    group = "team"
    entry: str = ""
    revision: int = 0
    ok: bool = False
    error: str | None = None  # it could not run: no entry file, or the machine's fault
    refused: bool = False  # this machine cannot isolate it
    exit_code: int | None = None
    signal: str | None = None
    limit_hit: str | None = None
    limits_hit: list[str] = []
    isolation: str | None = None
    memory_scope: str | None = None
    notes: list[str] = []
    stdout: str = ""
    stderr: str = ""
    left: dict[str, int] = {}  # the files it left, with their sizes

    def describe(self) -> str:
        """How the run ended."""
        return f"the program runs in the sandbox: {run_outcome(self.data)}"


class ChainEnd(Event, kind="chain_end"):
    """The team finished its chain, with the quality metrics of its program."""

    colour = "bold magenta"
    group = "team"
    task: str = ""
    program: bool = False
    completeness: float | None = None
    executability: float | None = None
    consistency: float | None = None
    quality: float | None = None
    code_files: int = 0
    placeholder_lines: int = 0

    def describe(self) -> str:
        """The program's completeness, executability, consistency and quality."""
        if not self.program:
            return "the team is done (no program written)"
        return (
            f"the team is done: completeness {self.completeness}, executability {self.executability}, "
            f"consistency {self.consistency}, quality {self.quality}"
        )


KINDS = tuple(_CLASSES)
"""Every declared kind, in the glossary's order (a kind declared later, by a plugin, is in ``event_class``)."""


# -- words the sentences share (and ``hamlet show``) --------------------------------------------------


def run_outcome(data: Mapping[str, Any]) -> str:
    """How a program run ended, in a few words."""
    if data.get("ok"):
        return "it ran without error"
    if data.get("error"):
        return f"{'it was not run' if data.get('refused') else 'it could not run'}: {data['error']}"
    how = (
        f"exit status {data.get('exit_code')}"
        if data.get("exit_code") is not None
        else f"killed by {data.get('signal')}"
    )
    limit = f" at the {data['limit_hit']} limit" if data.get("limit_hit") not in (None, "none") else ""
    return f"it failed: {how}{limit}"


def count(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless one: 1 reply, 2 replies."""
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{number} {noun if number == 1 else plural}"


def clip(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

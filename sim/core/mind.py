"""The mind protocol: how the engine wakes a person, shows them the world and takes their decision.

The engine knows minds only through this module; ``agents/`` registers the kinds it provides.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from sim.errors import UserError
from sim.worldfile.bounds import check_parameter

if TYPE_CHECKING:
    from pydantic import BaseModel

    from sim.core.events import Event
    from sim.core.rng import Stream
    from sim.core.world import FixedWorld, World
    from sim.llm.gateway import Gateway
    from sim.worldfile.scenario import PersonSpec, Scenario


@dataclass(frozen=True, slots=True)
class Percept:
    """What a woken person knows of the world at the start of the tick."""

    now: datetime
    place: str | None
    people: tuple[tuple[str, str], ...]
    objects: tuple[tuple[str, str], ...]
    events: tuple[Event, ...] = ()
    reason: str = "due"


# -- actions a decision may contain ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Go:
    """Walk to ``place``; the person is woken again on arrival."""

    place: str
    purpose: str = ""


@dataclass(frozen=True, slots=True)
class Do:
    """Start ``activity`` here (using ``object``) until ``until``."""

    activity: str
    until: datetime
    object: str | None = None


@dataclass(frozen=True, slots=True)
class Say:
    """Say ``text`` to ``to`` (or to whoever is present)."""

    text: str
    to: str | None = None


@dataclass(frozen=True, slots=True)
class Talk:
    """Start a conversation with ``partner`` about ``topic``; both are busy until it ends."""

    partner: str
    topic: str = ""
    max_turns: int = 8


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a conversation: who said what."""

    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class Turn:
    """A speaker's answer in a conversation: the line, and whether they end the conversation."""

    text: str
    end: bool = False


@dataclass(frozen=True, slots=True)
class Note:
    """Record a mind event (``plan`` and the like) with its data."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Action = Go | Do | Say | Talk | Note


def clock_minutes(clock: Any) -> int | None:
    """``HH:MM`` as minutes after midnight, or None when it is not a time."""
    try:
        hours, minutes = str(clock).split(":")
        return int(hours) * 60 + int(minutes)
    except ValueError:
        return None


def plan_spans(plan: Mapping[str, Any] | None) -> list[tuple[int, str]]:
    """A day plan as a ``plan`` note records it, laid out as (start minute, activity) in time order.

    The plan holds ``wake_up``, ``bedtime`` and ``items`` of ``start`` (``HH:MM``) and ``activity``.
    Items are taken by start time (of two with the same start, the later one in the plan); an item
    before waking starts at waking, the first one covers the time from waking, and items from
    bedtime on are dropped. Minds that follow such a plan lay it out with this, and viewers read
    recorded plans with it, so what is shown is what was followed.
    """
    items = (plan or {}).get("items") or []
    wake = clock_minutes((plan or {}).get("wake_up")) or 0
    bed = clock_minutes((plan or {}).get("bedtime")) or 24 * 60
    spans: list[tuple[int, str]] = []
    for start, activity in sorted(
        {clock_minutes(i.get("start")) or 0: str(i.get("activity", "")) for i in items}.items()
    ):
        start = max(start, wake)
        if start >= bed:
            break
        if spans and spans[-1][0] == start:
            spans[-1] = (start, activity)
        else:
            spans.append((start, activity))
    if spans:
        spans[0] = (wake, spans[0][1])
    return spans


@dataclass(slots=True)
class Decision:
    """A mind's answer to a wake-up: actions committed in order, and when to wake it next.

    ``wake`` is ignored when the actions include ``Go`` (the person wakes on arrival);
    ``None`` means sleep until something salient happens. ``reflect``: the mind (a ``Reflector``)
    asks to reflect after this decision, in a unit of its own a second later; what it forms
    is the person's from their next unit on, and gates no one else.
    """

    actions: list[Action] = field(default_factory=list)
    wake: datetime | None = None
    reflect: bool = False


@dataclass(slots=True)
class MindContext:
    """What a mind may use: the scenario, the world's fixed parts, the LLM gateway and its random stream.

    A person's mind gets a ``FixedWorld`` (graph and routes): what changes reaches it only in its
    percept. A team's chain, which the engine runs in order, gets the ``World`` itself.

    ``memories`` is the person's outbox of memory rows, written with the tick that formed them;
    ``recorded`` holds the rows already in the run file when a run is resumed.
    """

    scenario: Scenario
    world: World | FixedWorld
    gateway: Gateway
    rng: Stream
    params: dict[str, Any]
    memories: list[dict[str, Any]] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)


class Mind(Protocol):
    """Decides for one person; its whole state can be saved to and loaded from JSON."""

    async def decide(self, percept: Percept) -> Decision:
        """Choose what to do now; may ask the LLM gateway."""
        ...

    def notices(self, event: Event) -> bool:
        """Whether a perceived event is salient enough to wake the person.

        It must read no state a decision changes: it is asked while the person may be deciding ahead.
        """
        ...

    def state(self) -> dict[str, Any]:
        """The mind's state as JSON-ready data (for snapshots)."""
        ...

    def restore(self, state: dict[str, Any]) -> None:
        """Load state saved by ``state``."""
        ...


@runtime_checkable
class Reflector(Protocol):
    """A mind that reflects after a decision that asked to (``Decision.reflect``; an optional capability)."""

    async def reflect(self, now: datetime) -> None:
        """Think over what has happened and keep what it adds up to; nobody else waits for it."""
        ...


@runtime_checkable
class Listener(Protocol):
    """A mind that keeps some events it perceives without being woken by them (an optional capability).

    An event within earshot that the mind does not ``notices`` but ``hears`` (a line said to
    someone else) waits in its inbox and reaches it in the next percept's ``events``.
    """

    def hears(self, event: Event) -> bool:
        """Whether a perceived event not worth waking for is kept for the next wake (reading no state, as ``notices``)."""
        ...


@runtime_checkable
class Talker(Protocol):
    """A mind that can hold conversations (an optional capability beside ``Mind``)."""

    async def speak(self, partner: str, topic: str, lines: list[Line], now: datetime) -> Turn:
        """Say the next line of a conversation with ``partner``."""
        ...

    async def remember_conversation(self, partner: str, topic: str, lines: list[Line], now: datetime) -> None:
        """Keep what was said and learned once the conversation is over."""
        ...


@runtime_checkable
class Preparer(Protocol):
    """A talker that readies itself for a conversation before its first line (an optional capability).

    Both people of a conversation prepare at once, so what is prepared must not depend on what is
    said; it is the first thing each does in the conversation, whoever speaks first.
    """

    async def prepare(self, partner: str, now: datetime) -> None:
        """Get ready to talk with ``partner``."""
        ...


@runtime_checkable
class Interviewee(Protocol):
    """A mind that can answer questions from its memories as of a simulated second."""

    async def answer(self, question: str, at: int, form: type[BaseModel] | None = None) -> str:
        """Answer ``question`` from memories formed by second ``at``, changing none of them.

        With ``form`` (a probe's structured answer), the reply is that schema's JSON, or "" if the
        model gave no valid one.
        """
        ...


@dataclass(slots=True, frozen=True)
class Recalled:
    """One memory's retrieval scores for a query: each component normalised to 0–1, and the weighted total."""

    id: int
    kind: str
    text: str
    created: int
    importance: float
    recency: float
    importance_score: float
    relevance: float
    total: float


class Introspection(Protocol):
    """What a viewer may read of a recorded person of one mind kind without importing the mind.

    Registered per kind with ``register_introspection``; it works from the run file's rows and
    snapshots, so it answers for any recorded moment, not only for a mind in memory.
    """

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The kind's parameters as a run used them: its defaults, then the world's and the run's ``params``."""
        ...

    def recall(
        self,
        rows: list[dict[str, Any]],
        state: dict[str, Any],
        query: str,
        now: int,
        params: dict[str, Any],
        k: int = 20,
    ) -> list[Recalled]:
        """The ``k`` memories of ``rows`` (one person's rows, in id order) the mind would recall for ``query``
        at second ``now``, with the access times of ``state`` (its saved state then), touching none."""
        ...


_INTROSPECTION: dict[str, Introspection] = {}


def register_introspection(kind: str, introspection: Introspection) -> None:
    """Let viewers read recorded persons of mind ``kind`` through ``introspection``."""
    _INTROSPECTION[kind] = introspection


def introspection(kind: str) -> Introspection | None:
    """How to read a recorded person of mind ``kind``, or None when that kind keeps nothing to read."""
    load_minds()
    return _INTROSPECTION.get(kind)


def load_minds() -> None:
    """Import what registers Hamlet's minds (``agents``) and teams (``sim.teams.plugin``): the one place they are named."""
    importlib.import_module("agents")
    importlib.import_module("sim.teams.plugin")


@dataclass(slots=True)
class Step:
    """What a team's chain did in one tick: events to log in order, file versions written, when it goes on.

    ``artifacts`` rows hold ``path``, ``version``, ``phase``, ``role``, ``person`` and ``content``;
    ``after`` is the simulated seconds until the next step, or None when the chain is over.
    """

    events: list[Event] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    after: int | None = None


class Chain(Protocol):
    """A team's chat chain, which the engine runs one step (one reply, or one program run) per tick."""

    async def step(self, minds: Mapping[str, Mind], now: datetime) -> Step:
        """Take the chain's next step; the role players' minds are in ``minds``."""
        ...

    def state(self) -> dict[str, Any]:
        """The chain's state as JSON-ready data (for snapshots)."""
        ...

    def restore(self, state: dict[str, Any]) -> None:
        """Load state saved by ``state``."""
        ...


ChainFactory = Callable[["Scenario", MindContext], Chain]
_CHAIN: list[tuple[ChainFactory, Callable[[Scenario], None] | None]] = []


def register_chain(factory: ChainFactory, check: Callable[[Scenario], None] | None = None) -> None:
    """Make worlds with a ``team`` runnable: ``factory`` builds their chain, ``check`` refuses unrunnable ones."""
    _CHAIN[:] = [(factory, check)]


def chain_factory() -> ChainFactory:
    """The registered chain factory, or a clear error when none is."""
    if not _CHAIN:
        raise UserError("team: this Hamlet has no chat chain registered (import agents first)")
    return _CHAIN[0][0]


MindFactory = Callable[["PersonSpec", MindContext], Mind]
_REGISTRY: dict[str, MindFactory] = {}
# mind kind -> its parameters and their defaults, for checking ``minds:`` in world files
_PARAMS: dict[str, dict[str, Any]] = {}
# mind kind -> a check of a parameter set that raises ValueError saying what is wrong
_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {}


def register_mind(
    kind: str,
    factory: MindFactory,
    params: dict[str, Any] | None = None,
    check: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Make ``kind`` usable as a person's ``mind`` in scenarios, with its parameters' defaults."""
    _REGISTRY[kind] = factory
    _PARAMS[kind] = dict(params or {})
    if check is not None:
        _CHECKS[kind] = check


def check_minds(scenario: Scenario) -> None:
    """Check every mind a world names exists, every ``minds:`` parameter is one it takes, and its team can run."""
    load_minds()  # a run started from Python (not the CLI) finds the bundled minds too
    people = [(f"people[{i}]", p) for i, p in enumerate(scenario.people)]
    people += [(f"interventions[{i}].spec", iv.spec) for i, iv in enumerate(scenario.interventions) if iv.spec]
    for where, person in people:
        kind = scenario.mind_of(person)
        if kind not in _REGISTRY:
            where = f"{where}.mind" if person.mind else "mind"
            raise UserError(f"{where}: unknown mind {kind!r}; known minds: {', '.join(known_minds())}")
    for kind, params in scenario.minds.items():
        if kind not in _REGISTRY:
            raise UserError(f"minds.{kind}: unknown mind {kind!r}; known minds: {', '.join(known_minds())}")
        unknown = sorted(set(params) - set(_PARAMS[kind]))
        if unknown:
            taken = ", ".join(sorted(_PARAMS[kind])) or "none"
            raise UserError(f"minds.{kind}.{unknown[0]}: unknown parameter; {kind} takes: {taken}")
        for name, value in params.items():
            try:
                check_parameter(f"minds.{kind}.{name}", value, _PARAMS[kind][name])
            except ValueError as err:
                raise UserError(str(err)) from None
        if kind in _CHECKS:
            try:
                _CHECKS[kind](params)
            except UserError:
                raise
            except (ValueError, TypeError) as err:
                raise UserError(f"minds.{kind}: {err}") from None
    if scenario.team is not None:
        chain_factory()
        check = _CHAIN[0][1]
        if check is not None:
            check(scenario)


def apply_settings(scenario: Scenario, settings: list[str]) -> None:
    """Apply ``--set KEY=VALUE`` overrides to ``scenario.minds``.

    ``KEY`` is a parameter name (set for every mind kind that takes it, e.g. ``reflection=off``)
    or ``KIND.NAME`` for one kind. Values ``on``/``off``/``true``/``false`` are booleans and
    numbers are numbers; anything else stays text. ``mind=KIND`` changes the world's mind, the
    one every person who names none runs.
    """
    for setting in settings:
        key, sep, raw = setting.partition("=")
        if not sep or not key:
            raise UserError(f"--set {setting!r}: write it as KEY=VALUE, e.g. --set reflection=off")
        if key == "mind":
            scenario.mind = raw.strip()
            continue
        kinds, _, name = key.rpartition(".")
        targets = [kinds] if kinds else [k for k, params in _PARAMS.items() if name in params]
        for kind in targets:
            if kind not in _PARAMS or name not in _PARAMS[kind]:
                known = sorted({p for params in _PARAMS.values() for p in params})
                raise UserError(f"--set {setting!r}: no mind takes {key!r}; parameters: {', '.join(known)}")
        if not targets:
            known = sorted({p for params in _PARAMS.values() for p in params})
            raise UserError(f"--set {setting!r}: no mind takes {name!r}; parameters: {', '.join(known)}")
        value = _value(raw)
        for kind in targets:
            if isinstance(_PARAMS[kind][name], bool) and not isinstance(value, bool):
                raise UserError(f"--set {setting!r}: {name} is a switch; write {name}=on or {name}=off")
            scenario.minds.setdefault(kind, {})[name] = value


def _value(raw: str) -> Any:
    lowered = raw.strip().lower()
    if lowered in ("on", "true", "yes"):
        return True
    if lowered in ("off", "false", "no"):
        return False
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def taking(parameter: str) -> list[str]:
    """The mind kinds that take ``parameter``."""
    return sorted(kind for kind, params in _PARAMS.items() if parameter in params)


def mind_factory(kind: str, person: str = "") -> MindFactory:
    """The factory for ``kind``, or a clear error naming the known kinds."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        who = f"{person}: " if person else ""
        raise UserError(f"{who}unknown mind {kind!r}; known minds: {known}") from None


def known_minds() -> list[str]:
    """The registered mind kinds."""
    return sorted(_REGISTRY)

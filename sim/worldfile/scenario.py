"""The scenario: a world's places, people, model settings and interventions, loaded from YAML."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.core.simtime import parse_clock, parse_datetime, parse_time
from sim.errors import UserError
from sim.teams.schema import TAGS, TeamSpec, check_team
from sim.worldfile.bounds import (
    MAX_HOURS,
    MAX_TEXT_CHARS,
    Hours,
    InnerMinutes,
    Seed,
    SnapshotMinutes,
    WalkMinutes,
)
from sim.worldfile.names import match_person, suggestion
from sim.worldfile.spec import ModelSettings, ScenarioReferenceError, Spec, WorldModelSettings, shorthand

FORMAT_VERSION = 1


class ObjectSpec(Spec):
    """A thing in an area that people use (a bed, an oven); its state can change."""

    name: str = Field(min_length=1, description="the object's name, unique in its area (routines name it)")
    state: str = Field("idle", description="its state at the start, as people see it (idle, in use, broken, ...)")

    @field_validator("state", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        # YAML 1.1 reads unquoted on/off/yes/no as booleans.
        return ("on" if value else "off") if isinstance(value, bool) else value


class AreaSpec(Spec):
    """A room or spot inside a sector; the unit of location and perception."""

    name: str = Field(
        min_length=1, description="the area's name, unique in its sector; written 'Sector:Area' elsewhere"
    )
    description: str = Field("", description="what the area is, as people perceive it")
    objects: list[ObjectSpec] = Field([], description="the things in it: names, or mappings with name and state")

    @field_validator("objects", mode="before")
    @classmethod
    def _object_shorthand(cls, value: Any) -> Any:
        # Authors may list objects by name alone: objects: [bed, desk].
        return shorthand(value, "name")


class SectorSpec(Spec):
    """A building or district grouping areas; its first area is its entrance."""

    name: str = Field(min_length=1, description="the sector's name, unique in the world; may not contain ':'")
    kind: str = Field("", description="what sort of place it is (home, cafe, shop, ...), as people perceive it")
    areas: list[AreaSpec] = Field(min_length=1, description="its rooms or spots; the first is its entrance")
    inner_minutes: InnerMinutes = Field(1.0, description="minutes to walk between two of its areas (at most a week)")


class LinkSpec(Spec):
    """A path between two places (sectors or areas) taking ``minutes`` to walk."""

    between: tuple[str, str] = Field(description="the two places it joins: sectors, 'Sector:Area' or area names")
    minutes: WalkMinutes = Field(description="minutes to walk it: more than 0, at most a week (10080)")


class Relationship(Spec):
    """How a person sees another person."""

    name: str = Field(description="the other person: a name in people (any case, or a unique first name)")
    relation: str = Field(description="who they are to this person, in words (my daughter, an old friend, ...)")


class RoutineItem(Spec):
    """One entry of a daily routine: from ``at`` on, do ``do`` at ``place`` (and ``object``)."""

    at: str = Field(description="the time of day it starts, HH:MM")
    do: str = Field(min_length=1, description="what the person does, in words (sleeps, bakes bread, ...)")
    place: str | None = Field(None, description="where; omitted means stay, 'free' lets the day plan choose")
    object: str | None = Field(None, description="the object of that place they use, if any")

    @field_validator("at", mode="before")
    @classmethod
    def _clock(cls, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
            # YAML 1.1 reads an unquoted 16:00 as the base-60 integer 960.
            value = f"{value // 60:02d}:{value % 60:02d}"
        parse_clock(str(value))
        return str(value)

    @property
    def minute(self) -> int:
        """Minutes after midnight at which the item starts."""
        return parse_clock(self.at)


class PersonSpec(Spec):
    """A person: persona, home, relationships, initial memories, routine and the mind they run."""

    name: str = Field(min_length=1, description="the person's full name, unique in the world")
    age: int = Field(30, ge=0, le=150, description="age in years (0 to 150)")
    traits: list[str] = Field([], description="innate traits in a word or two each (kind, curious, ...)")
    occupation: str = Field("", description="what the person does for a living")
    lifestyle: str = Field("", description="their habits in a sentence (goes to bed around 22:00, ...)")
    home: str = Field(description="the place the person lives (a sector or 'Sector:Area')")
    start: str | None = Field(None, description="where the person is at the start; default home")
    relationships: list[Relationship] = Field([], description="how the person sees others (one way: write both sides)")
    memories: list[str] = Field([], description="what the person remembers at the start, a sentence each")
    routine: list[RoutineItem] = Field([], description="their ordinary day: items from a time of day on")
    mind: str | None = Field(None, description="the mind this person runs; default: the world's mind")
    model: ModelSettings | None = Field(None, description="model settings of this person's calls, over the world's")

    @field_validator("routine")
    @classmethod
    def _sorted(cls, value: list[RoutineItem]) -> list[RoutineItem]:
        return sorted(value, key=lambda item: item.minute)


class FactSpec(Spec):
    """A named piece of news whose spread researchers follow (detected by its keywords).

    A fact may announce a gathering (``place``, ``starts``, ``ends``): coordination metrics
    count who came to it.
    """

    name: str = Field(min_length=1, description="the fact's name, unique in the world (metrics name it)")
    text: str = Field(min_length=1, description="the news in a sentence, as it is seeded and probed")
    keywords: list[str] = Field([], description="words that mark a mention of it (any one, as whole words, any case)")
    paraphrases: list[str] = Field(
        [],
        description="phrasings of the news itself, each matched as whole words; "
        "someone else's activity must carry one of these to count",
    )
    excludes: list[str] = Field(
        [],
        description="phrases in which a keyword means something else "
        '("search party", "birthday party"): a keyword inside one does not count',
    )
    seeded_to: list[str] = Field([], description="people who know it at the start")
    question: str | None = Field(None, description="what an interview probe asks to confirm someone knows it")
    place: str | None = Field(None, description="where the gathering it announces happens")
    starts: str | None = Field(None, description="when that gathering starts (TIME)")
    ends: str | None = Field(None, description="when that gathering ends (TIME)")

    @field_validator("starts", "ends", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return value.isoformat() if isinstance(value, datetime) else value

    @field_validator("keywords", "paraphrases", "excludes")
    @classmethod
    def _phrases(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # An empty list or an empty phrase would silently match nothing (or, before, everything).
        if not value:
            raise ValueError(f"empty list; give at least one phrase, or leave {info.field_name} out")
        for phrase in value:
            if not any(ch.isalnum() for ch in phrase):
                raise ValueError(f"{phrase!r} has no word; every entry must be a word or phrase")
        return value

    def marks(self) -> list[str]:
        """The cues that mark the fact: its keywords and paraphrases, or its whole text if it has neither."""
        return [*self.keywords, *self.paraphrases] or [self.text]

    def probe(self) -> str:
        """The interview question that asks whether someone knows the fact."""
        if self.question:
            return self.question
        return (
            f"Have you heard anything about {' or '.join(self.keywords[:2])}?"
            if self.keywords
            else "What news have you heard lately?"
        )


class InterventionSpec(Spec):
    """A researcher's change at a simulated time: inject, whisper, set_object, add or remove a person."""

    at: str = Field(description="ISO 8601 time or offset from the start such as +2h")
    kind: Literal["inject", "whisper", "set_object", "add_person", "remove_person"] = Field(
        description="what happens: inject (an event at a place), whisper (to a person), set_object, add_person, "
        "remove_person"
    )
    place: str | None = Field(None, description="where (inject, set_object): a sector, 'Sector:Area' or an area name")
    person: str | None = Field(None, description="who is whispered to or removed (whisper, remove_person)")
    text: str | None = Field(
        None, max_length=MAX_TEXT_CHARS, description="what is injected or whispered (at most 4,000 characters)"
    )
    object: str | None = Field(None, description="the object whose state changes (set_object)")
    state: str | None = Field(None, max_length=MAX_TEXT_CHARS, description="the object's new state (set_object)")
    spec: PersonSpec | None = Field(None, description="the person to add (add_person)")

    @field_validator("at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(
                f"{value!r} is not a time; write an offset such as +2h or an ISO time such as 2026-02-13T14:00"
            )
        return value

    @field_validator("state", mode="before")
    @classmethod
    def _yaml_booleans(cls, value: Any) -> Any:
        return ("on" if value else "off") if isinstance(value, bool) else value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> InterventionSpec:
        needed = {
            "inject": ("place", "text"),
            "whisper": ("person", "text"),
            "set_object": ("place", "object", "state"),
            "add_person": ("spec",),
            "remove_person": ("person",),
        }[self.kind]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            article = "an" if self.kind[0] in "aeiou" else "a"
            raise ValueError(f"{article} {self.kind} intervention needs {', '.join(missing)}")
        return self


class Scenario(Spec):
    """A whole world file: the single input of a run."""

    hamlet: int = Field(FORMAT_VERSION, ge=1, description="scenario format version")
    name: str = Field(min_length=1, description="the world's name, in run file names and outputs")
    description: str = Field("", description="what the world is, in a sentence or two")
    start: datetime
    hours: Hours = Field(24.0, description=f"default simulated span of a run (more than 0, at most {MAX_HOURS})")
    seed: Seed = Field(0, description="run seed: a whole number from 0 to 2**63-1")
    snapshot_minutes: SnapshotMinutes = Field(60.0, description="simulated minutes between snapshots (at least 1)")
    model: WorldModelSettings = Field(
        WorldModelSettings(),
        description="model settings of every call, unless a "
        "person or role has its own; command-line options override them",
    )
    mind: str = Field("schedule", description="the mind of every person who names none (generative, schedule, ...)")
    minds: dict[str, dict[str, Any]] = Field({}, description="parameters per mind kind")
    sectors: list[SectorSpec] = Field(min_length=1, description="the places: buildings or districts and their areas")
    links: list[LinkSpec] = Field([], description="the paths between sectors (or areas), with their walking minutes")
    people: list[PersonSpec] = Field(min_length=1, description="everyone in the world at the start")
    facts: list[FactSpec] = Field([], description="pieces of news whose spread the metrics follow")
    interventions: list[InterventionSpec] = Field([], description="changes a researcher makes at set times")
    team: TeamSpec | None = Field(None, description="roles and the chat chain they work through (docs/teams.md)")
    # (the sectors list it was made from, every reference naming one area -> that area's id)
    _places: tuple[list[SectorSpec], dict[str, str]] | None = PrivateAttr(default=None)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> datetime:
        return parse_datetime(value)

    @field_validator("hamlet")
    @classmethod
    def _version(cls, value: int) -> int:
        if value > FORMAT_VERSION:
            raise ValueError(
                f"format version {value} is newer than this Hamlet reads ({FORMAT_VERSION}); upgrade Hamlet"
            )
        return value

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        check_span(self.start, self.hours, "hours")
        check_references(self)
        return self

    # -- places -------------------------------------------------------------------------

    def area_ids(self) -> list[str]:
        """Every area's id, ``Sector:Area``, in file order."""
        return [f"{sector.name}:{area.name}" for sector in self.sectors for area in sector.areas]

    def resolve_place(self, ref: str) -> str:
        """Turn a place reference (sector, ``Sector:Area`` or a unique area name) into an area id."""
        return _resolve(self, ref)

    def objects_in(self, area_id: str) -> list[str]:
        """The names of the objects in area ``area_id`` (the same all run: interventions change states, not the set)."""
        return _objects_of(self, area_id)

    def mind_of(self, person: PersonSpec) -> str:
        """The mind kind ``person`` runs: their own, or the world's."""
        return person.mind or self.mind

    def person_names(self) -> set[str]:
        """The names of the people the world starts with."""
        return {person.name for person in self.people}

    def person(self, name: str) -> PersonSpec:
        """The person called ``name``."""
        for person in self.people:
            if person.name == name:
                return person
        raise KeyError(name)


def check_span(start: datetime, hours: float, where: str) -> None:
    """Refuse a run shorter than a second, or whose end (``hours`` after ``start``) no calendar holds."""
    if hours * 3600 < 1:
        raise ScenarioReferenceError(where, f"{hours:g} hours is shorter than one simulated second; give a longer run")
    try:
        start + timedelta(hours=hours)
    except OverflowError:
        raise ScenarioReferenceError(
            where, f"{hours:g} hours after {start.isoformat()} is past the year 9999; shorten the run or move start"
        ) from None


def _place_index(scenario: Scenario) -> dict[str, str]:
    """Every reference that names exactly one area, mapped to its id; made once per sectors list
    (sectors are not changed in place once the scenario is validated)."""
    cached = scenario._places
    if cached is not None and cached[0] is scenario.sectors:
        return cached[1]
    ids = scenario.area_ids()
    entrances = {s.name: f"{s.name}:{s.areas[0].name}" for s in scenario.sectors}
    by_area: dict[str, list[str]] = {}
    for area_id in ids:
        by_area.setdefault(area_id.split(":", 1)[1], []).append(area_id)
    index: dict[str, str] = {}
    for ref in {*entrances, *by_area}:
        by_sector = [entrances[ref]] if ref in entrances else []
        matches = by_sector + [a for a in by_area.get(ref, []) if a not in by_sector]
        if len(matches) == 1:
            index[ref] = matches[0]
    index.update((area_id, area_id) for area_id in ids)
    scenario._places = (scenario.sectors, index)
    return index


def _resolve(scenario: Scenario, ref: str) -> str:
    hit = _place_index(scenario).get(ref)
    if hit is not None:
        return hit
    # Not a reference to exactly one area: the scan below says why, in the words users see.
    ids = scenario.area_ids()
    if ref in ids:
        return ref
    by_sector = [f"{s.name}:{s.areas[0].name}" for s in scenario.sectors if s.name == ref]
    by_area = [area_id for area_id in ids if area_id.split(":", 1)[1] == ref]
    matches = by_sector + [a for a in by_area if a not in by_sector]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ValueError(f"place {ref!r} is ambiguous: write one of {', '.join(matches)}")
    hint = (
        suggestion(ref, ids + [sector.name for sector in scenario.sectors])
        or "; it must name a sector or 'Sector:Area'"
    )
    raise ValueError(f"unknown place {ref!r}{hint}")


def _objects_of(scenario: Scenario, area_id: str) -> list[str]:
    sector_name, area_name = area_id.split(":", 1)
    for sector in scenario.sectors:
        if sector.name == sector_name:
            for area in sector.areas:
                if area.name == area_name:
                    return [obj.name for obj in area.objects]
    return []


def check_references(scenario: Scenario) -> None:
    """Check names are unique and every place, person and object referenced exists and is reachable.

    A person named in another case or by a unique first name is written back as their full name, so
    everything after this check compares names exactly.
    """
    _check_names(scenario)
    names = {p.name for p in scenario.people}

    def place(where: str, ref: str) -> str:
        try:
            return _resolve(scenario, ref)
        except ValueError as err:
            raise ScenarioReferenceError(where, str(err)) from None

    for i, link in enumerate(scenario.links):
        ends = [place(f"links[{i}].between", end) for end in link.between]
        if ends[0] == ends[1]:
            raise ScenarioReferenceError(
                f"links[{i}].between",
                f"{link.between[0]!r} and {link.between[1]!r} are the "
                f"same place ({ends[0]}); a link joins two different places",
            )
    for i, person in enumerate(scenario.people):
        _check_person(scenario, person, f"people[{i}]", names, place)
    _unique([f.name for f in scenario.facts], "facts", "fact")
    for i, fact in enumerate(scenario.facts):
        fact.seeded_to = [_person(f"facts[{i}].seeded_to", who, names) for who in fact.seeded_to]
        _check_gathering(scenario, fact, f"facts[{i}]", place)
    added = {iv.spec.name for iv in scenario.interventions if iv.spec is not None}
    for i, iv in enumerate(scenario.interventions):
        _check_intervention(scenario, iv, f"interventions[{i}]", names, added, place)
    if scenario.team is not None:
        check_team(scenario.team, names)
    _check_connected(scenario)


def _check_names(scenario: Scenario) -> None:
    """Sectors, areas, objects and people have unique names, and no sector or area name holds ':'."""
    _unique([s.name for s in scenario.sectors], "sectors", "sector")
    for i, sector in enumerate(scenario.sectors):
        _unique([a.name for a in sector.areas], f"sectors[{i}].areas", "area")
        for j, area in enumerate(sector.areas):
            _unique([o.name for o in area.objects], f"sectors[{i}].areas[{j}].objects", "object")
            if ":" in area.name:
                raise ScenarioReferenceError(f"sectors[{i}].areas[{j}].name", f"{area.name!r} may not contain ':'")
        if ":" in sector.name:
            raise ScenarioReferenceError(f"sectors[{i}].name", f"{sector.name!r} may not contain ':'")
    _unique([p.name for p in scenario.people], "people", "person")


def _check_intervention(
    scenario: Scenario, iv: InterventionSpec, where: str, names: set[str], added: set[str], place: Any
) -> None:
    """An intervention's time is a time from the start on; its place, object, person and new person exist or fit."""
    try:
        when = parse_time(iv.at, scenario.start)
    except UserError as err:
        raise ScenarioReferenceError(f"{where}.at", str(err)) from None
    if when < scenario.start:
        raise ScenarioReferenceError(f"{where}.at", f"{iv.at} is before the world's start {scenario.start}")
    if iv.place is not None:
        area_id = place(f"{where}.place", iv.place)
        if iv.object is not None and iv.object not in _objects_of(scenario, area_id):
            raise ScenarioReferenceError(f"{where}.object", f"no object {iv.object!r} in {area_id}")
    if iv.person is not None:
        iv.person = _person(f"{where}.person", iv.person, names | added)
    if iv.spec is not None:
        if iv.spec.name in names:
            raise ScenarioReferenceError(f"{where}.spec.name", f"{iv.spec.name!r} is already in the world")
        _check_person(scenario, iv.spec, f"{where}.spec", names | added, place)


def _check_gathering(scenario: Scenario, fact: FactSpec, where: str, place: Any) -> None:
    """A fact's gathering names a place and a start and an end in order, or none of them."""
    given = [name for name in ("place", "starts", "ends") if getattr(fact, name) is not None]
    if not given:
        return
    missing = [name for name in ("place", "starts", "ends") if name not in given]
    if missing:
        raise ScenarioReferenceError(f"{where}.{missing[0]}", "a gathering needs place, starts and ends together")
    place(f"{where}.place", fact.place)
    times = []
    for name in ("starts", "ends"):
        try:
            times.append(parse_time(str(getattr(fact, name)), scenario.start))
        except UserError as err:
            raise ScenarioReferenceError(f"{where}.{name}", str(err)) from None
    if times[1] <= times[0]:
        raise ScenarioReferenceError(f"{where}.ends", f"{fact.ends} is not after starts {fact.starts}")


def _check_person(scenario: Scenario, person: PersonSpec, where: str, names: set[str], place: Any) -> None:
    place(f"{where}.home", person.home)
    if person.start is not None:
        place(f"{where}.start", person.start)
    for k, rel in enumerate(person.relationships):
        rel.name = _person(f"{where}.relationships[{k}].name", rel.name, names)
    for k, item in enumerate(person.routine):
        if item.place is None or item.place == "free":
            continue
        area = place(f"{where}.routine[{k}].place", item.place)
        if item.object is not None and item.object not in _objects_of(scenario, area):
            raise ScenarioReferenceError(
                f"{where}.routine[{k}].object",
                f"no object {item.object!r} in {area}; objects there: {', '.join(_objects_of(scenario, area)) or 'none'}",
            )


def _person(where: str, name: str, names: set[str]) -> str:
    """The full name of the person ``name`` means (see ``match_person``), else one line at ``where``."""
    try:
        return match_person(name, sorted(names))
    except ValueError as err:
        raise ScenarioReferenceError(where, str(err)) from None


def _unique(names: list[str], where: str, noun: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise ScenarioReferenceError(
                f"{where}[{index}].name", f"duplicate {noun} name {name!r}; names must be unique"
            )
        seen.add(name)


def _check_connected(scenario: Scenario) -> None:
    import networkx as nx

    from sim.core.world import place_graph  # local import: world depends on this module

    graph = place_graph(scenario)
    if nx.is_connected(graph):
        return
    parts = sorted(nx.connected_components(graph), key=len, reverse=True)
    stray = sorted(parts[1])[0]
    raise ScenarioReferenceError(
        "links",
        f"place {stray!r} cannot be reached from {sorted(parts[0])[0]!r}; add a link between their sectors",
    )


# -- loading ------------------------------------------------------------------------------


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a world file; any problem becomes one ``UserError`` line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; give the path of a world file such as worlds/two_rooms.yaml") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder; give the path of a world file (.yaml)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot be read ({err})") from None
    return parse_scenario(text, str(path))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; ``source`` names it in error messages."""
    try:
        # libyaml's parser when PyYAML has it: the same documents, about 10x faster on big worlds
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise UserError(f"{source}:{where}: invalid YAML: {problem}") from None
    if data is None:
        raise UserError(f"{source}: the file is empty; a world needs at least name, start, sectors and people")
    if not isinstance(data, dict):
        raise UserError(
            f"{source}: the top level is a {type(data).__name__}, expected a mapping of keys "
            "(name:, start:, sectors:, people:)"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise UserError(f"{source}: {describe_validation_error(err, data)}") from None


def describe_validation_error(err: ValidationError, data: Any) -> str:
    """Turn pydantic's error list into one line: field path, the value, and what to do."""
    errors = err.errors()
    first = errors[0]
    loc = [part for part in first["loc"] if part not in ("function-after", "function-before", *TAGS)]
    message = first["msg"]
    if first["type"] == "value_error":
        message = message.removeprefix("Value error, ")
        ref = first.get("ctx", {}).get("error")
        if isinstance(ref, ScenarioReferenceError):
            return f"{ref.where}: {ref.message}" + _more(errors)
    path = _path(loc)
    value = _lookup(data, loc)
    shown = "" if value is _MISSING else f" (got {_short(value)})"
    if first["type"] == "missing":
        message = "missing; this field is required"
    elif first["type"] == "extra_forbidden":
        message = "unknown field; check its spelling (hamlet schema lists every field)"
    elif first["type"] in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        expected = "a list" if first["type"] == "list_type" else "a mapping"
        message = f"expected {expected}"
    return f"{path or 'top level'}: {message}{shown}" + _more(errors)


_MISSING = object()


def _lookup(data: Any, loc: list[Any]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return data


def _path(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _more(errors: list[Any]) -> str:
    return f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of world files, for editors that validate YAML."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Hamlet world"
    # What the validators accept beyond the declared types: objects by name alone, times
    # without seconds, and unquoted HH:MM that YAML 1.1 reads as numbers.
    defs = schema["$defs"]
    defs["AreaSpec"]["properties"]["objects"]["items"] = {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/ObjectSpec"}]}
    defs["WorldModelSettings"]["properties"]["endpoints"]["items"] = {  # a server's URL alone, too
        "anyOf": [{"type": "string"}, {"$ref": "#/$defs/EndpointSpec"}]
    }
    schema["properties"]["start"] = {
        "type": "string",
        "title": "Start",
        "pattern": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}",
        "description": "ISO 8601 simulated start time, e.g. 2026-02-13T06:00",
    }
    defs["RoutineItem"]["properties"]["at"] = {
        "anyOf": [{"type": "string", "pattern": r"^\d{1,2}:\d{2}$"}, {"type": "integer"}],
        "title": "At",
        "description": "the time of day it starts, HH:MM",
    }
    return schema

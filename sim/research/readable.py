"""Whether a run reads like a town: sentences, plans spread over the day, each household's things kept to it.

These check the model's output, not what emerged: on the embedded 135M model they say whether
the grammar and the schemas kept it on the rails (issue #18, docs/benchmarks.md).

**Sentences.**
A small model bound by a grammar can still write text nobody would say: JSON fragments ("}, {",
"]["), the answer schema's own words ("Activity", "Minutes", "talk_to"), its descriptions echoed
("One line of a conversation and whether the speaker ends it."), numbers ("12345", "05:31"),
single words ("Danceable"). ``well_formed`` tells those from text a person could have written;
``texts`` gathers the texts a run's people wrote: lines said (``say``), activities begun
(``act``, less the ones the engine names itself) and plan items (``plan``). The rule is
validated on a labelled set (tests/sim/research/sentence_cases.py; ``benchmarks/bench_measures.py``
reports its precision and recall): it catches fragments, schema words and echoes, not nonsense
made of real words ("Bed Life"), so it bounds the share of readable text from above.

**Plans spread over the day.** ``plan_spread``: how much of the waking day a plan's items cover,
from the first item's start to the last one's, as ``sim.core.mind.plan_spans`` lays them out.

**Households.** ``foreign_uses``: actions taken in an area that is another household's home
(``home: "Canal Lofts:Priya's flat"`` is Priya's; a house named whole is its household's).
"""

from __future__ import annotations

import functools
import re
import statistics
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.core.events import Act, Plan, Say
from sim.core.mind import clock_minutes, load_minds, plan_spans
from sim.runfile.reader import RunReader
from sim.worldfile.scenario import Scenario, parse_scenario

FRAGMENT = re.compile(r"[{}\[\]<>\"`\\|=_#@$%^*~]|```|\bjson\b|\bschema\b", re.IGNORECASE)
"""Characters and words of JSON, markup or the schema: never in a line a person says or an activity."""
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_DIGITS = re.compile(r"\d")
_MIXED = re.compile(r"[A-Za-z][\-_.]?\d|\d[\-_.]?(?!(?:am|pm|st|nd|rd|th|s)\b)[A-Za-z]")
"""Letters and digits run together ("Activity2", "halal-14keli"), except times and ordinals ("5pm", "3rd")."""
SCHEMA_WORDS = frozenset(
    {
        "activity",
        "activities",
        "minutes",
        "minute",
        "steps",
        "step",
        "place",
        "object",
        "items",
        "item",
        "start",
        "line",
        "end",
        "summary",
        "learned",
        "importance",
        "react",
        "why",
        "talk",
        "to",
        "topic",
        "reaction",
        "reason",
        "core",
        "occupation",
        "feeling",
        "questions",
        "question",
        "insights",
        "insight",
        "because",
        "text",
        "scores",
        "score",
        "hours",
        "hour",
        "bedtime",
        "answer",
        "mood",
        "intentions",
        "none",
        "nobody",
        "string",
        "integer",
        "number",
        "array",
        "boolean",
        "true",
        "false",
        "null",
        "title",
        "description",
        "properties",
        "required",
        "type",
        "enum",
        "example",
        "activity1",
    }
)
"""The words the answer schemas are made of (field names, titles, JSON types): a text of only these is the schema echoed."""
FILLER = frozenset({"a", "an", "the", "of", "and", "or", "in", "at", "on", "for", "with", "my", "your", "is"})
ENGINE_ACTIVITIES = frozenset({"sleeping"})
"""Activities the minds set without the model (an ``act`` of these is not the model's text)."""


LONGEST_WORD = 20
"""Letters in a word beyond which it is made up ("dafriyajidadekapoludulirra"); English rarely needs 20."""
ECHO_WORDS = 5
"""Consecutive words shared with an answer schema's prose that make a text its echo."""


def well_formed(text: str) -> bool:
    """Whether ``text`` reads as words a person wrote: two words or more; no JSON, markup, numbers in words or schema echo."""
    if FRAGMENT.search(text) or _MIXED.search(text):
        return False
    words = _WORD.findall(text)
    if len(words) < 2 or max(len(w) for w in words) > LONGEST_WORD:
        return False
    if len(_DIGITS.findall(text)) > len("".join(words)):  # mostly numbers: a time or a count, not a sentence
        return False
    lowered = [w.lower() for w in words]
    if all(w in SCHEMA_WORDS for w in lowered if w not in FILLER):
        return False
    runs = {" ".join(lowered[i : i + ECHO_WORDS]) for i in range(len(lowered) - ECHO_WORDS + 1)}
    return not runs & schema_prose()


# Where answer schemas live: the minds, and the team's minds (not the world file's team specs in sim.teams.schema).
AGENT_MODULES = ("agents.", "sim.teams.roles", "sim.teams.chain", "sim.teams.artifacts", "sim.teams.quality")


@functools.cache
def schema_prose() -> frozenset[str]:
    """Every run of ``ECHO_WORDS`` words in the answer schemas' docstrings and field descriptions (the agents')."""
    load_minds()
    prose: list[str] = []
    todo = list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.startswith(AGENT_MODULES):
            prose.append(model.__doc__ or "")
            prose.extend(field.description or "" for field in model.model_fields.values())
    runs: set[str] = set()
    for text in prose:
        words = [w.lower() for w in _WORD.findall(text)]
        runs.update(" ".join(words[i : i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1))
    return frozenset(runs)


def texts(events: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[tuple[str, str]]:
    """``(kind, text)`` for each model-written text in events ``(kind, data)``: say, act, plan items."""
    for kind, payload in events:
        if kind == Say.KIND:
            yield kind, str(payload.get("text", ""))
        elif kind == Act.KIND:
            activity = str(payload.get("activity", ""))
            if activity not in ENGINE_ACTIVITIES:
                yield kind, activity
        elif kind == Plan.KIND:
            for item in payload.get("items", []):
                yield kind, str(item.get("activity", ""))


def share(events: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, tuple[int, int]]:
    """Per kind (and ``all``): ``(well-formed, total)`` over the texts of ``events``."""
    out: dict[str, list[int]] = {}
    for kind, text in texts(events):
        for key in (kind, "all"):
            counts = out.setdefault(key, [0, 0])
            counts[0] += well_formed(text)
            counts[1] += 1
    return {key: (good, total) for key, (good, total) in out.items()}


def plan_spread(plan: dict[str, Any]) -> float:
    """The share of the waking day between a plan's first and last item (0 for one item, near 1 when spread)."""
    spans = plan_spans(plan)
    wake = clock_minutes(plan.get("wake_up")) or 0
    bed = clock_minutes(plan.get("bedtime")) or 24 * 60
    if len(spans) < 2 or bed <= wake:
        return 0.0
    return (spans[-1][0] - spans[0][0]) / (bed - wake)


def foreign_uses(acts: Iterable[tuple[str, str]], homes: dict[str, str]) -> list[tuple[str, str]]:
    """``(person, area)`` of each action taken in another household's home; ``homes`` maps person to home.

    A home is an area (a flat) or a whole sector (a house): ``homes`` values as ``Sector:Area``
    for flats and ``Sector`` for houses. Housemates share a house; nobody shares a flat.
    """
    owned = set(homes.values())
    out = []
    for person, area in acts:
        sector = area.split(":", 1)[0]
        home = homes.get(person, "")
        theirs = area if area in owned else sector if sector in owned else None
        if theirs is not None and theirs not in (home, home.split(":", 1)[0]) and area != home:
            out.append((person, area))
    return out


def households(scenario: Scenario) -> dict[str, str]:
    """Person -> their home as ``foreign_uses`` reads it: the area for a flat, the sector for a house."""
    out = {}
    for person in scenario.people:
        area = scenario.resolve_place(person.home)
        sector = area.split(":", 1)[0]
        out[person.name] = sector if person.home.strip() == sector else area
    return out


def check(path: str | Path) -> dict[str, Any]:
    """A run file's readability: sentence shares by kind, hour plans' spread, uses of another household's home."""
    with RunReader(path) as reader:
        run = reader.run()
        scenario = parse_scenario(run["scenario_yaml"], f"{path}:run.scenario_yaml")
        events = [
            (e["kind"], e["person"], e["place"], e["data"]) for e in reader.events([Say.KIND, Act.KIND, Plan.KIND])
        ]
    shares = share((kind, data) for kind, _, _, data in events)
    spreads = [plan_spread(data) for kind, _, _, data in events if kind == Plan.KIND and data.get("scope") == "hours"]
    acts = [(person, place) for kind, person, place, _ in events if kind == Act.KIND and person and place]
    return {
        "sentences": {
            kind: {"well_formed": good, "texts": total, "share": round(good / total, 3) if total else None}
            for kind, (good, total) in shares.items()
        },
        "hour_plans": len(spreads),
        "plan_spread_median": round(statistics.median(spreads), 3) if spreads else None,
        "foreign_uses": foreign_uses(acts, households(scenario)),
    }

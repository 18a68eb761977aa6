"""A smaller cast: a world cut to some of its people (``hamlet run --people``), as the run records it.

The cut world is written into the run file as its world, so resume, fork, metrics, the story and
the viewer all read the people who ran, and none who did not. What named a person left out goes
with them: their relationships in the others' descriptions, their place among a fact's first
knowers, interventions that whisper to or remove them. Comments of the world file are not kept.
"""

from __future__ import annotations

from typing import Any

import yaml

from sim.errors import UserError
from sim.worldfile.names import match_person


def cast(text: str, wanted: str, source: str) -> str:
    """``text`` (a world file) with only the people ``wanted`` names: a number (the first N) or names, comma-separated."""
    # The text has passed the world's checks (``load_scenario``): a mapping, each person a mapping with a name.
    data = yaml.safe_load(text)
    if data.get("team"):
        raise UserError(f"--people: {source} is a team's world; its roles are its cast, run it whole")
    people = data.get("people") or []
    names = [str(p["name"]) for p in people]
    kept = _chosen(wanted.strip(), names, source)
    data["people"] = [p for p in people if p["name"] in kept]
    for person in data["people"]:
        if person.get("relationships"):
            person["relationships"] = [r for r in person["relationships"] if _match(r["name"], names) in kept]
    for fact in data.get("facts") or []:
        if fact.get("seeded_to"):
            fact["seeded_to"] = [n for n in fact["seeded_to"] if _match(n, names) in kept]
    data["interventions"] = [
        i for i in data.get("interventions") or [] if not i.get("person") or _match(i["person"], names) in kept
    ]
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _chosen(wanted: str, names: list[str], source: str) -> set[str]:
    """The names ``--people`` keeps: the first N, or each name given (matched as names are everywhere)."""
    if wanted.isdigit():
        count = int(wanted)
        if not 1 <= count <= len(names):
            raise UserError(
                f"--people {wanted}: {source} has {len(names)} people; give a number from 1 to {len(names)}"
            )
        return set(names[:count])
    kept = set()
    for name in (part.strip() for part in wanted.split(",")):
        if not name:
            raise UserError(f"--people {wanted!r}: an empty name; separate names with commas")
        try:
            kept.add(match_person(name, names, f" in {source}"))
        except ValueError as err:
            raise UserError(f"--people: {err}") from None
    return kept


def _match(name: Any, names: list[str]) -> str:
    """The person ``name`` means (as the world's checks would read it), or ``name`` itself if none."""
    try:
        return match_person(str(name), names)
    except ValueError:
        return str(name)

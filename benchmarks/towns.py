"""Generated towns for the benchmarks: any number of people, valid per ``sim/worldfile/scenario.py``.

A town of N people has about N/10 houses (three rooms each) along streets of ten houses, one
workplace for every 40 people (offices, shops, a school, a clinic, ...), one café for every 100
people (where everyone lunches, by workplace), a library and a park, all reached through the town
square. So the number of people per place stays about the same whatever N is; ``cafes=1`` makes
one crowded café instead (everyone lunches there, hundreds at once in a big town). Every person runs the ``schedule`` mind with a
routine of eight items, one of them ``free`` (the morning day plan chooses where to spend free
time), so one simulated day costs exactly one LLM call a person.

    python benchmarks/towns.py 1000 > /tmp/town1000.yaml    # print one
    python benchmarks/towns.py 200 generative > /tmp/town200g.yaml    # everyone on the generative mind
    python benchmarks/towns.py 25 generative --seed 3 --hours 24 > /tmp/TOWN.yaml    # docs/benchmarks.md §14
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Elin",
    "Farid",
    "Gita",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Lars",
    "Mina",
    "Nils",
    "Olga",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tove",
    "Umar",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zora",
    "Aino",
    "Bruno",
    "Chiara",
    "Dario",
    "Emeka",
    "Freya",
    "Goran",
    "Hana",
    "Ivo",
    "Jana",
    "Kofi",
    "Lena",
    "Marek",
    "Noor",
]
LAST = [
    "Abbott",
    "Brandt",
    "Castell",
    "Dumas",
    "Eriksen",
    "Fonseca",
    "Greaves",
    "Holm",
    "Iversen",
    "Janssen",
    "Kowal",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quiroga",
    "Ramos",
    "Sato",
    "Tanaka",
    "Ulloa",
    "Varga",
    "Weber",
    "Yilmaz",
    "Zeller",
    "Achebe",
    "Bianchi",
    "Costa",
    "Dahl",
    "Engel",
]
TRAITS = [
    "curious",
    "shy",
    "cheerful",
    "methodical",
    "talkative",
    "patient",
    "restless",
    "kind",
    "stubborn",
    "dreamy",
    "practical",
    "witty",
]
WORKPLACE_KINDS = [
    ("office", ["reception", "open office", "meeting room"], ["desk", "printer", "whiteboard"], "works at a desk"),
    ("shop", ["shop floor", "stockroom"], ["shelves", "checkout", "crates"], "serves customers"),
    ("school", ["classroom", "staff room", "yard"], ["blackboard", "desks", "kettle"], "teaches"),
    ("clinic", ["waiting room", "surgery"], ["chairs", "examination couch"], "sees patients"),
    ("workshop", ["bench room", "yard"], ["workbench", "lathe"], "repairs things"),
    ("bakery", ["counter", "bakehouse"], ["oven", "cash register"], "bakes bread"),
]


def person_name(i: int) -> str:
    """A unique, readable name for person ``i``."""
    first = FIRST[i % len(FIRST)]
    last = LAST[(i // len(FIRST)) % len(LAST)]
    rounds = i // (len(FIRST) * len(LAST))
    return f"{first} {last}" + (f" {rounds + 1}" if rounds else "")


def _hhmm(minute: int) -> str:
    minute %= 24 * 60
    return f"{minute // 60:02d}:{minute % 60:02d}"


def town(
    people: int,
    *,
    seed: int = 11,
    hours: float = 24,
    name: str | None = None,
    cafes: int | None = None,
    mind: str = "schedule",
) -> dict[str, Any]:
    """The scenario of a town of ``people`` as plain data (what ``yaml.safe_dump`` writes).

    ``mind="generative"`` gives everyone the generative mind (all components on), which calls
    the model dozens of times a person a day instead of once.
    """
    houses = max(1, -(-people // 10))
    workplaces = max(2, people // 40)
    cafes = cafes or max(1, people // 100)
    sectors: list[dict[str, Any]] = [
        {"name": "Town Square", "kind": "square", "areas": [{"name": "fountain", "objects": ["bench", "fountain"]}]},
        {
            "name": "Green Park",
            "kind": "park",
            "inner_minutes": 2,
            "areas": [
                {"name": "lawn", "objects": ["bench", "bandstand"]},
                {"name": "pond", "objects": ["railing"]},
                {"name": "playground", "objects": ["swings"]},
            ],
        },
        {
            "name": "Town Library",
            "kind": "library",
            "areas": [
                {"name": "reading room", "objects": ["armchairs", "newspaper rack"]},
                {"name": "stacks", "objects": ["study tables"]},
            ],
        },
    ]
    links: list[dict[str, Any]] = [
        {"between": ["Town Square", "Green Park"], "minutes": 4},
        {"between": ["Town Square", "Town Library"], "minutes": 3},
    ]
    cafe_names = [f"Café {c + 1}" for c in range(cafes)]
    for c, cafe in enumerate(cafe_names):
        sectors.append(
            {
                "name": cafe,
                "kind": "cafe",
                "areas": [
                    {"name": "counter", "objects": ["espresso machine", "pastry case"]},
                    {"name": "seating", "objects": ["tables", "window seat"]},
                ],
            }
        )
        links.append({"between": [cafe, "Town Square"], "minutes": 2 + c % 4})
    work_names: list[tuple[str, str, str, str]] = []  # (sector, work area, object, activity)
    for w in range(workplaces):
        kind, areas, objects, activity = WORKPLACE_KINDS[w % len(WORKPLACE_KINDS)]
        sector = f"{kind.title()} {w + 1}"
        sectors.append(
            {
                "name": sector,
                "kind": kind,
                "areas": [
                    {"name": area, "objects": objects if a == 1 or len(areas) == 1 else objects[:1]}
                    for a, area in enumerate(areas)
                ],
            }
        )
        links.append({"between": [sector, "Town Square"], "minutes": 2 + w % 7})
        work_area = areas[1] if len(areas) > 1 else areas[0]
        work_names.append((sector, work_area, objects[0], activity))
    for h in range(houses):
        sector = f"House {h + 1}"
        sectors.append(
            {
                "name": sector,
                "kind": "home",
                "inner_minutes": 0.5,
                "areas": [
                    {"name": "hall", "objects": ["coat rack"]},
                    {"name": "kitchen", "objects": ["stove", "table"]},
                    {"name": "bedrooms", "objects": ["beds"]},
                ],
            }
        )
        street_first = h - h % 10
        if h == street_first:
            links.append({"between": [sector, "Town Square"], "minutes": 3 + (h // 10) % 5})
        else:
            links.append({"between": [sector, f"House {h}"], "minutes": 1})
    persons: list[dict[str, Any]] = []
    names = [person_name(i) for i in range(people)]
    for i, who in enumerate(names):
        house = f"House {i // 10 + 1}"
        sector, area, obj, activity = work_names[i % workplaces]
        shift = (i % 7) * 10 - 30  # start times spread over an hour
        mates = [names[j] for j in range(i - i % 10, min(people, i - i % 10 + 10)) if j != i][:2]
        persons.append(
            {
                "name": who,
                "mind": mind,
                "age": 18 + (i * 7) % 60,
                "traits": [TRAITS[i % len(TRAITS)], TRAITS[(i * 5 + 3) % len(TRAITS)]],
                "occupation": f"{activity} at {sector}",
                "home": house,
                "relationships": [{"name": m, "relation": "housemate"} for m in mates],
                "memories": [
                    f"{who.split()[0]} promised to repair the fountain bench this week.",
                    "The café has a new cardamom bun.",
                ],
                "routine": [
                    {
                        "at": _hhmm(7 * 60 + shift),
                        "do": "has breakfast",
                        "place": f"{house}:kitchen",
                        "object": "stove",
                    },
                    {"at": _hhmm(8 * 60 + 30 + shift), "do": activity, "place": f"{sector}:{area}", "object": obj},
                    {
                        "at": _hhmm(12 * 60 + 30 + shift),
                        "do": "eats lunch",
                        "place": f"{cafe_names[(i % workplaces) % cafes]}:seating",
                        "object": "tables",
                    },
                    {"at": _hhmm(13 * 60 + 15 + shift), "do": activity, "place": f"{sector}:{area}", "object": obj},
                    {
                        "at": _hhmm(17 * 60 + 30 + shift),
                        "do": "cooks dinner",
                        "place": f"{house}:kitchen",
                        "object": "stove",
                    },
                    {"at": _hhmm(19 * 60 + shift), "do": "spends free time", "place": "free"},
                    {"at": _hhmm(21 * 60 + 30 + shift), "do": "reads the paper", "place": f"{house}:hall"},
                    {"at": _hhmm(22 * 60 + 30 + shift), "do": "sleeps", "place": f"{house}:bedrooms", "object": "beds"},
                ],
            }
        )
    return {
        "hamlet": 1,
        "name": name or f"Benchtown {people}",
        "description": f"A generated town of {people} people for benchmarks.",
        "start": "2026-03-02T06:00",
        "hours": hours,
        "seed": seed,
        "snapshot_minutes": 60,
        "minds": {"schedule": {"jitter_minutes": 10, "plan_with_llm": True}},
        "sectors": sectors,
        "links": links,
        "people": persons,
    }


def write_town(folder: str | Path, people: int, **kwargs: Any) -> Path:
    """Write the town of ``people`` as YAML into ``folder``; returns the file's path."""
    suffix = "".join(f"-{k}{v}" for k, v in sorted(kwargs.items()))
    path = Path(folder) / f"town{people}{suffix}.yaml"
    path.write_text(yaml.safe_dump(town(people, **kwargs), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Print a generated town as YAML (``python benchmarks/towns.py --help``)."""
    parser = argparse.ArgumentParser(description="Print a generated town as a world file (YAML) on stdout.")
    parser.add_argument("people", nargs="?", type=int, default=25, help="how many people (default: 25)")
    parser.add_argument(
        "mind", nargs="?", choices=("schedule", "generative"), default="schedule", help="everyone's mind"
    )
    parser.add_argument("--seed", type=int, default=11, help="the generator's seed (default: 11)")
    parser.add_argument("--hours", type=float, default=24, help="the run's simulated hours (default: 24)")
    args = parser.parse_args(argv)
    if args.people < 1:
        parser.error(f"people must be at least 1 (got {args.people})")
    town_data = town(args.people, seed=args.seed, hours=args.hours, mind=args.mind)
    sys.stdout.write(yaml.safe_dump(town_data, sort_keys=False, allow_unicode=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

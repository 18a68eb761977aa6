"""``hamlet import smallville``: a Smallville base simulation folder (Park et al., 2023) as a Hamlet world.

What is read, from the layout of ``joonspk-research/generative_agents``:

- ``BASE/reverie/meta.json``: the personas, the start time, the map's name and the seconds per step;
- ``BASE/personas/NAME/bootstrap_memory/scratch.json``: each persona's age, traits (``innate``),
  description (``learned``), current situation (``currently``), habits (``lifestyle``), daily
  plan and home (``living_area``); ``spatial_memory.json`` beside it adds the objects they know;
- ``BASE/environment/0.json``: where each persona stands at the start (a tile of the map);
- the map's ``matrix`` folder (by default ``static_dirs/assets/MAP/matrix`` of the same checkout, or
  ``--map``): sector, arena and object names from ``special_blocks/*.csv``, and from ``maze/*.csv``
  which arena each tile belongs to and which object stands on it; walking times between sectors
  come from the shortest walk over the tiles that ``collision_maze.csv`` leaves free, at one tile
  per step;
- optionally the agent history CSV (``Name,Whisper``; by default ``agent_history_init_nN.csv``
  beside the matrix folder for N personas): each whisper clause becomes an initial memory.

Smallville's sectors and arenas become Hamlet's sectors and areas; every person runs the
generative mind.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from sim.errors import UserError

ENTRANCES = ("common room", "main room", "lobby", "hallway", "cafe", "pub", "store", "park")
"""Arena names preferred as a sector's entrance (its first area), in this order."""

KINDS = (
    ("apartment", "home"),
    ("house", "home"),
    ("dorm", "home"),
    ("co-living", "home"),
    ("cafe", "cafe"),
    ("pub", "pub"),
    ("college", "school"),
    ("park", "park"),
    ("market", "shop"),
    ("store", "shop"),
)
"""Words of a sector's name, and the kind of sector they make it."""


def add_parser(kinds: Any) -> None:
    """Add ``hamlet import smallville``."""
    parser = kinds.add_parser(
        "smallville",
        help="a Smallville base simulation folder",
        description="Turn a Smallville base simulation folder (reverie/meta.json, "
        "personas/*/bootstrap_memory/scratch.json and spatial_memory.json, "
        "environment/0.json) and its map's matrix folder into a Hamlet world file whose "
        "people run the generative mind.",
    )
    parser.add_argument(
        "path", metavar="PATH", help="the base folder, e.g. environment/frontend_server/storage/base_the_ville_n25"
    )
    parser.add_argument("-o", "--out", required=True, metavar="WORLD.yaml", help="the world file to write")
    parser.add_argument(
        "--map",
        metavar="DIR",
        help="the map's matrix folder (default: static_dirs/assets/MAP/matrix of the same checkout)",
    )
    history = parser.add_mutually_exclusive_group()
    history.add_argument(
        "--history",
        metavar="CSV",
        help="agent history (Name,Whisper) to add as initial memories "
        "(default: agent_history_init_nN.csv beside the matrix folder, if there)",
    )
    history.add_argument("--no-history", action="store_true", help="no initial memories from an agent history")
    parser.set_defaults(run_import=run)


def run(args: argparse.Namespace) -> int:
    """Import, validate and write the world; print a one-line summary."""
    from sim.core.mind import check_minds
    from sim.worldfile.scenario import parse_scenario

    out = Path(args.out)
    if out.exists():
        raise UserError(f"-o {out}: already exists; choose another name or delete it")
    if not out.parent.is_dir():
        raise UserError(f"-o {out}: folder {out.parent} does not exist")
    history: str | bool | None = False if args.no_history else args.history
    world = import_smallville(Path(args.path), Path(args.map) if args.map else None, history)
    text = world_text(world, Path(args.path))
    scenario = parse_scenario(text, f"{out} (imported)")
    check_minds(scenario)
    out.write_text(text, encoding="utf-8")
    memories = sum(len(p["memories"]) for p in world["people"])
    print(
        f"{out}: {scenario.name!r} · {len(scenario.people)} people · {len(scenario.area_ids())} places in "
        f"{len(scenario.sectors)} sectors · {memories} initial memories · starts {scenario.start:%Y-%m-%dT%H:%M}"
    )
    return 0


def world_text(world: dict[str, Any], base: Path) -> str:
    """The world as YAML, with a header saying where it came from."""
    head = (
        f"# Imported by `hamlet import smallville` from {base}\n"
        "# (Smallville, joonspk-research/generative_agents, Apache-2.0). Check it: hamlet validate FILE\n"
    )
    return head + yaml.safe_dump(world, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise UserError(f"{path}: missing; {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: cannot be read as JSON ({err})") from None


def import_smallville(base: Path, map_dir: Path | None = None, history: str | bool | None = None) -> dict[str, Any]:
    """The world a base folder describes, as a mapping in the world file's format.

    ``history``: a CSV path, ``None`` for the default file if it exists, ``False`` for none.
    """
    if not base.is_dir():
        raise UserError(
            f"{base}: no such folder; give a Smallville base simulation folder such as "
            "environment/frontend_server/storage/base_the_ville_n25"
        )
    meta = _read_json(base / "reverie" / "meta.json", "not a Smallville base simulation folder (it has none)")
    names = meta.get("persona_names")
    if not isinstance(names, list) or not names:
        raise UserError(f"{base / 'reverie' / 'meta.json'}: persona_names: missing or empty")
    names = [str(n).strip() for n in names]
    maze = str(meta.get("maze_name", "the_ville"))
    if map_dir is None:
        map_dir = base.parent.parent / "static_dirs" / "assets" / maze / "matrix"
    town = Town.read(map_dir, int(meta.get("sec_per_step", 10)))
    start = _start(meta, base)
    spawn = (
        _read_json(base / "environment" / "0.json", "where the personas stand at the start; the base has none")
        if (base / "environment" / "0.json").exists()
        else {}
    )
    whispers = _history(map_dir, names, history)
    people = []
    for name in names:
        folder = base / "personas" / name / "bootstrap_memory"
        scratch = _read_json(folder / "scratch.json", f"the persona of {name} (named in reverie/meta.json)")
        spatial = folder / "spatial_memory.json"
        if spatial.is_file():
            town.learn(_read_json(spatial, "the places the persona knows"))
        people.append(_person(name, scratch, town, spawn.get(name), whispers.get(name, []), folder))
    return {
        "hamlet": 1,
        "name": f"{town.world} ({base.name})",
        "description": f"Smallville's {town.world}, imported from the base simulation {base.name}: "
        f"{len(people)} personas, their homes, habits and memories.",
        "start": start.isoformat(timespec="minutes"),
        "hours": 24,
        "seed": 0,
        "snapshot_minutes": 60,
        "mind": "generative",
        "sectors": town.sectors(),
        "links": town.links(),
        "people": people,
    }


def _start(meta: dict[str, Any], base: Path) -> datetime:
    text = str(meta.get("curr_time") or meta.get("start_date") or "")
    for pattern in ("%B %d, %Y, %H:%M:%S", "%B %d, %Y"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise UserError(
        f"{base / 'reverie' / 'meta.json'}: curr_time {text!r}: not a time like 'February 13, 2023, 00:00:00'"
    )


def _history(map_dir: Path, names: list[str], history: str | bool | None) -> dict[str, list[str]]:
    """Each persona's whisper clauses from the agent history CSV."""
    if history is False:
        return {}
    path = Path(history) if isinstance(history, str) else map_dir.parent / f"agent_history_init_n{len(names)}.csv"
    if not path.is_file():
        if isinstance(history, str):
            raise UserError(f"--history {path}: no such file")
        return {}
    out: dict[str, list[str]] = {}
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                name, whisper = (row.get("Name") or "").strip(), row.get("Whisper") or ""
                if name in names:
                    out.setdefault(name, []).extend(c.strip() for c in whisper.split(";") if c.strip())
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserError(f"{path}: cannot be read as a Name,Whisper CSV ({err})") from None
    return out


def _person(
    name: str, scratch: dict[str, Any], town: Town, tile: dict[str, Any] | None, whispers: list[str], folder: Path
) -> dict[str, Any]:
    home = town.area_of_address(str(scratch.get("living_area") or ""))
    if home is None:
        raise UserError(
            f"{folder / 'scratch.json'}: living_area {scratch.get('living_area')!r}: not a place of the map"
        )
    learned = str(scratch.get("learned") or "").strip()
    person: dict[str, Any] = {
        "name": name,
        "age": int(scratch.get("age") or 30),
        "traits": [t.strip() for t in str(scratch.get("innate") or "").split(",") if t.strip()],
        "occupation": occupation(name, learned),
        "lifestyle": str(scratch.get("lifestyle") or ""),
        "home": home,
    }
    start = town.area_at(int(tile["x"]), int(tile["y"])) if tile and "x" in tile and "y" in tile else None
    if start is not None and start != home:
        person["start"] = start
    plan = str(scratch.get("daily_plan_req") or "").strip()
    memories = [learned, str(scratch.get("currently") or "").strip(), f"My days: {plan}" if plan else ""]
    person["memories"] = [m for m in [*memories, *whispers] if m]
    return person


def occupation(name: str, learned: str) -> str:
    """What a persona does, from the first sentence of their description ("X is a cafe owner of Hobbs Cafe who ...")."""
    found = re.match(rf"{re.escape(name)} is (?:an? |the )?(.+?)(?: who | that |,|\.|$)", learned)
    if not found:
        return ""
    text = found.group(1).strip()
    return text if len(text) <= 100 else text[:100].rsplit(" ", 1)[0]


class Town:
    """The map of a matrix folder: sectors and their arenas, objects in each, walking times between sectors."""

    def __init__(self, world: str, width: int, height: int, sec_per_step: int) -> None:
        self.world, self.width, self.height, self.sec_per_step = world, width, height, sec_per_step
        self.arenas: dict[str, dict[str, set[str]]] = {}  # sector -> arena -> object names
        self.tiles: dict[str, list[int]] = {}  # sector -> its tiles
        self.arena_tile: list[tuple[str, str] | None] = []
        self.free: list[bool] = []

    @classmethod
    def read(cls, folder: Path, sec_per_step: int) -> Town:
        """Read a matrix folder; a missing file is one clear line."""
        meta = _read_json(folder / "maze_meta_info.json", "the map's size; give the map's matrix folder with --map")
        width, height = int(meta.get("maze_width", 0)), int(meta.get("maze_height", 0))
        sectors = _blocks(folder / "special_blocks" / "sector_blocks.csv", 3)
        # The blocks spell the world's name as the personas' addresses do ("the Ville").
        world = next((row[1] for row in sectors.values()), str(meta.get("world_name", "the Ville")))
        town = cls(_name(world), width, height, sec_per_step)
        arenas = _blocks(folder / "special_blocks" / "arena_blocks.csv", 4)
        objects = _blocks(folder / "special_blocks" / "game_object_blocks.csv", 4)
        sector_maze = _maze(folder / "maze" / "sector_maze.csv", width * height)
        arena_maze = _maze(folder / "maze" / "arena_maze.csv", width * height)
        object_maze = _maze(folder / "maze" / "game_object_maze.csv", width * height)
        collision = folder / "maze" / "collision_maze.csv"
        blocked = _maze(collision, width * height) if collision.is_file() else ["0"] * (width * height)
        for row in sectors.values():
            town.arenas.setdefault(_name(row[2]), {})
        for row in arenas.values():
            town.arenas.setdefault(_name(row[2]), {}).setdefault(_name(row[3]), set())
        town.free = [cell == "0" for cell in blocked]
        for index, (sector_id, arena_id, object_id) in enumerate(
            zip(sector_maze, arena_maze, object_maze, strict=True)
        ):
            if sector_id in sectors:
                town.tiles.setdefault(_name(sectors[sector_id][2]), []).append(index)
            arena = arenas.get(arena_id)
            place = (_name(arena[2]), _name(arena[3])) if arena else None
            town.arena_tile.append(place)
            if place is not None and object_id in objects:
                town.arenas[place[0]][place[1]].add(_name(objects[object_id][3]))
        return town

    def learn(self, spatial: Any) -> None:
        """Add the objects a persona's spatial memory names in arenas of the map."""
        if not isinstance(spatial, dict):
            return
        for sectors in spatial.values():
            for sector, arenas in (sectors or {}).items():
                for arena, objects in (arenas or {}).items() if isinstance(arenas, dict) else []:
                    known = self.arenas.get(_name(sector), {}).get(_name(arena))
                    if known is not None and isinstance(objects, list):
                        known.update(_name(o) for o in objects if str(o).strip())

    def area_of_address(self, address: str) -> str | None:
        """``world:sector:arena`` (or ``sector:arena``) as a Hamlet area id, if the map has it."""
        parts = [_name(p) for p in address.split(":")]
        if len(parts) >= 3:
            parts = parts[1:3]
        if len(parts) == 2 and parts[1] in self.arenas.get(parts[0], {}):
            return f"{parts[0]}:{parts[1]}"
        return None

    def area_at(self, x: int, y: int) -> str | None:
        """The area of the tile at column ``x``, row ``y``, if it is inside one."""
        index = y * self.width + x
        place = self.arena_tile[index] if 0 <= index < len(self.arena_tile) else None
        return f"{place[0]}:{place[1]}" if place else None

    def sectors(self) -> list[dict[str, Any]]:
        """The world file's ``sectors``: areas with their objects, the likeliest entrance first."""
        out = []
        for sector, arenas in self.arenas.items():
            names = list(arenas) or ["grounds"]
            first = next((n for e in ENTRANCES for n in names if n.lower() == e), names[0])
            ordered = [first, *(n for n in names if n != first)]
            kind = next((k for word, k in KINDS if word in sector.lower()), "")
            out.append(
                {
                    "name": sector,
                    "kind": kind,
                    "inner_minutes": 0.5,
                    "areas": [{"name": n, "objects": sorted(arenas.get(n, set()))} for n in ordered],
                }
            )
        return out

    def links(self) -> list[dict[str, Any]]:
        """Every pair of sectors with the minutes of the shortest walk between them."""
        names = [s for s in self.arenas if self.tiles.get(s)]
        out = []
        for i, first in enumerate(names):
            steps = self._walk(first)
            for second in names[i + 1 :]:
                reached = [steps[t] for t in self.tiles[second] if steps[t] >= 0]
                tiles = min(reached) if reached else self._manhattan(first, second)
                out.append({"between": [first, second], "minutes": max(0.5, round(tiles * self.sec_per_step / 60, 1))})
        return out

    def _walk(self, sector: str) -> list[int]:
        """Steps from the nearest tile of ``sector`` to every tile (-1: out of reach)."""
        steps = [-1] * len(self.free)
        queue = deque(self.tiles[sector])
        for tile in queue:
            steps[tile] = 0
        while queue:
            tile = queue.popleft()
            x, y = tile % self.width, tile // self.width
            for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if 0 <= nx < self.width and 0 <= ny < self.height:
                    near = ny * self.width + nx
                    if steps[near] < 0 and self.free[near]:
                        steps[near] = steps[tile] + 1
                        queue.append(near)
        return steps

    def _manhattan(self, first: str, second: str) -> int:
        def centre(sector: str) -> tuple[float, float]:
            tiles = self.tiles[sector]
            return (sum(t % self.width for t in tiles) / len(tiles), sum(t // self.width for t in tiles) / len(tiles))

        (x1, y1), (x2, y2) = centre(first), centre(second)
        return round(abs(x1 - x2) + abs(y1 - y2))


def _name(text: Any) -> str:
    """A map name as a Hamlet name: trimmed, and without ':' (which separates sector from area)."""
    return " ".join(str(text).replace(":", " -").split())


def _blocks(path: Path, columns: int) -> dict[str, list[str]]:
    """A special_blocks CSV: block id -> its columns (id, world, sector, ...)."""
    if not path.is_file():
        raise UserError(f"{path}: missing; give the map's matrix folder (with special_blocks/ and maze/) with --map")
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = [[c.strip() for c in row] for row in csv.reader(handle) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise UserError(f"{path}: cannot be read as CSV ({err})") from None
    bad = next((row for row in rows if len(row) < columns), None)
    if bad is not None:
        raise UserError(f"{path}: row {','.join(bad)!r} has {len(bad)} columns, expected {columns}")
    return {row[0]: row for row in rows}


def _maze(path: Path, cells: int) -> list[str]:
    """A maze CSV: one block id per tile, row by row."""
    if not path.is_file():
        raise UserError(f"{path}: missing; give the map's matrix folder (with special_blocks/ and maze/) with --map")
    values = [v.strip() for v in path.read_text(encoding="utf-8").replace("\n", ",").split(",") if v.strip()]
    if len(values) != cells:
        raise UserError(f"{path}: {len(values)} tiles, expected {cells} (maze_meta_info.json's width x height)")
    return values

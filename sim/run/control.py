"""Live control: requests written into a running run's file, taken by its engine between ticks.

Any process may ask a live run to pause, resume, stop or apply an intervention (``hamlet
interview --whisper``, the TUI, the MQTT bridge): the request is a ``control`` row. The run's
``Desk`` polls for new rows between ticks; an intervention takes effect at the next tick and is
logged as that tick's event, and the row is marked applied in the same transaction, so a
resumed run re-applies exactly the interventions whose effects it redoes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.core.mind import check_minds
from sim.errors import UserError
from sim.runfile.control import add_request, applied_interventions, pending_after
from sim.runfile.reader import RunReader
from sim.runfile.writer import writer_alive
from sim.worldfile.bounds import MAX_TEXT_CHARS
from sim.worldfile.names import match_person
from sim.worldfile.scenario import (
    InterventionSpec,
    Scenario,
    check_references,
    parse_scenario,
)
from sim.worldfile.spec import ScenarioReferenceError

KINDS = ("pause", "resume", "stop", "intervene")
TEXT_CHARS = MAX_TEXT_CHARS  # the same cap as a world file's interventions
"""The longest text a live intervention may carry (an injected or whispered text, an object's state)."""


@dataclass(slots=True, frozen=True)
class Request:
    """One control row as the engine sees it."""

    id: int
    kind: str
    intervention: InterventionSpec | None = None


def send(path_text: str, kind: str, intervention: dict[str, Any] | None = None, source: str = "cli") -> int:
    """Write a request for the live run in ``path_text``; returns its id (raises ``UserError`` if not live)."""
    path = Path(path_text)
    if kind not in KINDS:
        raise UserError(f"control {kind!r}: unknown; use one of {', '.join(KINDS)}")
    payload = Gate(path).payload(kind, intervention)
    try:
        return add_request(path, kind, payload, source)
    except sqlite3.OperationalError as err:
        raise UserError(f"{path}: cannot take live requests ({err}); it was written by an older Hamlet") from None


class Gate:
    """One look at a run file for any number of requests: is it live, what is its world, who is in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with RunReader(path) as reader:
            run = reader.run()
            writer = reader.meta.get("writer", "")
        self.status: str = run["status"]
        self.live = self.status == "running" and writer_alive(writer, this_process=True)
        self.scenario_yaml: str = run["scenario_yaml"]
        self.sim_now: str = run["sim_now"]
        self._present: list[str] | None = None

    def payload(self, kind: str, intervention: dict[str, Any] | None) -> str:
        """The ``control`` row payload for a request of ``kind``, checked (``UserError``: one line why not)."""
        if kind not in KINDS:
            raise UserError(f"control {kind!r}: unknown; use one of {', '.join(KINDS)}")
        payload = "{}"
        if kind == "intervene":
            if self._present is None:  # read once per gate: it scans the run's spawn and leave events
                with RunReader(self.path) as reader:
                    self._present = people_at(reader, None)
            scenario = _recorded_world(self.scenario_yaml, str(self.path))
            spec = checked_intervention(scenario, intervention or {}, self.sim_now, self._present)
            payload = spec.model_dump_json(exclude_none=True)
        if not self.live:
            raise UserError(
                f"{self.path}: not a live run (status {self.status}); a whisper or intervention reaches "
                "only a running simulation; schedule it in the world's interventions, branch the run with "
                f"hamlet fork {self.path} --at TIME --intervene KIND, or resume the run first"
            )
        return payload


@functools.lru_cache(maxsize=4)
def _recorded_world(scenario_yaml: str, path: str) -> Scenario:
    # Parsed once per run, not once per request: a burst of whispers would otherwise parse it each time.
    # Callers only read it (checked_intervention works on a copy).
    return parse_scenario(scenario_yaml, f"{path} (recorded world)")


def people_at(reader: RunReader, t: int | None) -> list[str]:
    """Who is in the run's world at simulated second ``t`` (None: at its newest event), in order of arrival."""
    people: dict[str, None] = {}
    for event in reader.events(kinds=["spawn", "leave"], until=t):
        if event["kind"] == "spawn":
            people[event["person"]] = None
        else:
            people.pop(event["person"], None)
    return list(people)


def checked_intervention(scenario: Scenario, fields: dict[str, Any], at: str, present: list[str]) -> InterventionSpec:
    """An intervention at ``at`` checked as the world file's own would be, and against who is there then.

    Problems become one ``UserError`` line naming the field: ``place: unknown place 'Cafe'; ...``.
    """
    if "at" in fields:
        raise UserError(f"at {fields['at']!r}: a live or forked intervention takes effect at {at}; give no time")
    for name in ("text", "state"):
        value = fields.get(name)
        if isinstance(value, str) and len(value) > TEXT_CHARS:
            raise UserError(
                f"{name}: {len(value):,} characters; an intervention's {name} may have at most "
                f"{TEXT_CHARS:,} (it becomes an event and people's memories)"
            )
    try:
        spec = InterventionSpec.model_validate({**fields, "at": at})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or str(fields.get("kind", "intervention"))
        raise UserError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
    if spec.person is not None and spec.kind != "add_person":
        try:
            spec.person = match_person(spec.person, present, among=f" in the world at {at}")
        except ValueError as err:
            raise UserError(f"person: {err}") from None
    if spec.spec is not None and spec.spec.name in present:
        raise UserError(f"spec.name {spec.spec.name!r}: already in the world; give the new person another name")
    # The world's own checks (places, objects, the new person's home and routine), on this one intervention.
    trial = scenario.model_copy(update={"interventions": [spec.model_copy(update={"person": None})]})
    try:
        check_references(trial)
    except ScenarioReferenceError as err:
        raise UserError(f"{err.where.removeprefix('interventions[0].')}: {err.message}") from None
    if spec.spec is not None:
        try:
            check_minds(trial)
        except UserError as err:
            raise UserError(str(err).removeprefix("interventions[0].")) from None
    return spec


class Desk:
    """The engine's side: polls a run file for new requests, and holds the run while paused."""

    def __init__(self, path: Path, every_s: float = 0.1) -> None:
        self.path = path
        self.every_s = every_s  # at most one look at the file per this many wall seconds
        self._next = 0.0
        self._seen = 0  # highest request id taken
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, timeout=10)

    def close(self) -> None:
        """Close the desk's connection."""
        self._db.close()

    async def take(self) -> list[Request]:
        """New requests in order; while the newest pause is unanswered by a resume, waits for one."""
        taken: list[Request] = []
        paused = False
        while True:
            now = time.monotonic()
            if now >= self._next or paused:
                self._next = now + self.every_s
                for request in self._poll():
                    taken.append(request)
                    if request.kind == "pause":
                        paused = True
                    elif request.kind in ("resume", "stop"):
                        paused = False
            if not paused:
                return taken
            await asyncio.sleep(self.every_s)

    def _poll(self) -> list[Request]:
        requests = []
        for row_id, kind, payload in pending_after(self._db, self._seen):
            self._seen = max(self._seen, row_id)
            spec = InterventionSpec.model_validate(json.loads(payload)) if kind == "intervene" else None
            requests.append(Request(row_id, kind, spec))
        return requests


def applied_since(path: Path, tick: int) -> list[tuple[int, InterventionSpec]]:
    """Interventions applied after ``tick``, as (simulated second, intervention): a resume redoes them."""
    return [
        (t, InterventionSpec.model_validate(json.loads(payload))) for t, payload in applied_interventions(path, tick)
    ]

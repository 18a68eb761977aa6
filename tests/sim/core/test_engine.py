"""The engine: ticks think concurrently, commit in a fixed order, apply interventions, step on a grid."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import agents  # noqa: F401  (registers the schedule mind)
from sim.core.engine import Simulation
from sim.core.events import Event
from sim.core.mind import Decision, MindContext, Percept, Say, register_mind
from sim.llm.gateway import Endpoint, Gateway
from sim.llm.replay import ReplayTransport
from sim.llm.scripted import ScriptConfig, ScriptedModel
from sim.runfile.log import RunLog, create_run_file
from sim.worldfile.scenario import PersonSpec, parse_scenario
from tests.conftest import TINY_WORLD
from tests.sim.in_process import run_in_process


class Jittery:
    """A test mind that takes a random real time to decide, then speaks and sleeps ten minutes."""

    def __init__(self, spec: PersonSpec, ctx: MindContext) -> None:
        self.name = spec.name

    async def decide(self, percept: Percept) -> Decision:
        await asyncio.sleep(random.random() / 50)
        return Decision([Say(f"{self.name} at {percept.now:%H:%M}")], percept.now + timedelta(minutes=10))

    def notices(self, event: Event) -> bool:
        return False

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        pass


register_mind("test_jittery", Jittery)


def crowd(mind: str, people: int = 6, extra: str = "") -> str:
    names = "\n".join(f"  - name: P{i}\n    home: Home\n    mind: {mind}" for i in range(people))
    return TINY_WORLD.split("people:")[0] + "people:\n" + names + "\n" + extra


def simulate(
    tmp_path: Path,
    text: str,
    hours: float = 1,
    *,
    fixed_step: int | None = None,
    model: ScriptedModel | None = None,
    concurrency: int = 8,
    name: str = "run.db",
) -> Path:
    """Run ``text`` for ``hours`` on the scripted model (``model``, or one of seed 1) in this process."""
    path = tmp_path / name
    run_in_process(path, text, hours, model=model, fixed_step=fixed_step, concurrency=concurrency)
    return path


def events(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT seq, tick, t, kind, person, place, data FROM event ORDER BY seq").fetchall()
    db.close()
    return rows


def test_commit_order_is_by_name_whatever_order_minds_finish_in(tmp_path: Path) -> None:
    first = events(simulate(tmp_path, crowd("test_jittery"), name="a.db"))
    second = events(simulate(tmp_path, crowd("test_jittery"), name="b.db"))
    assert first == second
    says = [(tick, person) for _, tick, _, kind, person, _, _ in first if kind == "say"]
    for tick in {tick for tick, _ in says}:
        speakers = [person for t, person in says if t == tick]
        assert speakers == sorted(speakers) and len(speakers) == 6


def test_fixed_step_mode_wakes_everyone_on_the_grid_only(tmp_path: Path) -> None:
    rows = events(simulate(tmp_path, crowd("schedule", 2), hours=3, fixed_step=600))
    assert rows and all(t % 600 == 0 for _, _, t, *_ in rows)
    ticks = {tick for _, tick, *_ in rows}
    assert len(ticks) >= 3


def test_minds_of_one_tick_call_the_model_concurrently_unless_limited(tmp_path: Path) -> None:
    for limit, expected in ((8, 6), (1, 1)):
        model = ScriptedModel(ScriptConfig(seed=1, latency_ms=200))
        simulate(tmp_path, crowd("schedule"), hours=0.5, model=model, concurrency=limit, name=f"c{limit}.db")
        assert model.requests == 6 and model.max_in_flight == expected


INTERVENTIONS = """interventions:
  - {at: +1h, kind: inject, place: Park, text: A band starts playing.}
  - {at: +1h, kind: whisper, person: Ann, text: Bo is planning a surprise.}
  - {at: "2026-03-02T07:30", kind: set_object, place: Home, object: bed, state: broken}
  - {at: +2h, kind: remove_person, person: Bo}
  - at: +2h
    kind: add_person
    spec: {name: Cy, home: Park, routine: [{at: "07:00", do: jogs, place: Park}]}
"""


def test_scheduled_interventions_take_effect_at_their_time_and_are_logged(tmp_path: Path) -> None:
    rows = events(simulate(tmp_path, TINY_WORLD + INTERVENTIONS, hours=4))
    found = {
        (kind, person, json.loads(data).get("kind") or json.loads(data).get("state")): t
        for _, _, t, kind, person, _, data in rows
        if kind in ("intervene", "object", "leave")
    }
    assert found[("intervene", None, "inject")] == 3600
    assert found[("intervene", "Ann", "whisper")] == 3600
    assert found[("object", None, "broken")] == 5400
    assert found[("leave", "Bo", None)] == 7200
    assert found[("intervene", "Cy", "add_person")] == 7200
    assert not [r for r in rows if r[4] == "Bo" and r[2] > 7200], "Bo does nothing after leaving"
    assert [r for r in rows if r[4] == "Cy" and r[3] == "spawn"]


def test_offline_gateway_without_recorded_replies_falls_back_and_logs_it(tmp_path: Path) -> None:
    scenario = parse_scenario(TINY_WORLD)
    path = tmp_path / "r.db"
    log = RunLog(create_run_file(path))
    calls: list[dict[str, Any]] = []
    gateway = Gateway(ReplayTransport({}), calls.append, Endpoint(None))
    sim = Simulation(scenario, log, gateway, calls, seed=1)
    sim.begin()
    asyncio.run(sim.run(3600))
    log.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT status, fallback FROM llm_call").fetchall() == [("replay_miss", 1)] * 2


@pytest.mark.parametrize("hours", [5])
def test_people_follow_their_routine_to_the_right_places(tmp_path: Path, hours: int) -> None:
    rows = events(simulate(tmp_path, TINY_WORLD, hours=hours))
    ann = [(t, kind, place, json.loads(data)) for _, _, t, kind, person, place, data in rows if person == "Ann"]
    arrivals = [(t, place) for t, kind, place, _ in ann if kind == "arrive"]
    assert arrivals and arrivals[0][1] == "Park:lawn"
    left_at = next(t for t, kind, _, d in ann if kind == "move")
    assert abs(left_at - 4 * 3600) <= 10 * 60, "Ann leaves for the park around 10:00 (± jitter)"
    assert arrivals[0][0] - left_at == 5 * 60, "the walk takes the link's 5 minutes"

"""The role mind: each member answers with their role's model and recalls what earlier phases came to."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sim.teams.plugin  # noqa: F401  (registers the role mind)
from sim.core.mind import MindContext
from sim.core.rng import Stream
from sim.core.world import World
from sim.teams.roles import RoleMind
from sim.worldfile.scenario import parse_scenario

WORLD = """\
hamlet: 1
name: Roles
start: 2026-05-04T09:00
mind: role
model: {model: world-model, temperature: 0.2}
sectors:
  - name: Office
    areas: [{name: room}]
people:
  - {name: Ana, home: Office, model: {model: person-model, max_tokens: 300}}
  - {name: Ben, home: Office}
team:
  task: a calculator
  roles:
    - {name: Lead, person: Ana, model: {model: role-model}}
    - {name: Coder, person: Ben}
  chain:
    - {phase: Plan, instructor: Lead, assistant: Coder, prompt: plan}
"""


def mind(name: str) -> RoleMind:
    scenario = parse_scenario(WORLD)
    ctx = MindContext(scenario, World(scenario), None, Stream(0, name), {"embeddings": "hash"})  # type: ignore[arg-type]
    return RoleMind(scenario.person(name), ctx)


def test_a_roles_own_model_comes_before_the_persons_and_the_worlds() -> None:
    ana, ben = mind("Ana"), mind("Ben")
    lead = ana._settings(ana.roles["Lead"])
    assert (lead.model, lead.max_tokens, lead.temperature) == ("role-model", 300, 0.2)
    coder = ben._settings(ben.roles["Coder"])
    assert (coder.model, coder.max_tokens) == ("world-model", None)


def test_a_member_recalls_the_phases_most_relevant_to_what_is_asked_and_keeps_them_in_the_run_file() -> None:
    ben = mind("Ben")
    start = ben.ctx.scenario.start

    async def go() -> list[str]:
        await ben.remember("Greeting, with the Lead Ana: the office opens at nine", start)
        await ben.remember(
            "Plan, with the Lead Ana: the calculator adds and divides numbers", start + timedelta(minutes=5)
        )
        await ben.remember("Review, with the Lead Ana: the colour scheme is blue", start + timedelta(minutes=10))
        recalled = await ben.recall("which numbers does the calculator divide", 700)
        return [m.text for m in recalled]

    texts = asyncio.run(go())
    assert texts[0].startswith("Plan, with the Lead Ana")
    assert [(row["id"], row["t"], row["kind"]) for row in ben.ctx.memories] == [
        (1, 0, "dialogue"),
        (2, 300, "dialogue"),
        (3, 600, "dialogue"),
    ]
    assert ben.state()["next_id"] == 4

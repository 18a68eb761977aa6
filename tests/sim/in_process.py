"""One way for engine tests to run a world in this process: the scripted model behind the real gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sim.core.engine import Simulation
from sim.llm.gateway import Endpoint, Gateway
from sim.llm.inprocess import ScriptedTransport
from sim.llm.scripted import ScriptConfig, ScriptedModel, model_name
from sim.runfile.log import RunLog, create_run_file
from sim.worldfile.scenario import parse_scenario


def run_in_process(
    path: Path,
    text: str,
    hours: float,
    *,
    seed: int = 1,
    model: ScriptedModel | None = None,
    fixed_step: int | None = None,
    concurrency: int = 8,
    schedule: str = "lookahead",
    lookahead: int | None = None,
    timeout_s: float = 5.0,
) -> Simulation:
    """Run world ``text`` for ``hours`` into ``path`` on ``model`` (the scripted model of ``seed`` if None)."""
    log = RunLog(create_run_file(path))
    model = model or ScriptedModel(ScriptConfig(seed=seed))
    endpoint = Endpoint(None, "x", model_name(model.config.profile), "json_schema", timeout_s, 0.01)
    calls: list[dict[str, Any]] = []
    transport = ScriptedTransport(model, endpoint.timeout_s)
    gateway = Gateway(transport, calls.append, endpoint, concurrency=concurrency)
    sim = Simulation(
        parse_scenario(text),
        log,
        gateway,
        calls,
        seed=seed,
        fixed_step=fixed_step,
        schedule=schedule,
        lookahead=lookahead,
    )
    sim.begin()

    async def go() -> None:
        await sim.run(int(hours * 3600))
        await gateway.aclose()

    asyncio.run(go())
    log.close()
    return sim

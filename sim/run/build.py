"""The builder of runs: what a new run, a resume, a fork and an interview set up the same way.

Each starts a backend (``sim.llm.backends.open_backend``), then takes from here the options its
run row records, the gateway to that backend and, for a run, the ``Simulation`` wired to both.
"""

from __future__ import annotations

from typing import Any

from sim.core.engine import Simulation
from sim.core.mind import apply_settings, check_minds
from sim.llm.backends import Backend, LLMOptions
from sim.llm.gateway import Gateway, Sink
from sim.runfile.log import RunLog
from sim.teams.schema import apply_task
from sim.worldfile.scenario import Scenario


def prepare(
    scenario: Scenario,
    settings: list[str],
    *,
    task_source: str | None = None,
    task: str | None = None,
    model: str | None = None,
) -> None:
    """Make ``scenario`` the world a run thinks in: ``--set`` settings, the team's task, checked minds, the model.

    ``task_source`` names the world in the task's errors; None leaves the team's task as the world
    has it (a fork, an interview).
    """
    apply_settings(scenario, settings)
    if task_source is not None:
        apply_task(scenario, task, task_source)
    check_minds(scenario)
    if model:
        # names the world's default model; people with a model of their own keep it
        scenario.model = scenario.model.model_copy(update={"model": model})


def run_options(llm: LLMOptions, backend: Backend, fixed_step: int | None, settings: list[str]) -> dict[str, Any]:
    """The options a run row records: the model options given, the backend that answered and how the run steps."""
    # model_file: the absolute path of the GGUF file served, so resume, fork and interview serve it again
    return {
        **llm.recorded(),
        "backend": backend.kind,
        "resolved_model": backend.endpoint.model,
        "model_file": backend.model_file,
        "fixed_step": fixed_step,
        "concurrency": backend.concurrency,
        "settings": settings,
    }


def gateway_for(backend: Backend, sink: Sink, budget_usd: float | None, *, preload: bool = True) -> Gateway:
    """The gateway to ``backend`` with its row sink and budget; ``preload``: with the backend's replies cached."""
    return Gateway(
        backend.transport,
        sink,
        backend.endpoint,
        concurrency=backend.concurrency,
        budget_usd=budget_usd,
        cache=dict(backend.cache) if preload else {},
    )


def simulation(
    scenario: Scenario,
    log: RunLog,
    backend: Backend,
    *,
    seed: int,
    budget_usd: float | None,
    fixed_step: int | None = None,
    schedule: str = "lookahead",
    lookahead: int | None = None,
) -> Simulation:
    """A ``Simulation`` writing to ``log`` whose gateway talks to ``backend`` and hands its rows to the tick batch."""
    calls: list[dict[str, Any]] = []
    gateway = gateway_for(backend, calls.append, budget_usd)
    return Simulation(
        scenario, log, gateway, calls, seed=seed, fixed_step=fixed_step, schedule=schedule, lookahead=lookahead
    )

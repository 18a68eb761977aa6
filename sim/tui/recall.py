"""What a person would recall for a query at the viewed time, read through their mind kind's introspection.

The viewer does not import the minds: each kind registers a ``sim.core.mind.Introspection``, which
rebuilds the person's stream from their memory rows formed by then, with the access times of
the newest snapshot at or before then, and scores every memory exactly as the mind would,
touching none of them.
"""

from __future__ import annotations

from typing import Any

from sim.core.mind import Recalled, apply_settings, introspection, load_minds
from sim.worldfile.scenario import Scenario

__all__ = ["Recalled", "mind_params", "recall"]


def mind_params(scenario: Scenario, person: str, settings: list[str]) -> tuple[str, dict[str, Any]]:
    """The person's mind kind and its parameters as the run used them (defaults, the world's, then ``--set``)."""
    load_minds()  # registers the minds, whose parameters --set may name
    world = scenario.model_copy(deep=True)
    apply_settings(world, settings)
    kind = world.mind_of(world.person(person))
    found = introspection(kind)
    params = world.minds.get(kind, {})
    return kind, found.params(params) if found is not None else dict(params)


def recall(
    kind: str,
    rows: list[dict[str, Any]],
    state: dict[str, Any],
    query: str,
    now: int,
    params: dict[str, Any],
    k: int = 20,
) -> list[Recalled]:
    """The ``k`` best of ``rows`` for ``query`` at second ``now``, as a ``kind`` mind with saved ``state`` recalls."""
    found = introspection(kind)
    return found.recall(rows, state, query, now, params, k) if found is not None else []

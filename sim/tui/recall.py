"""What a person would recall for a query at the viewed time: the generative mind's retrieval, read-only.

The person's stream is rebuilt from their memory rows formed by then, with the access times of
the newest snapshot at or before then, and embedded with the run's own embedder (WordLlama
unless the run chose another); ``agents.memory.MemoryStream.retrieve`` then scores every memory
exactly as the mind would, touching none of them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sim.scenario import Scenario


@dataclass(slots=True, frozen=True)
class Recalled:
    """One memory's retrieval scores for a query: each component normalised to 0–1, and the weighted total."""

    id: int
    kind: str
    text: str
    created: int
    importance: float
    recency: float
    importance_score: float
    relevance: float
    total: float


def mind_params(scenario: Scenario, person: str, settings: list[str]) -> dict[str, Any]:
    """The person's mind parameters as the run used them (the world's, then the run's ``--set`` overrides)."""
    import agents  # noqa: F401  (registers the minds, whose parameters --set may name)
    from agents.generative import DEFAULTS
    from sim.mind import apply_settings

    world = scenario.model_copy(deep=True)
    apply_settings(world, settings)
    kind = world.mind_of(world.person(person))
    return {**DEFAULTS, **world.minds.get(kind, {})}


def recall(rows: list[dict[str, Any]], accessed: dict[str, Any], query: str, now: int, params: dict[str, Any],
           k: int = 20) -> list[Recalled]:
    """The ``k`` best of ``rows`` (one person's memory rows, in id order) for ``query`` at second ``now``."""
    if not rows or not query.strip():
        return []
    from agents.embeddings import shared_embedder
    from agents.generative import weights
    from agents.memory import MemoryStream

    embedder = shared_embedder(params.get("embeddings"))
    texts = [str(row["text"]) for row in rows]
    vectors = asyncio.run(embedder.embed([*texts, query]))
    stream = MemoryStream.from_rows([_Row(row) for row in rows], vectors[:-1])
    known = {key: value for key, value in accessed.items() if int(key) in {int(r["id"]) for r in rows}}
    stream.restore({"accessed": known})
    scored = stream.retrieve(vectors[-1], now, weights(params), k=k, before=now, touch=False)
    return [Recalled(s.memory.id, s.memory.kind, s.memory.text, s.memory.created, s.memory.importance,
                     s.recency, s.importance, s.relevance, s.total) for s in scored]


class _Row:
    """A memory row dict seen with attribute access, as ``agents.memory.memory_from_row`` reads rows."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.id, self.t, self.kind, self.text = row["id"], row["t"], row["kind"], row["text"]
        self.importance, self.evidence = row["importance"], row["evidence"]

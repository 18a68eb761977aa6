"""Quality of a team's program, as the ChatDev paper (Qian et al., 2023, §4) defines it.

- completeness: 1 when no program file holds a placeholder (``pass``, ``...``, TODO, FIXME,
  NotImplementedError), else 0; the paper's figure is the share of programs of which this holds.
- executability: 1 when the program runs in the sandbox to its end without error, else 0 (``runs``).
- consistency: the cosine similarity of the embeddings of the task and of the program's code
  (the paper embeds both with a text-embedding model; Hamlet uses the run's embedder), at least 0.
- quality: the product of the three.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from agents.embeddings import Embedder
from sim.teams.artifacts import placeholders
from sim.teams.sandbox import Outcome


def runs(outcome: Outcome) -> bool:
    """Whether the program ran without error: it exited by itself with status 0, within every limit.

    ChatDev's own test also counts a program still running after a few seconds without an error
    (a game loop waiting for its player); Hamlet does not, since a program that spins silently, or
    forks until it is stopped, looks the same from outside. A program meant to be tested should
    finish on its own, as the software company's prompts ask of main.py.
    """
    return outcome.exit_code == 0


@dataclass(frozen=True, slots=True)
class Quality:
    """The four figures of one program, and what they were measured on."""

    completeness: float
    executability: float
    consistency: float
    quality: float
    code_files: int
    placeholder_lines: int

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return asdict(self)


async def measure(task: str, code: dict[str, str], ran: bool, embedder: Embedder) -> Quality:
    """The quality of the program ``code`` (its files by name) written for ``task``; ``ran``: it runs."""
    marks = sum(len(placeholders(text)) for text in code.values())
    completeness = 1.0 if code and marks == 0 else 0.0
    executability = 1.0 if code and ran else 0.0
    consistency = 0.0
    if code and task.strip():
        vectors = await embedder.embed([task, "\n".join(code.values())])
        consistency = max(0.0, round(float(np.dot(vectors[0], vectors[1])), 4))
    return Quality(
        completeness, executability, consistency, round(completeness * executability * consistency, 4), len(code), marks
    )

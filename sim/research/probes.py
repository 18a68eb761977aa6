"""Interview probes: ask every person about a fact, or whether they know each other, as the paper did.

Each question goes through ``sim.research.interview`` with the run's model options, so it is answered
from the person's memories as of the probed time and recorded in the run's ``interview`` table.
The person answers in a structured form (``Heard``: have they heard of it, and what), so a
capable model's own answer decides. The knowing rule (``sim.research.knowing``) checks the
"what": for a fact, whether it carries the news; for a person, whether it names them undenied.
Both go to the run's ``probe`` table, and ``hamlet metrics`` reports where they disagree.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx
from pydantic import BaseModel, Field

from sim.llm.options import LLMOptions
from sim.research.knowing import carries, words
from sim.research.metrics import RunMetrics, mentioned, name_keys, pandas
from sim.runfile.queries import add_probes
from sim.worldfile.scenario import FactSpec

COLUMNS = ["person", "question", "heard", "what", "keyword", "agree"]


class Heard(BaseModel):
    """A probe's structured answer."""

    heard: bool = Field(description="true if you have heard of it (or know them), false if not")
    what: str = Field(max_length=600, description="what you heard or know, in your own words; empty if nothing")


def parse(answer: str) -> tuple[bool | None, str]:
    """(heard, what) of a recorded structured answer; (None, answer) if it is not one (an older file, a failed call)."""
    try:
        data = json.loads(answer)
        return bool(data["heard"]), str(data.get("what", ""))
    except (ValueError, TypeError, KeyError):
        return None, answer


def confirms(fact: FactSpec, what: str) -> bool:
    """Whether what a person says they heard carries ``fact`` (the knowing rule)."""
    return carries(fact, what)


def knows_from_answer(answer: str, other: str, everyone: list[str]) -> bool:
    """Whether what a person says of OTHER names them and denies nothing (the knowing rule's denials)."""
    keys = name_keys(everyone)
    longest = max(len(k.split()) for k in keys)
    if other not in mentioned(answer, keys, longest):
        return False
    named = FactSpec(name="person", text=other, keywords=[" ".join(words(k)) for k, v in keys.items() if v == other])
    return carries(named, answer)


def _question(asked: str) -> str:
    return f"{asked} Say whether you have heard of it, and what exactly you heard."


def probe_fact(metrics: RunMetrics, fact: FactSpec, at: int, llm: LLMOptions, people: list[str] | None = None) -> Any:
    """Ask each person present at ``at`` the fact's question; their answers, the rule's check, and whether they agree."""
    from sim.research.interview import (
        interview_many,  # the model client loads only when a probe is asked for
    )

    asked = people or metrics.people(at)
    question = _question(fact.probe())
    exchanges = interview_many(str(metrics.path), [(p, question) for p in asked], metrics.when(at), llm, Heard)
    rows = []
    for e in exchanges:
        heard, what = parse(e.answer)
        check = confirms(fact, what)
        rows.append(
            {
                "person": e.person,
                "question": e.question,
                "heard": heard,
                "what": what,
                "keyword": check,
                "agree": heard is not None and heard == check,
            }
        )
    _record(metrics, at, "fact", [fact.name] * len(rows), rows)
    return pandas().DataFrame(rows, columns=COLUMNS)


def probe_acquaintance(
    metrics: RunMetrics, at: int, llm: LLMOptions, people: list[str] | None = None
) -> tuple[Any, nx.DiGraph]:
    """Ask every person "Do you know X?" about everyone else present; the answers and the graph their own answers draw."""
    from sim.research.interview import interview_many

    present = metrics.people(at)
    askers = people or present
    pairs = [(a, b) for a in askers for b in present if b != a]
    asks = [(a, f"Do you know {b}? Say whether you know them, and what you know of them.") for a, b in pairs]
    exchanges = interview_many(str(metrics.path), asks, metrics.when(at), llm, Heard)
    graph = nx.DiGraph()
    graph.add_nodes_from(present)
    rows = []
    for (_, other), exchange in zip(pairs, exchanges, strict=True):
        heard, what = parse(exchange.answer)
        check = knows_from_answer(what, other, present)
        rows.append(
            {
                "person": exchange.person,
                "other": other,
                "question": exchange.question,
                "heard": heard,
                "what": what,
                "keyword": check,
                "agree": heard is not None and heard == check,
            }
        )
        if heard:
            graph.add_edge(exchange.person, other)
    _record(metrics, at, "person", [b for _, b in pairs], rows)
    return pandas().DataFrame(rows, columns=["person", "other", *COLUMNS[1:]]), graph


def _record(metrics: RunMetrics, at: int, kind: str, subjects: list[str], rows: list[dict[str, Any]]) -> None:
    """Add the probes to the run file's ``probe`` table (created in files from before it existed)."""
    when = metrics.when(at)
    add_probes(
        metrics.path,
        [
            (r["person"], at, when, kind, subject, r["question"], r["heard"], r["what"], r["keyword"])
            for subject, r in zip(subjects, rows, strict=True)
        ],
    )

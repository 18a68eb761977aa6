"""Interview probes: ask every person about a fact, or whether they know each other, as the paper did.

Each question goes through ``sim.interview`` with the run's model options, so it is answered
from the person's memories as of the probed time and recorded in the run's ``interview`` table.
An answer confirms a fact when it contains one of the fact's keywords (any case), and says the
person knows someone when it names them; in both cases only if it denies nothing ("don't know",
"never heard", "haven't", ...).
"""

from __future__ import annotations

import re
from typing import Any

import networkx as nx

from sim.llm.options import LLMOptions
from sim.research.metrics import RunMetrics, mentioned, name_keys, pandas
from sim.scenario import FactSpec

_DENIALS = re.compile(r"\b(don't|do not|doesn't|does not|never|not sure who|no idea|haven't|have not|hasn't|"
                      r"has not|not heard|not know)\b", re.IGNORECASE)


def confirms(fact: FactSpec, answer: str) -> bool:
    """Whether an interview answer shows knowledge of ``fact``: it has one of its keywords and denies nothing.

    Answers may echo the question's words ("No, I haven't heard of any party"), hence the denials.
    The rule is a heuristic: the answers are kept, for reading.
    """
    folded = answer.casefold()
    return any(mark.casefold() in folded for mark in fact.marks()) and not _DENIALS.search(answer)


def knows_from_answer(answer: str, other: str, everyone: list[str]) -> bool:
    """Whether an answer to "Do you know OTHER?" says yes: it names them and denies nothing."""
    keys = name_keys(everyone)
    longest = max(len(k.split()) for k in keys)
    return other in mentioned(answer, keys, longest) and not _DENIALS.search(answer)


def probe_fact(metrics: RunMetrics, fact: FactSpec, at: int, llm: LLMOptions,
               people: list[str] | None = None) -> Any:
    """Ask each person present at ``at`` the fact's question; a table of answers and whether each confirms it."""
    from sim.interview import (
        interview_many,  # the model client loads only when a probe is asked for
    )

    asked = people or metrics.people(at)
    question = fact.probe()
    exchanges = interview_many(str(metrics.path), [(p, question) for p in asked], metrics.when(at), llm)
    rows = [{"person": e.person, "question": e.question, "answer": e.answer, "confirms": confirms(fact, e.answer)}
            for e in exchanges]
    return pandas().DataFrame(rows, columns=["person", "question", "answer", "confirms"])


def probe_acquaintance(metrics: RunMetrics, at: int, llm: LLMOptions,
                       people: list[str] | None = None) -> tuple[Any, nx.DiGraph]:
    """Ask every person "Do you know X?" about everyone else present; the answers and the graph they draw."""
    from sim.interview import interview_many

    present = metrics.people(at)
    askers = people or present
    asks = [(a, f"Do you know {b}?") for a in askers for b in present if b != a]
    exchanges = interview_many(str(metrics.path), asks, metrics.when(at), llm)
    graph = nx.DiGraph()
    graph.add_nodes_from(present)
    rows = []
    for exchange in exchanges:
        other = exchange.question.removeprefix("Do you know ").removesuffix("?")
        knows = knows_from_answer(exchange.answer, other, present)
        rows.append({"person": exchange.person, "other": other, "answer": exchange.answer, "knows": knows})
        if knows:
            graph.add_edge(exchange.person, other)
    return pandas().DataFrame(rows, columns=["person", "other", "answer", "knows"]), graph

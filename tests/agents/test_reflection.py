"""Reflection fires exactly when the importance since the last one passes the threshold."""

from __future__ import annotations

import json
from typing import Any

from agents.generative.reflection import due


def test_reflection_fires_only_once_the_threshold_is_passed() -> None:
    threshold = 150.0
    total = 0.0
    fired_at = None
    for count, importance in enumerate([9, 8, 10, 7] * 10, 1):
        total += importance
        if due(total, threshold):
            fired_at = (count, total)
            break
    # 9+8+10+7 = 34 a round: after 16 scores 136, 17th (9) → 145, 18th (8) → 153 > 150
    assert fired_at == (18, 153)


def test_reaching_the_threshold_exactly_is_not_passing_it() -> None:
    assert not due(150.0, 150.0) and due(150.5, 150.0)


def test_a_reflection_asks_its_questions_then_insights_for_each_from_its_own_statements_then_rates_them() -> None:
    """Park et al. §4.2: questions over the newest memories; per question, the memories retrieved for it are
    the statements the insights cite; the insights' importance is rated like any memory's."""
    import asyncio

    from agents.generative.reflection import questions_model
    from tests.agents.test_reaction import MONDAY, Model, ada, wake

    mind = ada(reflection_threshold=1000)  # no reflection of its own while waking
    questions = ["What worries Ada?", "What worries Ada?", "Who does Ada trust?"]

    def insights(schema: Any, task: str) -> Any:
        # the question is the line after the instruction (what repeats comes first)
        return schema.model_validate({"insights": [{"text": f"Insight on {task.splitlines()[1]}", "because": [1, 2]}]})

    model = Model(
        mind,
        reflection_questions=lambda s, t: questions_model(3)(questions=questions),
        reflection_insights=insights,
        importance=lambda schema, task: schema(scores=[9] * task.count("\n")),
    )
    wake(mind, MONDAY)
    t = 3600
    asyncio.run(mind.reflection.reflect(t))
    (asked,) = model.tasks("reflection_questions")
    assert "The mayor closes the old mill bridge on Thursday" in asked, "asked over the newest memories"
    per_question = model.tasks("reflection_insights")
    assert [task.splitlines()[1] for task in per_question] == [
        "Question: What worries Ada?",
        "Question: Who does Ada trust?",
    ]
    rows = [row for row in mind.ctx.memories if row["kind"] == "reflection"]
    assert [row["text"] for row in rows] == [
        "Insight on Question: What worries Ada?",
        "Insight on Question: Who does Ada trust?",
    ]
    assert all(row["importance"] == 9.0 for row in rows), "rated by the importance call, not self-rated"
    for row, task in zip(rows, per_question, strict=True):
        statements = [line.split(". ", 1)[1] for line in task.splitlines() if line[:1].isdigit()]
        cited = [m.text for m in mind.memory.stream if m.id in json.loads(row["evidence"])]
        assert sorted(cited) == sorted(statements[:2]), "the evidence is the statements cited, from that question's"

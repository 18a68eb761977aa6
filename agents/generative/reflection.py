"""Reflection: when recent observations matter enough, ask what they add up to and keep the insights.

Park et al. 2023 §4.2. Once the importance of what was perceived and heard since the last
reflection passes ``reflection_threshold`` (150, the paper's), the person asks the
``reflection_questions`` (3) most salient high-level questions that their ``reflection_window``
(100) most recent memories raise (one call); for each question, the memories retrieved for it
are the statements, and one call draws up to ``insights_per_question`` (5) insights, each citing
the statements it rests on (its evidence); then the insights' importance is rated in one call,
as every memory's is, and they are stored as ``reflection`` memories. So a reflection costs
1 + questions + 1 calls (5 by default), three of them one after another: the questions' insight
calls are asked at once (the statements for each retrieved in turn first). When: the threshold is
checked after a decision (the paper's code plans, then reflects, then acts), and the reflection is
a unit of its own a second later (``Decision.reflect``): nobody waits for it but the person, whose
next unit sees its memories. Differences from the paper: the importance counter also
adds conversations (the paper counts perceived events only); questions are asked over the newest
memories by creation, not by last access; the insights' importance is rated in one batched call.
``--set reflection=off`` leaves this component out; it keeps no state of its own (the counter is
the memory's, which perception and conversations add to whatever the ablations, so snapshots
keep one shape).
"""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints, create_model

from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.text import numbered
from agents.memory import Memory
from sim.llm.grammar import Words

Text = Annotated[str, StringConstraints(max_length=200), Words(3, 20)]


def due(importance_since: float, threshold: float) -> bool:
    """Reflection fires when the importance of observations since the last one passes the threshold."""
    return importance_since > threshold


@cache
def questions_model(count: int) -> type[BaseModel]:
    """The schema asking for the ``count`` most salient questions about recent memories."""
    return create_model("Questions", questions=(list[Text], Field(min_length=count, max_length=count)))


@cache
def insights_model(per_question: int, memories: int) -> type[BaseModel]:
    """The schema of up to ``per_question`` insights, each citing the numbers of the statements it rests on."""
    insight = create_model(
        "Insight",
        text=(Text, ...),
        because=(list[Annotated[int, Field(ge=1, le=memories)]], Field(min_length=1, max_length=5)),
    )
    return create_model("Insights", insights=(list[insight], Field(min_length=1, max_length=per_question)))


class Reflection:
    """Reflects when due: questions, then insights with evidence for each, rated and stored as ``reflection`` memories."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("reflection_questions", "reflection_insights")
    """The ``purpose`` of each LLM call this component makes (the insights' rating is the memory's ``importance``)."""

    EMPTY: ClassVar[dict[str, Any]] = {}
    """The state reflection saves: none (see the module's note)."""

    def __init__(self, identity: Identity, memory: Memories, params: dict[str, Any]) -> None:
        self.identity, self.memory = identity, memory
        self.threshold = float(params["reflection_threshold"])
        self.window = int(params["reflection_window"])
        self.questions = int(params["reflection_questions"])
        self.per_question = int(params["insights_per_question"])

    def due(self) -> bool:
        """Whether the importance perceived since the last reflection passed the threshold."""
        return due(self.memory.importance_since, self.threshold)

    async def reflect(self, t: int) -> None:
        """The salient questions (a call), insights with evidence for each (a call each), their importance (a call)."""
        memory = self.memory
        assert memory.stream is not None
        memory.importance_since = 0.0
        recent = memory.recent(self.window)
        count = self.questions
        asked = await self.identity.ask(
            questions_model(count),
            "reflection_questions",
            f"What are the {count} most salient high-level questions these raise about "
            "you and the people around you?\n"
            f"Your recent memories:\n{numbered([m.text for m in recent])}",
            questions_model(count)(questions=["What matters most to me now?"] * count),
            t=t,
        )
        texts: list[str] = []
        evidence: list[list[int]] = []
        questions = list(dict.fromkeys(asked.questions))  # the same question twice is asked once
        # The statements for each question are retrieved in turn (retrieval marks what it recalls as
        # accessed); then the questions are asked at once: none reads another's answer.
        statements = [await self.memory.retrieve(question, t) for question in questions]
        answers = await asyncio.gather(
            *(self.insights(q, found, t) for q, found in zip(questions, statements, strict=True))
        )
        for found in answers:
            for text, because in found:
                if text not in texts:
                    texts.append(text)
                    evidence.append(because)
        if texts:
            await memory.remember("reflection", texts, await memory.score(texts, t), t, evidence)

    async def insights(self, question: str, statements: list[Memory], t: int) -> list[tuple[str, list[int]]]:
        """Up to ``insights_per_question`` insights on ``question`` from the ``statements`` retrieved for it, with their ids."""
        if not statements:
            return []
        per = self.per_question
        prompt = (
            f"What up to {per} high-level insights can you infer from these statements? Cite the statements "
            f"each rests on.\nQuestion: {question}\nStatements:\n{numbered([m.text for m in statements])}"
        )
        answer = await self.identity.ask(insights_model(per, len(statements)), "reflection_insights", prompt, None, t=t)
        if answer is None:
            return []
        return [(i.text, list(dict.fromkeys(statements[n - 1].id for n in i.because))) for i in answer.insights]

    def state(self) -> dict[str, Any]:
        """Nothing to save."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Nothing to load."""

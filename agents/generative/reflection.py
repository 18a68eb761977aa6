"""Reflection: when recent observations matter enough, ask what they add up to and keep the insights.

Park et al. 2023 §4.2: once the importance of what was perceived since the last reflection
passes a threshold, ask the salient questions recent memories raise, retrieve for each, and
store insights citing their evidence. ``--set reflection=off`` leaves this component out; it
keeps no state of its own (the importance counter is the memory's, which perception and
conversations add to whatever the ablations, so snapshots keep one shape).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, StringConstraints, create_model

from agents.generative.identity import Identity
from agents.generative.memory import Memories
from agents.generative.text import numbered
from agents.memory import Memory

Text = Annotated[str, StringConstraints(max_length=200)]


def due(importance_since: float, threshold: float) -> bool:
    """Reflection fires when the importance of observations since the last one passes the threshold."""
    return importance_since > threshold


@cache
def questions_model(count: int) -> type[BaseModel]:
    """The schema asking for the ``count`` most salient questions about recent memories."""
    return create_model("Questions", questions=(list[Text], Field(min_length=count, max_length=count)))


@cache
def insights_model(questions: int, per_question: int, memories: int) -> type[BaseModel]:
    """The schema of insights, each citing the numbers of the memories it rests on."""
    insight = create_model(
        "Insight",
        question=(int, Field(ge=1, le=questions)),
        text=(Text, ...),
        because=(list[Annotated[int, Field(ge=1, le=memories)]], Field(min_length=1, max_length=5)),
        importance=(int, Field(ge=1, le=10)),
    )
    return create_model("Insights", insights=(list[insight], Field(min_length=1, max_length=questions * per_question)))


class Reflection:
    """Reflects when due: questions, then insights with evidence, stored as ``reflection`` memories."""

    PURPOSES: ClassVar[tuple[str, ...]] = ("reflection_questions", "reflection_insights")
    """The ``purpose`` of each LLM call this component makes."""

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
        """Two calls: the salient questions, then insights citing the memories retrieved for them."""
        memory = self.memory
        assert memory.stream is not None
        memory.importance_since = 0.0
        recent = memory.recent(self.window)
        count = self.questions
        asked = await self.identity.ask(questions_model(count), "reflection_questions",
                                        f"Your recent memories:\n{numbered([m.text for m in recent])}\n"
                                        f"What are the {count} most salient high-level questions these raise about "
                                        "you and the people around you?",
                                        questions_model(count)(questions=["What matters most to me now?"] * count))
        questions: list[str] = asked.questions
        pool: dict[int, Memory] = {}
        for question in questions:
            for found in await memory.retrieve(question, t):
                pool.setdefault(found.id, found)
        evidence = list(pool.values())
        if not evidence:
            return
        per = self.per_question
        schema = insights_model(len(questions), per, len(evidence))
        prompt = (f"Questions:\n{numbered(questions)}\nStatements:\n{numbered([m.text for m in evidence])}\n"
                  f"For each question give up to {per} insights, each citing the statements it rests on.")
        answer = await self.identity.ask(schema, "reflection_insights", prompt, None)
        if answer is None:
            return
        insights = answer.insights
        await memory.remember("reflection", [i.text for i in insights], [float(i.importance) for i in insights], t,
                              [[evidence[n - 1].id for n in i.because] for i in insights])

    def state(self) -> dict[str, Any]:
        """Nothing to save."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Nothing to load."""

"""Reflection: when recent observations matter enough, ask what they add up to and keep the insights."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, create_model

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

"""The base of every part of a world file: strict specs, model settings, and reference errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.bounds import MAX_TOKENS, Usd


class Spec(BaseModel):
    """Base for scenario parts: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class ModelSettings(Spec):
    """Which model answers and how; any field left out is inherited from the scenario or CLI."""

    model: str | None = Field(None, description="the model's name as the server knows it")
    temperature: float | None = Field(None, ge=0, le=2, allow_inf_nan=False,
                                      description="sampling temperature, 0 to 2 (default 0.7)")
    max_tokens: int | None = Field(None, gt=0, le=MAX_TOKENS, description="longest reply in tokens (default 400)")
    price_in_per_mtok: Usd | None = Field(None, description="USD per million prompt tokens")
    price_out_per_mtok: Usd | None = Field(None, description="USD per million completion tokens")

    @model_validator(mode="before")
    @classmethod
    def _one_file(cls, data: Any) -> Any:
        # One llama.cpp server answers everyone, so only the world's own model: names its file.
        if cls is ModelSettings and isinstance(data, dict) and "file" in data:
            raise ValueError("file: a GGUF file goes in the world's top-level model: (one llama.cpp server "
                             "answers everyone); remove it here")
        return data

    def over(self, base: ModelSettings) -> ModelSettings:
        """Return these settings with unset fields taken from ``base`` (the world's file is not one of them)."""
        merged = {k: v for k, v in base.model_dump().items() if k in ModelSettings.model_fields}
        merged.update({k: v for k, v in self.model_dump().items() if v is not None})
        return ModelSettings(**merged)


class WorldModelSettings(ModelSettings):
    """The world's own ``model:``: the settings for everyone, and the GGUF file for ``--llm local``."""

    file: str | None = Field(None, min_length=1, description="a GGUF model file for --llm local to serve instead "
                             "of the bundled SmolLM2-135M (a path relative to the world file, or absolute; "
                             "--model-file overrides it); other backends ignore it")


class ScenarioReferenceError(ValueError):
    """A reference inside the scenario that names nothing; carries the field path."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message

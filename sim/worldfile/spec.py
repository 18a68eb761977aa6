"""The base of every part of a world file: strict specs, model settings, and reference errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sim.worldfile.bounds import MAX_CONCURRENCY, MAX_TOKENS, Usd


def shorthand(value: Any, key: str) -> Any:
    """A list whose plain strings stand for ``{key: string}`` (``objects: [bed]``, ``endpoints: [URL]``), expanded."""
    if isinstance(value, list):
        return [{key: item} if isinstance(item, str) else item for item in value]
    return value


class Spec(BaseModel):
    """Base for scenario parts: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class ModelSettings(Spec):
    """Which model answers and how; any field left out is inherited from the scenario or CLI."""

    model: str | None = Field(None, description="the model's name as the server knows it")
    temperature: float | None = Field(
        None, ge=0, le=2, allow_inf_nan=False, description="sampling temperature, 0 to 2 (default 0.7)"
    )
    max_tokens: int | None = Field(None, gt=0, le=MAX_TOKENS, description="longest reply in tokens (default 400)")
    price_in_per_mtok: Usd | None = Field(None, description="USD per million prompt tokens")
    price_out_per_mtok: Usd | None = Field(None, description="USD per million completion tokens")

    @model_validator(mode="before")
    @classmethod
    def _one_file(cls, data: Any) -> Any:
        # One llama.cpp server answers everyone, so only the world's own model: names its file.
        if cls is ModelSettings and isinstance(data, dict) and "file" in data:
            raise ValueError(
                "file: a GGUF file goes in the world's top-level model: (one llama.cpp server "
                "answers everyone); remove it here"
            )
        # The servers are the run's, shared by everyone (each person's calls keep to one of them).
        if cls is ModelSettings and isinstance(data, dict) and "endpoints" in data:
            raise ValueError(
                "endpoints: the model servers go in the world's top-level model: (they answer "
                "everyone); remove them here"
            )
        return data

    def over(self, base: ModelSettings) -> ModelSettings:
        """Return these settings with unset fields taken from ``base`` (the world's file is not one of them)."""
        merged = {k: v for k, v in base.model_dump().items() if k in ModelSettings.model_fields}
        merged.update({k: v for k, v in self.model_dump().items() if v is not None})
        return ModelSettings(**merged)


class EndpointSpec(Spec):
    """One OpenAI-compatible model server of the world's list: its URL and how many calls it takes at once."""

    url: str = Field(
        min_length=1,
        description="the server's base URL, e.g. http://gpu1:8000/v1 (no key in it: "
        "the world file is recorded in every run; give the key with OPENAI_API_KEY or --api-key)",
    )
    concurrency: int = Field(8, description=f"calls it takes at once, 1 to {MAX_CONCURRENCY} (default 8)")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"{value!r} is not an http:// or https:// URL; give the server's base URL, "
                "e.g. http://localhost:8000/v1"
            )
        return value

    @field_validator("concurrency", mode="before")
    @classmethod
    def _concurrency(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
            raise ValueError(
                f"must be a whole number from 1 to {MAX_CONCURRENCY}: how many calls this server "
                "takes at once; give a positive number, or leave it out for 8"
            )
        return value


class WorldModelSettings(ModelSettings):
    """The world's own ``model:``: the settings for everyone, the GGUF file for ``--llm local``, and the servers."""

    file: str | None = Field(
        None,
        min_length=1,
        description="a GGUF model file for --llm local to serve instead "
        "of the bundled SmolLM2-135M (a path relative to the world file, or absolute; "
        "--model-file overrides it); other backends ignore it",
    )
    endpoints: list[EndpointSpec] = Field(
        [],
        description="OpenAI-compatible servers that share the calls (a URL, "
        "or {url, concurrency}); each person's calls keep to one, and move to "
        "another when it is unreachable; --endpoint overrides them; backends "
        "other than openai ignore them",
    )

    @field_validator("endpoints", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        # A server with the default concurrency may be given by its URL alone.
        return shorthand(value, "url")

    @field_validator("endpoints")
    @classmethod
    def _once_each(cls, value: list[EndpointSpec]) -> list[EndpointSpec]:
        from sim.llm.options import redact_url

        seen: dict[str, int] = {}
        for index, server in enumerate(value):
            if redact_url(server.url) != server.url:  # said without the URL: the line must not show the key
                raise ScenarioReferenceError(
                    f"model.endpoints[{index}].url",
                    "holds a key or password, and the world "
                    "file is recorded in every run; remove it and give the key with "
                    "OPENAI_API_KEY or --api-key",
                )
            key = server.url.rstrip("/")
            if key in seen:
                raise ScenarioReferenceError(
                    f"model.endpoints[{index}]",
                    f"{server.url!r} is listed twice (also "
                    f"model.endpoints[{seen[key]}]); list each server once, with the "
                    "concurrency it takes",
                )
            seen[key] = index
        return value


class ScenarioReferenceError(ValueError):
    """A reference inside the scenario that names nothing; carries the field path."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message

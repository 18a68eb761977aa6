"""The model options every command that asks a model shares, without loading any model client.

Kept apart from ``sim.llm.backends`` so that building the command line (and the commands that
never ask a model: metrics, plots, exports) does not import the ``openai`` package.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

BACKENDS = ("openai", "local", "scripted", "scripted-inprocess", "replay")
"""The model backends ``--llm`` chooses from."""
SCRIPTED = ("scripted", "scripted-inprocess")
"""The backends that answer with the scripted model: over HTTP from a child process, or in this process."""
PROFILES = ("neutral", "eager")
"""The scripted model's behaviour profiles ``--llm-profile`` chooses from (``sim.llm.scripted``)."""


@dataclass(slots=True)
class LLMOptions:
    """The model options shared by ``run``, ``resume`` and ``interview`` (API key kept out of logs)."""

    llm: str | None = None
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    concurrency: int | None = None
    budget_usd: float | None = None
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    replay_from: str | None = None
    json_mode: str | None = None
    timeout_s: float | None = None
    profile: str | None = None  # the scripted model's behaviour profile; None: neutral
    model_file: str | None = None  # the GGUF file the local backend serves; None: the bundled SmolLM2-135M
    endpoints: list[str] | None = None  # --endpoint URL[,concurrency=N], each as given; None: the world's, if any

    def recorded(self) -> dict[str, Any]:
        """The options as written to the run file: no API key, no credentials in URLs."""
        data = asdict(self)
        data.pop("api_key")
        if self.llm in SCRIPTED:  # the run file says which profile answered, so resume and fork use it
            data["profile"] = self.profile or "neutral"
        if data["base_url"]:
            data["base_url"] = redact_url(data["base_url"])
        if data["endpoints"]:
            data["endpoints"] = [redact_url(url) + f",concurrency={n}" for url, n in parse_endpoints(data["endpoints"])]
        return data


ENDPOINT_CONCURRENCY = 8
"""Calls a server of a list takes at once when its entry does not say."""


def parse_endpoints(specs: list[str]) -> list[tuple[str, int]]:
    """``--endpoint URL[,concurrency=N]`` values as (URL, concurrency), checked; a bad one is a ``UserError`` line."""
    from sim.errors import UserError
    from sim.worldfile.bounds import MAX_CONCURRENCY

    servers: list[tuple[str, int]] = []
    seen: dict[str, str] = {}
    for spec in specs:
        url, comma, tail = spec.rpartition(",")
        if not comma or not tail.strip().startswith("concurrency="):
            url, tail = spec, ""
        url = url.strip()
        shown = redact_url(url)
        if not url.startswith(("http://", "https://")):
            raise UserError(
                f"--endpoint {shown or spec!r}: not an http:// or https:// URL; give the server's base URL, "
                "e.g. --endpoint http://localhost:8000/v1,concurrency=4"
            )
        concurrency = ENDPOINT_CONCURRENCY
        if tail:
            value = tail.strip().removeprefix("concurrency=")
            if not value.strip().isdigit() or not 1 <= int(value) <= MAX_CONCURRENCY:
                raise UserError(
                    f"--endpoint {shown}: concurrency={value} must be a whole number from 1 to "
                    f"{MAX_CONCURRENCY} (the calls this server takes at once); give a positive number"
                )
            concurrency = int(value)
        key = url.rstrip("/")
        if key in seen:
            raise UserError(f"--endpoint {shown}: given twice; give each server once, with the concurrency it takes")
        seen[key] = spec
        servers.append((url, concurrency))
    return servers


_SECRET = re.compile(r"key|token|secret|passw|auth|sig|credential", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` without any user:password part or secret query parameter (``?api-key=``, ``token``, ...)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    kept = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True) if not _SECRET.search(name)]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(kept), parts.fragment))


def split_query(url: str) -> tuple[str, dict[str, str]]:
    """A base URL without its query, and the query's parameters: a client sends them with every request.

    (Appended to the base URL as is, a query would end up in the middle of each request's path.)
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", parts.fragment)), query

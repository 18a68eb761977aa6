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

    def recorded(self) -> dict[str, Any]:
        """The options as written to the run file: no API key, no credentials in URLs."""
        data = asdict(self)
        data.pop("api_key")
        if self.llm in SCRIPTED:  # the run file says which profile answered, so resume and fork use it
            data["profile"] = self.profile or "neutral"
        if data["base_url"]:
            data["base_url"] = redact_url(data["base_url"])
        return data


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

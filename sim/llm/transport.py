"""The model transport seam: a transport sends one request to a model and returns its one reply.

The gateway (``sim.llm.gateway``) keeps everything around the call: cache, budget, concurrency,
retries, validation and repair, and the ``llm_call`` rows. A transport only carries the request,
as httpx's ``BaseTransport.handle_request`` does for HTTP. Three ship with Hamlet: the OpenAI
client for real servers (``sim.llm.client``), the scripted model in this process
(``sim.llm.inprocess``) and a recorded run's replies (``sim.llm.replay``).

A transport that gets no reply raises one of the errors below; its message is what the call's
``llm_call`` row records, so two transports that fail the same way write the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Request:
    """One chat completion request: model, messages, the answer's format, sampling parameters, cache key."""

    model: str
    messages: list[dict[str, str]]
    response_format: dict[str, Any] | None  # None: the schema is in the prompt only
    params: dict[str, Any]  # temperature, max_tokens
    key: str  # the call's cache key: what a recording is looked up by (repairs keep their call's key)
    affinity: str = ""  # who asks (a person, "" for the world): a router keeps each one's calls on one server

    def body(self) -> dict[str, Any]:
        """The request as an OpenAI chat completion body."""
        body: dict[str, Any] = {"model": self.model, "messages": self.messages, **self.params}
        if self.response_format is not None:
            body["response_format"] = self.response_format
        return body


@dataclass(frozen=True, slots=True)
class Failover:
    """A server a request left for another: which one (its URL, without secrets) and why."""

    endpoint: str
    error: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A model's reply: its text, the tokens the server counted (None where it did not say), and which
    server answered after which failovers (a router's; empty for a transport with one server)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    endpoint: str = ""
    failovers: tuple[Failover, ...] = ()


class TransportError(Exception):
    """A request that got no reply; the message is what the ``llm_call`` row records.

    A router sets ``endpoint`` (the server that failed last) and ``failovers`` (those it left before).
    """

    endpoint: str = ""
    failovers: tuple[Failover, ...] = ()


class Unavailable(TransportError):
    """No reply for now (rate limit, server error, timeout, no connection): the gateway retries."""

    def __init__(self, text: str, retry_after: float | None = None) -> None:
        super().__init__(text)
        self.retry_after = retry_after  # seconds the server asked us to wait, if it said


class Unreachable(Unavailable):
    """No connection: the server refused it or dropped it (not a timeout, which a live server may cause).

    A router fails over to another server; the gateway retries, and when its retries end on this
    error the run stops (resumable) rather than falling back call after call with no model.
    """


class Refused(TransportError):
    """The server refused the request (a 4xx such as a bad key or an unknown model): retrying cannot help."""

    def __init__(self, text: str, status: int) -> None:
        super().__init__(text)
        self.status = status


class NotRecorded(TransportError):
    """A replay has no recorded reply for the request: the gateway logs a ``replay_miss`` and the fallback."""


def status_text(name: str, status: int | None, message: str) -> str:
    """An error's row text from the OpenAI client's error class name, the HTTP status and the message.

    Made here for every transport, so an error raised in process reads as the client's would.
    """
    message = message or name
    return f"{name} (HTTP {status}): {message}" if status else f"{name}: {message}"


class Transport(Protocol):
    """Sends one request and returns one reply, or raises a ``TransportError``."""

    async def send(self, request: Request) -> Reply:
        """The model's reply to ``request``."""
        ...

    async def aclose(self) -> None:
        """Let go of connections; a later ``send`` may open them again."""
        ...

"""The OpenAI client as a transport: any OpenAI-compatible server over HTTP, and the check that it serves.

Used for ``--llm openai``, ``local`` and ``scripted`` (the scripted model's own HTTP server). The
client's own retries are off: the gateway retries, so that each attempt is a row.
"""

from __future__ import annotations

from typing import Any

import openai

from sim.errors import UserError
from sim.llm.gateway import Endpoint
from sim.llm.options import redact_url, split_query
from sim.llm.transport import Refused, Reply, Request, Unavailable, Unreachable, status_text


class OpenAITransport:
    """Sends requests with ``AsyncOpenAI`` to ``endpoint``'s server (it binds to an event loop when it first connects)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._client: openai.AsyncOpenAI | None = None
        # Made now, before any run loop: making the client loads the CA bundle and its first chat
        # call imports the SDK's chat module, ~70 ms that would otherwise delay the first tick's calls.
        _ = self.client.chat.completions

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The ``AsyncOpenAI`` client, made again after ``aclose``."""
        if self._client is None:
            self._client = open_client(self.endpoint, self.endpoint.timeout_s)
        return self._client

    async def send(self, request: Request) -> Reply:
        """The server's reply; its errors as ``Unavailable`` (retry), ``Unreachable`` (no connection) or ``Refused``."""
        response_format: Any = openai.NOT_GIVEN if request.response_format is None else request.response_format
        try:
            reply = await self.client.chat.completions.create(
                model=request.model,
                messages=request.messages,  # type: ignore[arg-type]
                response_format=response_format,
                **request.params,
            )
        except openai.APITimeoutError as err:  # a live server may be slow: retried on the same server
            raise Unavailable(error_text(err)) from None
        except openai.APIConnectionError as err:  # refused, reset or dropped: another server may answer
            raise Unreachable(error_text(err)) from None
        except (openai.RateLimitError, openai.InternalServerError) as err:
            raise Unavailable(error_text(err), _retry_after(err)) from None
        except openai.APIStatusError as err:
            raise Refused(error_text(err), err.status_code) from None
        text = (reply.choices[0].message.content or "") if reply.choices else ""
        usage = reply.usage
        return Reply(text, usage.prompt_tokens if usage else None, usage.completion_tokens if usage else None)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.close()
            self._client = None


def _retry_after(err: Exception) -> float | None:
    value = getattr(getattr(err, "response", None), "headers", {}).get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def error_text(err: Exception) -> str:
    """How an ``llm_call`` row names an error: its class, its HTTP status if any, its first line."""
    status = getattr(err, "status_code", None)
    return status_text(type(err).__name__, status, str(err).splitlines()[0] if str(err) else "")


def open_client(endpoint: Endpoint, timeout_s: float) -> openai.AsyncOpenAI:
    """A client of ``endpoint``'s server; a query in its base URL (``?api-key=``) goes with every request."""
    base_url, query = split_query(endpoint.base_url) if endpoint.base_url else (None, {})
    return openai.AsyncOpenAI(
        base_url=base_url,
        api_key=endpoint.api_key,
        default_query=query or None,
        max_retries=0,  # retries are the gateway's, so each one is logged
        timeout=timeout_s,
    )


async def preflight(
    endpoint: Endpoint, what: str, models_used: set[str] | None = None, source: str | None = None
) -> None:
    """Check the server answers and knows every model the run uses, before anything is written.

    ``source`` names the server in the error lines (default: ``--base-url URL``).
    """
    client = open_client(endpoint, min(endpoint.timeout_s, 15.0))
    shown = redact_url(endpoint.base_url or "")
    source = source or f"--base-url {shown}"
    try:
        models = [m.id async for m in client.models.list()]
    except openai.AuthenticationError:
        raise UserError(f"{what}: the server refused the API key; set OPENAI_API_KEY or --api-key") from None
    except (openai.APIConnectionError, openai.APITimeoutError):
        raise UserError(f"{source}: cannot reach the model server; start it or fix the URL") from None
    except openai.APIStatusError as err:
        if err.status_code == 404:
            return  # servers without a model list still serve chat completions
        raise UserError(f"{source}: the server answered HTTP {err.status_code}") from None
    finally:
        await client.close()
    for model in sorted(models_used or {endpoint.model}):
        if models and model not in models:
            served = ", ".join(models[:8]) + (" ..." if len(models) > 8 else "")
            raise UserError(f"--model {model!r}: unknown at {shown}; it serves: {served}")

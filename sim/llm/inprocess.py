"""The scripted model as a transport in this process: no child process, no port, no HTTP.

It calls the scripted model's own request handler (``ScriptedModel.complete``, which answers with
``sim.llm.scripted.answer``), so replies, latency, faults and token counts are the server's, and
it reports errors as the OpenAI client reports the server's: a run writes the same rows whichever
of the two answered. Used by ``--llm scripted-inprocess`` and by tests that only need a model.
"""

from __future__ import annotations

import asyncio
import json

from sim.llm.scripted import ScriptedModel
from sim.llm.transport import Refused, Reply, Request, Unavailable, status_text

_ERRORS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}
"""The OpenAI client's error class for each HTTP status (5xx: ``InternalServerError``)."""


class ScriptedTransport:
    """Answers with ``model`` (a ``ScriptedModel``) in this process, timing out after ``timeout_s`` as the client would."""

    def __init__(self, model: ScriptedModel, timeout_s: float) -> None:
        self.model = model  # its counters (requests, max_in_flight) are what the server's /stats would say
        self.timeout_s = timeout_s

    async def send(self, request: Request) -> Reply:
        """The scripted model's reply, or its fault as ``Unavailable`` / ``Refused``."""
        # The model reads the body as it would arrive over HTTP (JSON in), so no reply can depend on
        # the transport, and nothing the model does can reach the gateway's shared schemas.
        body = json.loads(json.dumps(request.body()))
        try:
            status, payload, headers = await asyncio.wait_for(self.model.complete(body), self.timeout_s)
        except TimeoutError:
            raise Unavailable(status_text("APITimeoutError", None, "Request timed out.")) from None
        if status == 200:
            usage = payload["usage"]
            return Reply(
                payload["choices"][0]["message"]["content"], usage["prompt_tokens"], usage["completion_tokens"]
            )
        message = payload.get("error", {}).get("message") if isinstance(payload, dict) else None
        text = f"Error code: {status}" + (f" - {message}" if message else "")
        if status == 429 or status >= 500:
            name = "InternalServerError" if status >= 500 else _ERRORS[status]
            retry_after = headers.get("retry-after")
            raise Unavailable(status_text(name, status, text), float(retry_after) if retry_after else None)
        raise Refused(status_text(_ERRORS.get(status, "APIStatusError"), status, text), status)

    async def aclose(self) -> None:
        """Nothing to close."""

"""A recorded run as the model: a transport that answers from its ``llm_call`` rows and never sends.

A request is looked up by its cache key; a key the recording lacks raises ``NotRecorded``, which
the gateway logs as a ``replay_miss`` with the call's fallback. ``--llm replay`` also preloads the
gateway's cache with the same replies, so a replayed call is logged as ``cached``, as the recorded
reply it is; this transport then hears only of calls the cache could not answer: those the
recording lacks, and those whose recorded reply no longer passes the answer's schema (the code
changed since), which it gives again for the gateway to log as ``invalid`` and then fall back.
"""

from __future__ import annotations

from sim.llm.transport import NotRecorded, Reply, Request


class ReplayTransport:
    """Answers each request with the reply recorded under its cache key (``RunReader.replies``)."""

    def __init__(self, replies: dict[str, str]) -> None:
        self.replies = replies

    async def send(self, request: Request) -> Reply:
        """The recorded reply, or ``NotRecorded``."""
        text = self.replies.get(request.key)
        if text is None:
            raise NotRecorded("no recorded reply for this call")
        return Reply(text, 0, 0)  # a recording costs nothing to read again

    async def aclose(self) -> None:
        """Nothing to close."""

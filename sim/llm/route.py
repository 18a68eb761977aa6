"""Many model servers as one transport: each person's calls go to one server, and move when it is gone.

A router holds several transports (one per OpenAI-compatible server, each with the calls it takes
at once) behind the one ``Transport`` the gateway talks to, as httpx mounts a transport per URL
pattern behind one client. Each request goes to its asker's server: the servers are ranked for
each person by weighted rendezvous hashing (a SHA-256 of the person and the server's URL,
weighted by its concurrency; never Python's ``hash``, which changes from process to process), so
a person's calls, and the prompt prefix a server keeps in its cache, stay on one server in every
run and resume, and a server added or removed moves only its own share of the people.

A server that refuses or drops the connection (``Unreachable``) is left for the next in the
person's ranking, and left out for ``retry_down_s`` seconds; when every server is out, each is
tried again. The reply says which server answered and which were left on the way (``Failover``),
and the gateway writes both into the call's row. Errors of a server that answered (a 429, a 500,
a timeout) are the gateway's to retry, on the same server: the person's cache is there.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sim.llm.transport import Failover, Reply, Request, Transport, TransportError, Unreachable

RETRY_DOWN_S = 5.0
"""Seconds a server that refused or dropped a connection is passed over before it is tried again."""


@dataclass(frozen=True, slots=True)
class Server:
    """One model server of a list: its URL and how many calls it takes at once."""

    url: str
    concurrency: int


class _Member:
    """A server as the router keeps it: its name in rows, its transport, its weight and slots, and when it went."""

    __slots__ = ("down_error", "down_until", "name", "slots", "transport", "weight")

    def __init__(self, name: str, transport: Transport, concurrency: int) -> None:
        self.name, self.transport, self.weight = name, transport, float(concurrency)
        self.slots = asyncio.Semaphore(concurrency)
        self.down_until = 0.0  # monotonic second before which the server is passed over
        self.down_error = ""


class RoutingTransport:
    """Sends each request to its asker's server (``rank``), failing over to the next when one is unreachable."""

    def __init__(
        self,
        members: Sequence[tuple[str, Transport, int]],
        *,
        retry_down_s: float = RETRY_DOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not members:
            raise ValueError("a router needs at least one server")
        self.members = [_Member(name, transport, concurrency) for name, transport, concurrency in members]
        self.retry_down_s = retry_down_s
        self.clock = clock
        self._ranks: dict[str, tuple[_Member, ...]] = {}  # asker -> the servers in the order they are tried

    def rank(self, affinity: str) -> tuple[_Member, ...]:
        """The servers in the order ``affinity``'s requests try them: the same in every process."""
        ranked = self._ranks.get(affinity)
        if ranked is None:
            ranked = self._ranks[affinity] = tuple(
                sorted(self.members, key=lambda m: _score(affinity, m), reverse=True)
            )
        return ranked

    async def send(self, request: Request) -> Reply:
        """The reply of the first server in the asker's ranking that takes the connection."""
        ranked = self.rank(request.affinity)
        now = self.clock()
        everyone_down = all(member.down_until > now for member in ranked)  # then any may be back: try each
        failovers: list[Failover] = []
        for member in ranked:
            if member.down_until > now and not everyone_down:
                failovers.append(Failover(member.name, f"passed over: {member.down_error}"))
                continue
            try:
                async with member.slots:
                    reply = await member.transport.send(request)
            except Unreachable as err:
                member.down_until, member.down_error = self.clock() + self.retry_down_s, str(err)
                failovers.append(Failover(member.name, str(err)))
                continue
            except TransportError as err:
                err.endpoint, err.failovers = member.name, tuple(failovers)
                raise
            return replace(reply, endpoint=member.name, failovers=tuple(failovers))
        gone = Unreachable(
            f"no model server took the connection ({len(self.members)} tried); the last said: {failovers[-1].error}"
        )
        gone.failovers = tuple(failovers)
        raise gone

    async def aclose(self) -> None:
        """Close every server's connections."""
        for member in self.members:
            await member.transport.aclose()


def _score(affinity: str, member: _Member) -> float:
    """Weighted rendezvous hashing: a uniform draw in (0, 1) from the pair's hash, stretched by the weight."""
    digest = hashlib.sha256(f"{affinity}\x00{member.name}".encode()).digest()
    draw = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64
    return -member.weight / math.log(draw)

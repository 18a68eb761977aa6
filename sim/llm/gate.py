"""The gate: at most N model calls in flight, and when it binds, the earliest simulated time goes first.

An ``asyncio.Semaphore`` lets waiting calls in by arrival. Under out-of-order scheduling a
person thinking ahead about 10:40 may ask before a person whose 10:05 blocks the clock; sending
10:05 first shortens the run's critical path (issue #14, "critical path first"). Ties go by the
key's next fields (the person's name: the order in which a tick commits its decisions).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator
from typing import Any


class Gate:
    """A counting semaphore whose waiters are let in by the smallest key, not by arrival."""

    def __init__(self, slots: int) -> None:
        self.free = max(1, slots)
        self._waiting: list[tuple[Any, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, key: Any) -> AsyncIterator[None]:
        """Hold one of the slots while the body runs; wait for it in order of ``key``."""
        await self._acquire(key)
        try:
            yield
        finally:
            # Passed on at the loop's next turn, not now: the caller usually asks again before any
            # other await (a person's next call in the same wake-up), and its key then competes.
            asyncio.get_running_loop().call_soon(self._release)

    async def _acquire(self, key: Any) -> None:
        if self.free > 0 and not self._waiting:
            self.free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (key, next(self._arrivals), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # granted as it was cancelled: pass the slot on
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self.free += 1

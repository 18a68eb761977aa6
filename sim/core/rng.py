"""Seeded random streams: one per person, whose whole state is a counter."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Stream:
    """A deterministic random stream for one name under a run seed.

    Each draw hashes (seed, name, counter), so the stream's state is just the counter:
    snapshots stay small and results never depend on the order other streams are used in.
    """

    def __init__(self, seed: int, name: str, counter: int = 0) -> None:
        self._prefix = f"{seed}\x1f{name}\x1f".encode()
        self.counter = counter

    def random(self) -> float:
        """A float in [0, 1)."""
        self.counter += 1
        digest = hashlib.blake2b(self._prefix + str(self.counter).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def randint(self, low: int, high: int) -> int:
        """An integer in [low, high], both ends included."""
        return low + int(self.random() * (high - low + 1))

    def uniform(self, low: float, high: float) -> float:
        """A float in [low, high)."""
        return low + (high - low) * self.random()

    def choice(self, items: Sequence[T]) -> T:
        """One item of a non-empty sequence."""
        return items[int(self.random() * len(items))]

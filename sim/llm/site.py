"""Where a model call is made: who asks, why, and at which tick and simulated second.

Minds make call sites (``CallSite(person, purpose)``) without knowing the engine's tick counter,
so the tick and second come from the moment the caller's task runs in: the engine declares it
for each tick with ``moment`` (an interview for its time). It is a context variable, so tasks
started inside (``asyncio.gather``) carry it, and tasks of different moments never mix their rows.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

_MOMENT: contextvars.ContextVar[tuple[int, int]] = contextvars.ContextVar("hamlet_moment", default=(0, 0))
"""(tick, simulated second) of the calls made in the current task."""


class Errand:
    """Work that may be called off: a wake-up thought through ahead, which the engine may drop and redo."""

    __slots__ = ("dropped",)

    def __init__(self) -> None:
        self.dropped = False


_ERRAND: contextvars.ContextVar[Errand | None] = contextvars.ContextVar("hamlet_errand", default=None)
"""The errand the current task's calls belong to, if any."""


@contextlib.contextmanager
def moment(tick: int, t: int, errand: Errand | None = None) -> Iterator[None]:
    """Stamp the call sites made inside (and in tasks started inside) with ``tick`` and second ``t``.

    With ``errand``, their calls stop (``asyncio.CancelledError``) once it is dropped, whatever
    else the task is doing: a cancellation alone can be lost (``asyncio.wait_for`` before 3.12).
    """
    token = _MOMENT.set((tick, t))
    errand_token = _ERRAND.set(errand)
    try:
        yield
    finally:
        _ERRAND.reset(errand_token)
        _MOMENT.reset(token)


def current() -> tuple[int, int]:
    """The current (tick, simulated second), as ``moment`` set it; (0, 0) outside any."""
    return _MOMENT.get()


def _tick() -> int:
    return _MOMENT.get()[0]


def _second() -> int:
    return _MOMENT.get()[1]


@dataclass(slots=True)
class CallSite:
    """Who asks and why (the person, None for the world itself; the purpose), and when: tick and second."""

    person: str | None
    purpose: str
    tick: int = field(default_factory=_tick)
    t: int = field(default_factory=_second)
    errand: Errand | None = field(default_factory=_ERRAND.get)

    def dropped(self) -> bool:
        """Whether the work this call is for has been called off (its reply must change nothing)."""
        return self.errand is not None and self.errand.dropped

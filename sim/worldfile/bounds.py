"""The bounds of every number Hamlet reads: world fields, command-line flags and control requests.

One place says how large, small or fine a count, duration, seed or time may be, so that a value
no run could use (``nan``, ``inf``, ``1e308`` hours, a seed of ``1e35``) is refused where it is
read, with one line naming it, before anything is written. docs/scenarios.md lists the bounds.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field, StrictInt

MAX_HOURS = 24 * 366 * 10
"""The longest simulated span of a run, in hours: ten years."""
MAX_MINUTES = MAX_HOURS * 60
"""The longest simulated span in minutes (snapshot intervals, curve steps)."""
MAX_WALK_MINUTES = 24 * 60 * 7
"""The longest walk along one link or inside one sector, in minutes: a week."""
MAX_SEED = 2**63 - 1
"""The largest seed: what SQLite stores as an integer."""
MAX_CONCURRENCY = 1024
"""Most LLM calls in flight at once, and most parallel runs."""
MAX_WAIT_SECONDS = 24 * 3600.0
"""The longest wait for one reply, in seconds: a day."""
MAX_USD = 1e9
"""The largest budget or price in US dollars."""
MAX_TOKENS = 10_000_000
"""The largest reply limit in tokens."""
MAX_SEEDS = 10_000
"""The most seeds one sweep runs."""
MAX_TEXT_CHARS = 4000
"""The longest text an intervention may carry (injected, whispered, an object's state): it becomes
an event and people's memories, and every prompt that recalls them."""
MAX_PARAMETER = 1e12
"""The largest magnitude of a mind parameter."""
GiB = 1024**3
SANDBOX_MAX: dict[str, float] = {
    "wall_seconds": 3600,
    "cpu_seconds": 3600,
    "memory_bytes": 64 * GiB,
    "processes": 4096,
    "file_bytes": 64 * GiB,
    "disk_bytes": 64 * GiB,
    "open_files": 65536,
    "output_bytes": GiB,
}
"""The largest limits a world's team may give its program runs (``team.sandbox``)."""

Hours = Annotated[float, Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)]
"""A simulated span in hours: more than 0, at most ten years."""
WalkMinutes = Annotated[float, Field(gt=0, le=MAX_WALK_MINUTES, allow_inf_nan=False)]
"""Minutes to walk a link: more than 0, at most a week."""
InnerMinutes = Annotated[float, Field(ge=0, le=MAX_WALK_MINUTES, allow_inf_nan=False)]
"""Minutes to walk between two areas of a sector: 0 or more, at most a week."""
SnapshotMinutes = Annotated[float, Field(ge=1, le=MAX_MINUTES, allow_inf_nan=False)]
"""Simulated minutes between snapshots: at least 1 (the engine counts whole seconds), at most ten years."""
Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED)]
"""A run seed: a whole number from 0 to 2**63-1 (``1e35`` or ``3.5`` is not one)."""
Usd = Annotated[float, Field(ge=0, le=MAX_USD, allow_inf_nan=False)]
"""An amount or price in US dollars."""


def finite(value: Any) -> bool:
    """Whether ``value`` is a real number (not a bool) that is neither nan nor infinite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# -- command-line flags ------------------------------------------------------------------------


def number(low: float, high: float, *, low_open: bool = False, unit: str = "") -> Callable[[str], float]:
    """An argparse ``type``: a finite number from ``low`` (excluded with ``low_open``) to ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
            raise argparse.ArgumentTypeError(f"{text} is out of range; {_range(low, high, low_open, unit)}")
        return value

    return parse


def whole(low: int, high: int, *, unit: str = "") -> Callable[[str], int]:
    """An argparse ``type``: a whole number (digits only: not ``1e23``, not ``2.5``) from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number; {_range(low, high, False, unit)}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range; {_range(low, high, False, unit)}")
        return value

    return parse


def _range(low: float, high: float, low_open: bool, unit: str) -> str:
    lower = f"more than {_shown(low)}" if low_open else f"at least {_shown(low)}"
    return f"give a value {lower} and at most {_shown(high)}{' ' + unit if unit else ''}"


def _shown(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.4g}"


hours = number(0, MAX_HOURS, low_open=True, unit="hours")
"""``--hours``: more than 0, at most ten years."""
seed = whole(0, MAX_SEED)
"""``--seed``: a whole number from 0 to 2**63-1."""
concurrency = whole(1, MAX_CONCURRENCY)
"""``--concurrency``, ``--parallel``: from 1 to 1024."""
seconds = number(0, MAX_WAIT_SECONDS, low_open=True, unit="seconds")
"""``--llm-timeout``: more than 0, at most a day."""
milliseconds = number(0, MAX_WAIT_SECONDS * 1000, unit="ms")
"""``--llm-latency-ms``: 0 or more, at most a day."""
usd = number(0, MAX_USD, unit="USD")
"""``--budget-usd``: 0 or more."""
share = number(0, 1)
"""``--llm-fault-rate``: a share from 0 to 1."""
step_seconds = whole(1, 24 * 3600, unit="seconds")
"""``--fixed-step``: a whole number of seconds from 1 to a day."""
step_minutes = number(1 / 60, MAX_MINUTES, unit="minutes")
"""``--every``: at least a second (1/60 minute), at most ten years."""


def check_parameter(where: str, value: Any, default: Any) -> None:
    """A mind parameter (``minds:`` or ``--set``) of the kind its default is; raises ``ValueError``."""
    if isinstance(default, bool):
        if not isinstance(value, bool):  # a truthy word like "maybe" must not switch a component on unnoticed
            raise ValueError(f"{where}: {value!r} is not a switch; give on or off")
        return
    if default is None or isinstance(default, str):
        return  # texts are each mind's own to check
    if isinstance(default, int | float) and (not finite(value) or abs(value) > MAX_PARAMETER):
        raise ValueError(
            f"{where}: {value!r} is not a usable number; give a finite number of magnitude at most {MAX_PARAMETER:g}"
        )

"""Simulated time: a run's seconds and datetimes (``RunTime``), TIME options, clock times of day."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sim.errors import UserError

_OFFSET = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d)?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, None: 3600}
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_datetime(text: str | datetime) -> datetime:
    """Parse an ISO 8601 date-time (``2026-02-13T14:00``) into a naive simulated datetime."""
    if isinstance(text, datetime):
        return text.replace(tzinfo=None)
    try:
        value = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time; write it like 2026-02-13T14:00") from None
    return value.replace(tzinfo=None)


def parse_time(text: str, start: datetime) -> datetime:
    """Parse a TIME option: ISO 8601 (``2026-02-13T14:00``) or an offset from ``start`` (``+6h``)."""
    match = _OFFSET.match(text.strip())
    if match:
        try:
            return start + timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        except OverflowError:
            raise UserError(
                f"{text!r} is too far after the start {iso(start)}; the calendar ends in the year 9999"
            ) from None
    try:
        return parse_datetime(text)
    except ValueError:
        raise UserError(
            f"{text!r} is not a time; use ISO 8601 (2026-02-13T14:00) or an offset from the run's start (+6h, +90m)"
        ) from None


def parse_clock(text: str) -> int:
    """Parse a time of day ``HH:MM`` into minutes after midnight."""
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day; write it as HH:MM, e.g. 07:30")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day; hours run 00-23 and minutes 00-59")
    return hours * 60 + minutes


def iso(moment: datetime) -> str:
    """Format a simulated datetime the way every file and screen shows it."""
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class RunTime:
    """One run's simulated time: run seconds (second 0 is ``start``) to datetimes and back.

    Run seconds are whole. A datetime between two of them has one rounding rule for each question:
    ``second`` drops the fraction (what had happened *by* that moment: the viewer, metrics,
    interviews, ``--until``), ``due`` rounds up (the first second *not before* it: when the
    engine does something set for that moment, a fork's time).
    """

    start: datetime

    def when(self, t: float) -> datetime:
        """The simulated datetime at run second ``t``."""
        return self.start + timedelta(seconds=t)

    def second(self, moment: datetime) -> int:
        """The run second of ``moment``, its fraction dropped (toward zero, as ``int`` does)."""
        return int((moment - self.start).total_seconds())

    def due(self, moment: datetime) -> int:
        """The first whole run second not before ``moment`` (a fraction rounds up)."""
        return math.ceil((moment - self.start).total_seconds())

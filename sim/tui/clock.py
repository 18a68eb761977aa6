"""The clock bar: simulated time, mode, position in the log, speed, progress and running cost.

The bar is two lines. The first says where the viewer is; the second is a progress bar of the
viewed time against the run's planned end, which the mouse can click to seek.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

SPEEDS = (60, 300, 900, 3600, 14400)
"""Playback speeds, in simulated seconds per wall-clock second."""

BAR_START = 1  # the progress bar's first column on the second line


def speed_label(speed: int) -> str:
    """A playback speed in words, e.g. ``15 min/s``."""
    return f"{speed // 3600} h/s" if speed >= 3600 else f"{speed // 60} min/s"


@dataclass(slots=True, frozen=True)
class ClockInfo:
    """Everything the clock bar shows."""

    live: bool  # watching a run another process writes
    status: str  # the run's status: running, finished, budget, failed, interrupted
    playing: bool  # replay playback, or following a live run
    paused: bool  # the live run was asked to pause
    speed: int
    when: datetime
    t: int
    end: int  # the run's planned end, in run seconds
    seq: int
    last_seq: int
    tick: int
    cost: float
    message: str = ""


def bar_width(width: int) -> int:
    """How many columns the progress bar takes in a clock bar ``width`` wide."""
    return max(10, width - 38)


def render_clock(info: ClockInfo, width: int) -> Text:
    """The two lines of the clock bar."""
    if info.live and info.status == "running":
        mode = (
            ("⏸ LIVE, run paused", "bold yellow")
            if info.paused
            else (("● LIVE", "bold green") if info.playing else ("◆ LIVE, viewing the past (f: follow)", "bold cyan"))
        )
    else:
        label = "REPLAY" if not info.live else info.status.upper()
        mode = (f"▶ {label} ×{speed_label(info.speed)}", "bold green") if info.playing else (f"⏸ {label}", "bold")
    line = Text()
    line.append(f" {mode[0]} ", mode[1])
    line.append(f" {info.when:%a %Y-%m-%d %H:%M:%S} ", "bold reverse")
    line.append(f"  event {info.seq}/{info.last_seq} · tick {info.tick}")
    if not info.live or info.status != "running":
        line.append(f" · speed {speed_label(info.speed)}", "dim")
    line.append("\n")
    width_bar = bar_width(width)
    share = 0.0 if info.end <= 0 else min(1.0, max(0.0, info.t / info.end))
    filled = round(share * width_bar)
    line.append(" " * BAR_START)
    line.append("█" * filled, "green")
    line.append("░" * (width_bar - filled), "dim")
    line.append(f" {share:4.0%} of {info.end / 3600:g} h · ${info.cost:.4f}")
    if info.status != "running":
        line.append(f" · {info.status}", "bold")
        if info.message:
            line.append(f": {info.message}", "dim")
    line.no_wrap = True
    line.overflow = "ellipsis"
    return line


class ClockBar(Widget):
    """Shows a ``ClockInfo``; a click on the progress bar asks to seek there."""

    DEFAULT_CSS = """
    ClockBar { height: 2; background: $boost; }
    """

    class Seek(Message):
        """The user clicked the progress bar at ``share`` (0–1) of the run."""

        def __init__(self, share: float) -> None:
            super().__init__()
            self.share = share

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info: ClockInfo | None = None

    def show(self, info: ClockInfo) -> None:
        """Draw ``info``."""
        self.info = info
        self.refresh()

    def render(self) -> Text:
        """The bar's text."""
        return render_clock(self.info, self.size.width) if self.info else Text(" loading the run…")

    def on_click(self, event: events.Click) -> None:
        """Seek when the click lands on the progress bar."""
        width = bar_width(self.size.width)
        if event.y == 1 and BAR_START <= event.x < BAR_START + width:
            self.post_message(self.Seek((event.x - BAR_START + 0.5) / width))

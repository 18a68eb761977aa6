"""Small dialogs: the help screen and jump-to-time."""

from __future__ import annotations

import re
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Markdown

from sim.core.simtime import parse_time
from sim.errors import UserError

HELP = """\
# Hamlet viewer

One viewer for a recorded run (`hamlet replay`), a run going on in another process
(`hamlet watch`) and a run started with it (`hamlet run --tui`). Everything shown is the
world **at the viewed time** in the clock bar: where people were, what they did and said,
what they remembered, and what had been spent.

| key | does |
| --- | --- |
| `space`, `p` | replay: play / pause; live run: pause / resume the simulation |
| `.` / `,` | one event forward / back |
| `>` / `<` | one tick forward / back (everyone woken at one instant) |
| `+` / `-` | faster / slower playback |
| `j` | jump to a time: `2026-02-13T14:00`, `+6h`, `+90m` from the start, or `14:30` that day |
| `f` | go to the newest event (live: follow it) |
| `0` | go to the start of the run |
| `1` `2` `3` `4` | tabs: world, people, feed, LLM calls |
| `i`, `enter` | inspect the selected person |
| `s`, `/` | people: sort by the next column, filter |
| `m` | metrics as of the viewed time: diffusion of each fact, network density, conversations, cost |
| `x` | live run: send an intervention (inject, whisper, set object, add or remove a person) |
| `ctrl+p` | command palette: every action, and "inspect" for each person |
| `?` | this help |
| `q` | quit (a run started with `--tui` is stopped cleanly; `hamlet resume` continues it) |

A click on the progress bar seeks there; a click on a table header sorts by it.

**Inspector** (`esc` closes): memories known at the viewed time (newest first, with importance),
recall scores for a query (`recency`, `importance`, `relevance` and their weighted `total`, as the
mind's retrieval computes them), reflections with the memories they rest on, today's plan with
progress, and an interview: the person answers as they were at the viewed time, and the
exchange is recorded in the run file's `interview` table. In a team's run, **Work** (`w`) lists
the phases the person took part in and the files they wrote; a file's row shows that version.
The feed's kind filter `team` shows the chain: phases, loops, files and program runs.
"""


class HelpScreen(ModalScreen[None]):
    """What every screen shows and every key does."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: thick $accent;
                                  background: $surface; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        """The help text."""
        with VerticalScroll():
            yield Markdown(HELP)

    async def action_dismiss(self, result: None = None) -> None:
        """Close the help."""
        self.dismiss(result)


def parse_jump(text: str, start: datetime, viewed: datetime) -> datetime:
    """A time typed in the jump box: ISO 8601, an offset from the run's start (+6h), or HH:MM on the viewed day."""
    text = text.strip()
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if clock and int(clock.group(1)) < 24 and int(clock.group(2)) < 60:
        return viewed.replace(hour=int(clock.group(1)), minute=int(clock.group(2)), second=0, microsecond=0)
    return parse_time(text, start)


class JumpScreen(ModalScreen[datetime | None]):
    """Asks for a time and returns it (None when cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    JumpScreen { align: center middle; }
    JumpScreen > Vertical { width: 64; height: auto; border: thick $accent; background: $surface; padding: 0 1; }
    JumpScreen #jump-error { color: $error; }
    """

    def __init__(self, start: datetime, viewed: datetime) -> None:
        super().__init__()
        self.start, self.viewed = start, viewed

    def compose(self) -> ComposeResult:
        """The prompt, the box and a line for mistakes."""
        with Vertical():
            yield Label(f"Jump to: ISO time, +6h from {self.start:%Y-%m-%d %H:%M}, or HH:MM")
            yield Input(placeholder=f"{self.viewed:%Y-%m-%dT%H:%M}", id="jump-input")
            yield Label("", id="jump-error")

    @on(Input.Submitted, "#jump-input")
    def _submit(self, event: Input.Submitted) -> None:
        try:
            moment = parse_jump(event.value, self.start, self.viewed)
        except UserError as err:
            self.query_one("#jump-error", Label).update(str(err))
            return
        self.dismiss(moment)

    def action_cancel(self) -> None:
        """Close without jumping."""
        self.dismiss(None)

"""The LLM calls tab: every attempt made by the viewed moment, and a dialog to read one's request and reply."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sim.tui.source import RunSource
from sim.tui.view import View

COLUMNS = ("id", "time", "person", "purpose", "model", "status", "tokens", "ms", "cache", "fallback")


def call_cells(call: dict[str, Any], start: datetime, dated: bool = False) -> tuple[str, ...]:
    """The table cells of one LLM call row; ``dated`` puts the day before the time (a run over several days)."""
    when = start + timedelta(seconds=int(call["t"]))
    return (
        str(call["id"]),
        f"{when:%a %d %H:%M}" if dated else f"{when:%H:%M}",
        call["person"] or "",
        call["purpose"],
        call["model"],
        call["status"],
        f"{call['prompt_tokens']}+{call['completion_tokens']}",
        f"{float(call['latency_ms']):.0f}",
        "hit" if call["cache_hit"] else "",
        "fallback" if call["fallback"] else "",
    )


class CallsPane(Vertical):
    """The LLM calls made by the viewed moment, newest last; ``enter`` or a click opens one."""

    def __init__(self, source: RunSource, start: datetime, end: datetime) -> None:
        super().__init__()
        self.source = source
        self.start = start
        self.dated = start.date() != end.date()  # the time column names the day when the run spans more than one
        self.moment: tuple[int, int] | None = None  # (tick, second) listed
        self.keys: list[str] = []  # the ids of the calls listed, in order

    def compose(self) -> ComposeResult:
        """The table."""
        table: DataTable[str] = DataTable(id="calls-table", cursor_type="row", zebra_stripes=True)
        for column in COLUMNS:
            table.add_column(column, key=column)
        yield table

    def show(self, view: View) -> None:
        """List the calls made up to the viewed moment (redrawn only when the calls listed change)."""
        if (view.state.tick, view.t) == self.moment:
            return
        self.moment = (view.state.tick, view.t)
        calls = self.source.calls(view.state.tick, view.t)
        keys = [str(call["id"]) for call in calls]
        if keys == self.keys:  # a step, or a live run's new ticks, without new calls
            return
        if (
            calls
            and not self.dated
            and (self.start + timedelta(seconds=int(calls[-1]["t"]))).date() != self.start.date()
        ):
            self.dated = True  # a run resumed past its first day
        table = self.query_one("#calls-table", DataTable)
        at_end = table.cursor_row >= table.row_count - 1
        keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        table.clear()
        for key, call in zip(keys, calls, strict=True):
            table.add_row(*call_cells(call, self.start, self.dated), key=key)
        self.keys = keys
        if keys:  # stay on the call the cursor was on, or on the newest if it was there
            table.move_cursor(row=len(keys) - 1 if at_end or keep not in keys else keys.index(str(keep)), animate=False)

    @on(DataTable.RowSelected, "#calls-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        call = self.source.call(int(str(event.row_key.value)))
        if call is not None:
            self.app.push_screen(CallScreen(call))


def call_head(c: dict[str, Any]) -> str:
    """A call's header line: who asked for what, how it went, and the server that answered (with several)."""
    head = (
        f"LLM call #{c['id']} · {c['purpose']} · {c['person'] or 'no person'} · {c['model']} · "
        f"status {c['status']} (attempt {c['attempt']}) · {c['prompt_tokens']}+{c['completion_tokens']} "
        f"tokens · {float(c['latency_ms']):.0f} ms · ${float(c['cost_usd']):.5f} · "
        f"cache {'hit' if c['cache_hit'] else 'miss'} · {'FALLBACK' if c['fallback'] else 'no fallback'}"
    )
    if c.get("endpoint"):  # written when a run has several servers (older run files have no such column)
        head += f" · server {c['endpoint']}"
    try:
        failovers = json.loads(c.get("failovers") or "[]")
    except json.JSONDecodeError:
        failovers = []
    for left, why in failovers:
        head += f" · failed over from {left} ({why})"
    return head + "   (esc closes)"


def call_text(call: dict[str, Any]) -> Text:
    """A call's request messages, reply and error, for reading."""
    text = Text()
    try:
        request = json.loads(call["request"] or "{}")
    except json.JSONDecodeError:
        request = {"messages": [{"role": "request", "content": call["request"]}]}
    for message in request.get("messages", []):
        text.append(f"{message.get('role', '?')}\n", "bold magenta")
        text.append(f"{message.get('content', '')}\n\n")
    rest = {k: v for k, v in request.items() if k != "messages"}
    if rest:
        text.append("parameters\n", "bold magenta")
        text.append(json.dumps(rest, indent=1, ensure_ascii=False)[:4000] + "\n\n", "dim")
    text.append("reply\n", "bold green")
    try:
        text.append(json.dumps(json.loads(call["response"]), indent=2, ensure_ascii=False) + "\n")
    except (json.JSONDecodeError, TypeError):
        text.append(f"{call['response'] or '(none)'}\n")
    if call.get("error"):
        text.append("\nerror\n", "bold red")
        text.append(f"{call['error']}\n")
    return text


class CallScreen(ModalScreen[None]):
    """One LLM call: who asked what for which purpose, with tokens, latency, cost, and the full exchange."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    CallScreen { align: center middle; }
    CallScreen > Vertical { width: 96%; height: 92%; border: thick $accent; background: $surface; }
    CallScreen #call-head { height: auto; background: $boost; padding: 0 1; }
    CallScreen VerticalScroll { padding: 0 1; }
    """

    def __init__(self, call: dict[str, Any]) -> None:
        super().__init__()
        self.call = call

    def compose(self) -> ComposeResult:
        """The header line and the scrollable exchange."""
        with Vertical():
            yield Static(call_head(self.call), id="call-head")
            with VerticalScroll(id="call-body"):
                yield Static(call_text(self.call), id="call-text")

    async def action_dismiss(self, result: None = None) -> None:
        """Close the dialog."""
        self.dismiss(result)

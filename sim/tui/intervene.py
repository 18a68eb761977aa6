"""The intervention dialog: change a live run from the viewer (inject, whisper, set an object, add or remove a person).

It sends what ``hamlet intervene`` sends, through the run file's control table, checked the
same way; a problem is shown in the dialog as the command would print it, and nothing is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select

from sim.errors import UserError

KINDS = ("inject", "whisper", "set_object", "add_person", "remove_person")
FIELDS = ("place", "person", "text", "object", "state", "spec")
NEEDS = {"inject": ("place", "text"), "whisper": ("person", "text"), "set_object": ("place", "object", "state"),
         "add_person": ("spec",), "remove_person": ("person",)}
HINTS = {"place": "place: a sector, Sector:Area or an area name", "person": "person: who is whispered to or removed",
         "text": "text: what happens, or what is whispered", "object": "object: whose state changes",
         "state": "state: the object's new state", "spec": "spec: a YAML file with the new person (as under people:)"}


class InterveneScreen(ModalScreen[int | None]):
    """Asks for an intervention and sends it to the live run; returns the request id (None when cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    InterveneScreen { align: center middle; }
    InterveneScreen > Vertical { width: 76; height: auto; border: thick $accent; background: $surface; padding: 0 1; }
    InterveneScreen Input { margin: 0; }
    InterveneScreen .hidden { display: none; }
    InterveneScreen #iv-error { color: $error; }
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        """The kind, the fields it needs, and a line for problems."""
        with Vertical():
            yield Label("Intervene in the live run: it takes effect at its next tick (enter sends, esc cancels)")
            yield Select([(k.replace("_", " "), k) for k in KINDS], value="inject", allow_blank=False, id="iv-kind")
            for name in FIELDS:
                yield Input(placeholder=HINTS[name], id=f"iv-{name}", compact=True)
            yield Label("", id="iv-error")

    def on_mount(self) -> None:
        """Show the fields of the first kind."""
        self._show_fields("inject")

    @on(Select.Changed, "#iv-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._show_fields(str(event.value))

    def _show_fields(self, kind: str) -> None:
        for name in FIELDS:
            self.query_one(f"#iv-{name}", Input).set_class(name not in NEEDS[kind], "hidden")
        first = self.query_one(f"#iv-{NEEDS[kind][0]}", Input)
        first.focus()

    def fields(self) -> dict[str, Any]:
        """The intervention as typed: its kind and the fields that kind needs."""
        kind = str(self.query_one("#iv-kind", Select).value)
        fields: dict[str, Any] = {"kind": kind}
        for name in NEEDS[kind]:
            value = self.query_one(f"#iv-{name}", Input).value.strip()
            if value:
                fields[name] = value
        return fields

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.query_one("#iv-error", Label).update("sending…")
        self._send(self.fields())

    @work(thread=True, group="intervene")
    def _send(self, fields: dict[str, Any]) -> None:
        from sim.commands.intervention import person_file
        from sim.control import send

        try:
            if "spec" in fields:
                fields = {**fields, "spec": person_file(Path(fields["spec"]))}
            request = send(str(self.path), "intervene", fields, source="tui")
        except UserError as err:
            self.app.call_from_thread(self.query_one("#iv-error", Label).update, str(err))
            return
        self.app.call_from_thread(self.dismiss, request)

    def action_cancel(self) -> None:
        """Close without sending."""
        self.dismiss(None)

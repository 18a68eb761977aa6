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
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet

from sim.errors import UserError

KINDS = ("inject", "whisper", "set_object", "add_person", "remove_person")
FIELDS = ("place", "person", "text", "object", "state", "spec")
NEEDS = {
    "inject": ("place", "text"),
    "whisper": ("person", "text"),
    "set_object": ("place", "object", "state"),
    "add_person": ("spec",),
    "remove_person": ("person",),
}
HINTS = {
    "place": "a sector, Sector:Area or an area name",
    "person": "who is whispered to or removed",
    "text": "what happens, or what is whispered",
    "object": "whose state changes",
    "state": "the object's new state",
    "spec": "a YAML file with the new person (as under people:)",
}


class InterveneScreen(ModalScreen[int | None]):
    """Asks for an intervention and sends it to the live run; returns the request id (None when cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "Input"  # the kind's first field (the others are hidden, so cannot take the focus)
    DEFAULT_CSS = """
    InterveneScreen { align: center middle; }
    InterveneScreen > Vertical { width: 84; max-width: 100%; height: auto; border: thick $accent; background: $surface; padding: 0 1; }
    InterveneScreen #iv-intro { width: 1fr; color: $text-muted; }
    InterveneScreen #iv-kind { layout: horizontal; width: 1fr; }
    InterveneScreen #iv-kind > RadioButton { width: auto; margin-right: 1; }
    InterveneScreen .iv-field { height: 1; }
    InterveneScreen .iv-label { width: 8; }
    InterveneScreen Input { margin: 0; width: 1fr; }
    InterveneScreen .hidden { display: none; }
    InterveneScreen #iv-error { color: $error; }
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.kind = KINDS[0]

    def compose(self) -> ComposeResult:
        """The kind, the fields it needs (each with its name beside it), and a line for problems."""
        with Vertical():
            yield Label(
                "Intervene in the live run: it takes effect at its next tick.\n"
                "tab: next field · arrows and space: the kind · enter: send · esc: cancel",
                id="iv-intro",
            )
            # A radio set, not a drop-down: text typed while it has the focus cannot change the kind.
            with RadioSet(id="iv-kind", compact=True):
                for kind in KINDS:
                    yield RadioButton(
                        kind.replace("_", " "), value=kind == self.kind, id=f"iv-kind-{kind}", compact=True
                    )
            for name in FIELDS:
                # The name stays beside the field once something is typed (a placeholder would vanish).
                with Horizontal(id=f"iv-field-{name}", classes="iv-field"):
                    yield Label(name, classes="iv-label")
                    yield Input(placeholder=HINTS[name], id=f"iv-{name}", compact=True)
            yield Label("", id="iv-error")

    def on_mount(self) -> None:
        """Show the fields of the first kind."""
        self._show_fields(self.kind)

    @on(RadioSet.Changed, "#iv-kind")
    def _kind_changed(self, event: RadioSet.Changed) -> None:
        self.kind = str(event.pressed.id).removeprefix("iv-kind-")
        self._show_fields(self.kind)

    def _show_fields(self, kind: str) -> None:
        for name in FIELDS:
            self.query_one(f"#iv-field-{name}").set_class(name not in NEEDS[kind], "hidden")
        if not isinstance(self.focused, RadioSet):  # choosing a kind with the arrows keeps the focus there
            self.query_one(f"#iv-{NEEDS[kind][0]}", Input).focus()

    def fields(self) -> dict[str, Any]:
        """The intervention as typed: its kind and the fields that kind needs."""
        fields: dict[str, Any] = {"kind": self.kind}
        for name in NEEDS[self.kind]:
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
        from sim.run.control import send

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

"""Small modal questions: a reason, a reading (with its comment), a yes/no."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from fieldtech.screens.shown import data


class AskText(ModalScreen[tuple[str, bool] | None]):
    """Ask for a line of text; optionally a checkbox (e.g. 'create a follow-up job')."""

    DEFAULT_CSS = """
    AskText { align: center middle; }
    AskText > Vertical { width: 64; height: auto; border: thick $accent; padding: 1 2;
                         background: $surface; }
    AskText Label.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(
        self,
        title: str | Text,
        placeholder: str = "",
        check: str | None = None,
        value: str = "",
        *,
        optional: bool = False,
    ):
        super().__init__()
        self.optional = optional
        self.title_text = title
        self.placeholder = placeholder
        self.check = check
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            # The title may hold a person's words (a checklist item's label): never markup.
            title = self.title_text
            yield Label(data(title) if isinstance(title, str) else title)
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")
            if self.check:
                yield Checkbox(self.check, id="check")
            yield Label("", classes="error", id="error")
            yield Button("OK (Enter)", variant="primary", id="ok")

    def on_input_submitted(self) -> None:
        self._done()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._done()

    def _done(self) -> None:
        text = self.query_one("#answer", Input).value.strip()
        if not text and not self.optional:
            self.query_one("#error", Label).update("Please type something, or Esc to cancel.")
            return
        checked = self.query_one("#check", Checkbox).value if self.check else False
        self.dismiss((text, checked))

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Putting a job on hold: what it waits for, from the fixed set, and why in words."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from fieldtech.domain.jobs import HoldFor, hold_for_reason


class AskHold(ModalScreen[tuple[str, str] | None]):
    """Answers (waits_for, reason). Typing the set's own words ("waiting for parts") picks
    it; any other reason needs a choice, so the team board counts every hold by the set."""

    DEFAULT_CSS = """
    AskHold { align: center middle; }
    AskHold > Vertical { width: 64; height: auto; border: thick $accent; padding: 1 2;
                         background: $surface; }
    AskHold RadioSet { width: 100%; }
    AskHold Label.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Why is the job on hold? (Tab: what it waits for)")
            yield Input(placeholder="which part, when the customer is back…", id="answer")
            with RadioSet(id="waits-for"):
                for kind in HoldFor:
                    yield RadioButton(kind.words, id=f"for-{kind.value}")
            yield Label("", classes="error", id="error")
            yield Button("OK (Enter)", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    def on_input_submitted(self) -> None:
        self._done()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._done()

    def _chosen(self) -> HoldFor | None:
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return None
        return HoldFor(pressed.id.removeprefix("for-"))

    def _done(self) -> None:
        text = self.query_one("#answer", Input).value.strip()
        kind = self._chosen()
        if kind is None and text and hold_for_reason(text) is not HoldFor.OTHER:
            kind = hold_for_reason(text)
        if kind is None:
            self.query_one("#error", Label).update(
                "Choose what the job waits for: parts, the customer, or other."
            )
            self.query_one(RadioSet).focus()
            return
        if kind is HoldFor.OTHER and not text:
            self.query_one("#error", Label).update("Say in a few words what it waits for.")
            self.query_one("#answer", Input).focus()
            return
        self.dismiss((kind.value, text))

    def action_cancel(self) -> None:
        self.dismiss(None)

"""Putting a job on hold: what it waits for, from the fixed set, and why in words."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet

from fieldtech.domain.jobs import HoldFor, hold_for_reason
from fieldtech.screens.shown import data

HoldAttempt = Callable[[str, str], str | None]
"""Try (waits_for, reason): None when the job went on hold, else why it was refused."""


class HoldChoices(RadioSet):
    """The set: Space (or a click) picks the highlighted one; Enter picks it and answers."""

    BINDINGS = [Binding("enter", "answer", "OK", show=False)]

    class Answered(Message):
        def __init__(self, picked: HoldFor | None):
            super().__init__()
            self.picked = picked  # the highlighted choice, None when nothing is highlighted

    def action_answer(self) -> None:
        picked = None
        if self._selected is not None:  # Textual's highlighted index (no public name)
            button = self._nodes[self._selected]
            if isinstance(button, RadioButton) and button.id:
                button.value = True  # shown as picked; pressed_button follows a message later
                picked = HoldFor(button.id.removeprefix("for-"))
        self.post_message(self.Answered(picked))


class AskHold(ModalScreen[tuple[str, str] | None]):
    """Answers (waits_for, reason). Typing the set's own words ("waiting for parts") picks
    it; any other reason needs a choice, so the team board counts every hold by the set.
    With `attempt`, a refused hold keeps the dialog, the words and the choice, and says why."""

    DEFAULT_CSS = """
    AskHold { align: center middle; }
    AskHold > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
                         border: thick $accent; padding: 1 2; background: $surface; }
    AskHold Label { width: 100%; }
    AskHold RadioSet { width: 100%; }
    AskHold Label.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, attempt: HoldAttempt | None = None):
        super().__init__()
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Why is the job on hold? (Tab: what it waits for)", id="prompt")
            yield Input(placeholder="which part, when the customer is back…", id="answer")
            with HoldChoices(id="waits-for"):
                for kind in HoldFor:
                    yield RadioButton(kind.words, id=f"for-{kind.value}")
            yield Label("", classes="error", id="error")
            yield Button("OK (Enter)", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    def on_input_submitted(self) -> None:
        self.action_answer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.action_answer()

    @on(HoldChoices.Answered)
    def _answered_from_choices(self, event: HoldChoices.Answered) -> None:
        self.action_answer(event.picked)

    def _chosen(self) -> HoldFor | None:
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return None
        return HoldFor(pressed.id.removeprefix("for-"))

    def action_answer(self, picked: HoldFor | None = None) -> None:
        text = self.query_one("#answer", Input).value.strip()
        kind = picked or self._chosen()
        if kind is None and text and hold_for_reason(text) is not HoldFor.OTHER:
            kind = hold_for_reason(text)
        if kind is None:
            self._refused("Choose what the job waits for: parts, the customer, or other.")
            self.query_one(RadioSet).focus()
            return
        if kind is HoldFor.OTHER and not text:
            self._refused("Say in a few words what it waits for.")
            self.query_one("#answer", Input).focus()
            return
        if self.attempt is not None:
            why = self.attempt(kind.value, text)
            if why is not None:
                self._refused(why)
                self.query_one("#answer", Input).focus()
                return
        self.dismiss((kind.value, text))

    def _refused(self, why: str) -> None:
        self.query_one("#error", Label).update(data(why))

    def action_cancel(self) -> None:
        self.dismiss(None)

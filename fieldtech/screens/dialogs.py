"""Small modal questions: a reason, a reading (with its comment), a yes/no."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label

from fieldtech.domain.errors import FieldtechError
from fieldtech.screens.shown import data

if TYPE_CHECKING:
    from fieldtech.app import FieldtechApp

_Result = TypeVar("_Result")

Attempt = Callable[[str, bool], str | None]
"""Try what was typed (and the checkbox): None when it was taken, else why it was refused."""

NOT_SAVED = "not saved: something went wrong (the log has the details)"


def perform_saying_why(
    app: FieldtechApp, fn: Callable[..., _Result], *args: Any, **kwargs: Any
) -> tuple[_Result | None, str | None]:
    """`app.perform`, which also answers why a service refused, so a dialog can show the
    reason beside the text it keeps. (result, None) when saved; (None, reason) when not."""
    why: list[str] = []

    def service(*a: Any, **k: Any) -> _Result:
        try:
            return fn(*a, **k)
        except FieldtechError as exc:
            why.append(exc.message)
            raise
        except Exception:
            why.append(NOT_SAVED)
            raise

    result = app.perform(service, *args, refusal_shown=True, **kwargs)
    return (None, why[0]) if why else (result, None)


class AskText(ModalScreen[tuple[str, bool] | None]):
    """Ask for a line of text; optionally a checkbox (e.g. 'create a follow-up job').
    With `attempt`, OK tries the answer first: refused, the dialog stays with the text in
    it and says why, so nothing typed is lost."""

    DEFAULT_CSS = """
    AskText { align: center middle; }
    AskText > Vertical { width: 64; max-width: 100%; height: auto; max-height: 100%;
                         border: thick $accent; padding: 1 2; background: $surface; }
    AskText Label { width: 100%; }
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
        attempt: Attempt | None = None,
    ):
        super().__init__()
        self.optional = optional
        self.title_text = title
        self.placeholder = placeholder
        self.check = check
        self.value = value
        self.attempt = attempt

    def compose(self) -> ComposeResult:
        with Vertical():
            # The title may hold a person's words (a checklist item's label): never markup.
            title = self.title_text
            yield Label(data(title) if isinstance(title, str) else title, id="prompt")
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
            self.refused("Please type something, or Esc to cancel.")
            return
        checked = self.query_one("#check", Checkbox).value if self.check else False
        if self.attempt is not None:
            why = self.attempt(text, checked)
            if why is not None:
                self.refused(why)
                return
        self.dismiss((text, checked))

    def refused(self, why: str) -> None:
        """Say why in the dialog (a service's words may quote what was typed: not markup)."""
        self.query_one("#error", Label).update(data(why))
        self.query_one("#answer", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

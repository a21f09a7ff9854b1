"""A supervisor's questions: who takes a job, and the customer's call-back scores."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

from fieldtech.domain.callbacks import SCORES, check_comment, check_scores
from fieldtech.domain.errors import FieldtechError
from fieldtech.screens.shown import data, line


class PickTechnician(ModalScreen[str | None]):
    """Choose a technician of the team (arrows and Enter, or the mouse)."""

    DEFAULT_CSS = """
    PickTechnician { align: center middle; }
    PickTechnician > Vertical { width: 50; height: auto; max-height: 20; border: thick $accent;
                                padding: 1 2; background: $surface; }
    PickTechnician OptionList { height: auto; max-height: 12; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, title: str | Text, people: list[dict], current: str | None) -> None:
        super().__init__()
        self.title_text = title
        self.people = [p for p in people if p["id"] != current]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                data(self.title_text) if isinstance(self.title_text, str) else self.title_text
            )
            if self.people:
                yield OptionList(*[Option(data(p["name"]), id=p["id"]) for p in self.people])
            else:
                yield Label("Nobody else on the team (sync to refresh the team).")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CallbackForm(ModalScreen[dict | None]):
    """Three scores of 1–5 and what the customer said; checked before it closes."""

    DEFAULT_CSS = """
    CallbackForm { align: center middle; }
    CallbackForm > Vertical { width: 64; height: auto; border: thick $accent; padding: 1 2;
                              background: $surface; }
    CallbackForm Horizontal { height: auto; }
    CallbackForm Horizontal Input { width: 1fr; }
    CallbackForm Label.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, job_ref: str) -> None:
        super().__init__()
        self.job_ref = job_ref

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                line("Call-back for ", data(self.job_ref), ": scores 1 (poor) to 5 (excellent)")
            )
            with Horizontal():
                for name in SCORES:
                    yield Input(placeholder=name, id=name, max_length=1, type="integer")
            yield Input(placeholder="What the customer said (optional)", id="comment")
            yield Label("", classes="error", id="error")
            yield Button("Save (Enter)", variant="primary", id="ok")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._done()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._done()

    def _done(self) -> None:
        values = {n: self.query_one(f"#{n}", Input).value.strip() for n in SCORES}
        comment = self.query_one("#comment", Input).value
        missing = [n for n, v in values.items() if not v]
        if missing:
            self.query_one("#error", Label).update(f"give a score for {', '.join(missing)}")
            return
        try:
            scores = check_scores(**values)
            text = check_comment(comment)
        except FieldtechError as exc:
            self.query_one("#error", Label).update(data(exc.message))
            return
        self.dismiss({**scores, "comment": text})

    def action_cancel(self) -> None:
        self.dismiss(None)

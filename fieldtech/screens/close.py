"""Closing a job: what is still missing comes first, in words; then the customer's sign-off."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Select, Static

from fieldtech.domain.errors import BadInput, CloseRefused
from fieldtech.domain.jobs import OUTCOMES, parse_rating
from fieldtech.domain.text import plain
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.shown import data, line, lines
from fieldtech.screens.status_bar import StatusBar
from fieldtech.services import jobs as job_service


class CloseScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="close.back"),
        Binding(
            "ctrl+s",
            "submit",
            "Close job",
            id="close.submit",
            tooltip="Close with the customer's sign-off",
        ),
    ]
    DEFAULT_CSS = """
    CloseScreen VerticalScroll { padding: 0 1; height: 1fr; }
    CloseScreen #missing { color: $error; margin-bottom: 1; }
    CloseScreen #ready { color: $success; }
    CloseScreen Input, CloseScreen Select { width: 60; }
    """

    def __init__(self, job_id: str):
        super().__init__()
        self.job_id = job_id

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="missing")
            yield Label("Outcome")
            yield Select(
                [(o.words, o.code) for o in OUTCOMES.values()],
                id="outcome",
                prompt="choose the outcome",
            )
            yield Label("Customer's name, as they type it")
            yield Input(id="name")
            yield Label("Customer's confirmation code")
            yield Input(id="code")
            yield Label("Customer's rating, 1 to 5")
            yield Input(id="rating", placeholder="5")
            yield Button("Close job (Ctrl+S)", variant="success", id="submit")
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()
        self.query_one("#outcome", Select).focus()

    def _form(self) -> dict:
        outcome = self.query_one("#outcome", Select).value
        rating_text = self.query_one("#rating", Input).value.strip()
        try:
            rating = parse_rating(rating_text)
        except BadInput:
            rating = None
        return {
            "outcome": outcome if isinstance(outcome, str) else None,
            "signoff_name": self.query_one("#name", Input).value,
            "code": self.query_one("#code", Input).value,
            "rating": rating,
        }

    def refresh_data(self) -> None:
        job = self.app.store.job(self.job_id)
        missing = job_service.close_blockers(self.app.device, job, **self._form())
        panel = self.query_one("#missing", Static)
        # The list names checklist items and readings: people's words, never markup.
        if missing:
            panel.update(
                lines(
                    [
                        line(
                            (plain(job["ref"]), "bold"),
                            (": still missing before it can close", "bold"),
                        ),
                        *(line("• ", data(m)) for m in missing),
                    ]
                )
            )
        else:
            panel.update(
                line(
                    (plain(job["ref"]), "bold green"),
                    (": everything is there — ready to close", "bold green"),
                )
            )

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.refresh_data()

    @on(Button.Pressed, "#submit")
    def _pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        form = self._form()
        rating_text = self.query_one("#rating", Input).value.strip()
        try:
            job_service.close(
                self.app.device,
                self.job_id,
                outcome=form["outcome"],
                signoff_name=form["signoff_name"],
                code=form["code"],
                rating=rating_text or None,
            )
        except CloseRefused as refused:
            self.app.notify(
                f"Not closed: {len(refused.missing)} thing(s) missing", severity="error"
            )
            self.refresh_data()
            return
        except BadInput as exc:
            self.app.notify(exc.message, severity="error", markup=False)
            return
        except Exception as exc:  # a full disk, a damaged file: nothing was saved; say so
            self.app.report_failure(exc, "not closed")
            return
        self.app.notify("Job closed and saved; it goes to HQ with the next sync")
        self.app.data_changed()
        self.app.pop_screen()

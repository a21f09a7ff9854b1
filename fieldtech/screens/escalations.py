"""Escalated open jobs of the team, highest level first: open one, or acknowledge it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from fieldtech.domain.escalation import LEVEL_WORDS
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.dialogs import AskText
from fieldtech.screens.shown import data, line, lines, status_words
from fieldtech.screens.status_bar import StatusBar
from fieldtech.services import supervision

if TYPE_CHECKING:
    from fieldtech.store.rows import EscalatedJob


class EscalationsScreen(FieldScreen):
    rows: list[EscalatedJob] = []

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="escalations.back"),
        Binding("enter", "open_job", "Open", id="escalations.open"),
        Binding(
            "y",
            "acknowledge",
            "Acknowledge",
            id="escalations.ack",
            tooltip="You own it now; the technician sees it",
        ),
    ]
    DEFAULT_CSS = """
    EscalationsScreen #title { height: 1; padding: 0 1; text-style: bold; }
    EscalationsScreen DataTable { height: 1fr; }
    EscalationsScreen #detail { height: auto; max-height: 6; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield DataTable(id="escalations", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail")
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in (
            ("level", 12),
            ("seen", 4),
            ("job", 8),
            ("technician", 14),
            ("status", 11),
            ("note", max(12, self.app.size.width - 66)),
        ):
            table.add_column(name, width=width)
        self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        rows = self.rows = self.app.store.escalations()
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for r in rows:
            level = r["escalation_level"]
            seen = r["escalation_ack_level"] >= level
            table.add_row(
                Text(f"{level} {LEVEL_WORDS.get(level, '')}", style="" if seen else "bold red"),
                "yes" if seen else Text("no", style="bold"),
                data(r["ref"]),
                data(r["technician"]),
                status_words(r["status"]),
                data(r["note"]),
                key=r["id"],
            )
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        waiting = sum(r["escalation_ack_level"] < r["escalation_level"] for r in rows)
        self.query_one("#title", Static).update(
            f"Escalated jobs: {len(rows)} · {waiting} not acknowledged"
        )

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.app.notify("no escalated job selected", severity="warning")
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The whole note of the highlighted job: the table cuts long ones short.
        row = next((r for r in self.rows if r["id"] == event.row_key.value), None)
        text = (
            lines([line(data(row["ref"]), " · ", data(row["summary"])), data(row["note"])])
            if row
            else ""
        )
        self.query_one("#detail", Static).update(text)

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if (job := event.row_key.value) is not None:  # every row has its job's id as key
            self.app.open_job(job)

    def action_open_job(self) -> None:
        if job := self._selected():
            self.app.open_job(job)

    def action_acknowledge(self) -> None:
        if (job := self._selected()) is None:
            return

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is None:
                return
            if self.app.perform(supervision.acknowledge, self.app.device, job, answer[0]):
                self.refresh_data()

        self.app.push_screen(
            AskText("Acknowledge: what will you do? (optional)", "calling…", optional=True), done
        )

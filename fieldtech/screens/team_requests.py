"""Part requests of the team, waiting for the supervisor: approve, or reject saying why."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from fieldtech.domain.text import plain
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.dialogs import AskText
from fieldtech.screens.shown import data
from fieldtech.screens.status_bar import StatusBar
from fieldtech.services import supervision


class RequestsScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="requests.back"),
        Binding("a", "approve", "Approve", id="requests.approve", tooltip="The warehouse ships"),
        Binding("x", "reject", "Reject", id="requests.reject", tooltip="Say why"),
        Binding(
            "w", "toggle_all", "All/waiting", id="requests.all", tooltip="Every request or waiting"
        ),
    ]
    DEFAULT_CSS = """
    RequestsScreen #title { height: 1; padding: 0 1; text-style: bold; }
    RequestsScreen DataTable { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.everything = False

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield DataTable(id="requests", cursor_type="row", zebra_stripes=True)
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in (
            ("technician", 14),
            ("part", 20),
            ("qty", 3),
            ("job", 8),
            ("status", 9),
            ("note", max(10, self.app.size.width - 80)),
        ):
            table.add_column(name, width=width)
        self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        rows = self.app.store.team_requests(None if self.everything else "submitted")
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for r in rows:
            note = plain(r["note"])
            if r["decided_reason"]:
                note = f"{note} · {plain(r['decided_reason'])}".strip(" ·")
            table.add_row(
                data(r["technician"]),
                data(r["part"]),
                data(r["qty"]),
                data(r["job_ref"]),
                data(r["status"]),
                Text(note),
                key=r["id"],
            )
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        what = "All part requests" if self.everything else "Part requests waiting for you"
        self.query_one("#title", Static).update(
            f"{what}: {len(rows)}" + ("" if rows else " · nothing to decide")
        )

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.app.notify("no request selected", severity="warning")
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_approve(self) -> None:
        if (req := self._selected()) is None:
            return
        if self.app.perform(supervision.approve, self.app.device, req) is not None:
            self.refresh_data()

    def action_reject(self) -> None:
        if (req := self._selected()) is None:
            return

        def done(answer: tuple[str, bool] | None) -> None:
            if answer and self.app.perform(supervision.reject, self.app.device, req, answer[0]):
                self.refresh_data()

        self.app.push_screen(AskText("Why is the request rejected?", "take one from…"), done)

    def action_toggle_all(self) -> None:
        self.everything = not self.everything
        self.refresh_data()

"""The supervisor's board: the team at a glance, from the last pulled state.

Per technician: open, busy (on site or working), waiting for parts, done today, late,
escalated, average customer rating and call-back score. What waits for the supervisor
(part requests, escalations) is one key away. It works offline and says how old it is.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from fieldtech.domain.jobs import age_words
from fieldtech.domain.text import plain
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.shown import cut, data, line, one_line, when
from fieldtech.screens.status_bar import StatusBar

COLUMNS = (
    ("technician", 18),
    ("open", 4),
    ("busy", 4),
    ("parts", 5),
    ("done", 4),
    ("late", 4),
    ("esc", 3),
    ("rating", 6),
    ("call-back", 9),
)
LEGEND = (
    "busy: on site or working · parts: on hold for parts · done: completed today · "
    "late: past the promised time · esc: escalated · call-back: average score 1–5"
)


def _num(value, *, warn: bool = False) -> Text:
    if not value:
        return Text("·", style="dim", justify="right")
    return Text(str(value), style="bold red" if warn else "", justify="right")


class BoardScreen(FieldScreen):
    BINDINGS = [
        Binding(
            "enter", "open_technician", "Jobs", id="board.jobs", tooltip="This technician's jobs"
        ),
        Binding("j", "team_jobs", "All jobs", id="board.all", tooltip="Every job of the team"),
        Binding(
            "r",
            "requests",
            "Requests",
            id="board.requests",
            tooltip="Part requests waiting for approval",
        ),
        Binding(
            "e", "escalations", "Escalations", id="board.escalations", tooltip="Escalated jobs"
        ),
    ]
    DEFAULT_CSS = """
    BoardScreen #title { height: 1; padding: 0 1; text-style: bold; }
    BoardScreen #waiting { height: auto; padding: 0 1; }
    BoardScreen #legend { height: auto; color: $text-muted; padding: 0 1; }
    BoardScreen DataTable { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield DataTable(id="team", cursor_type="row", zebra_stripes=True)
        yield Static(id="waiting")
        yield Static(LEGEND, id="legend")
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name, width in COLUMNS:
            table.add_column(name, width=width)
        self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        st = self.app.store
        now = self.app.now_iso()
        rows = st.team_status(now)
        table = self.query_one(DataTable)
        keep = table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(
                data(r["name"]),
                _num(r["open"]),
                _num(r["in_progress"]),
                _num(r["on_hold_for_parts"]),
                _num(r["completed_today"]),
                _num(r["overdue"], warn=True),
                _num(r["escalated"], warn=True),
                Text(f"{r['avg_rating']:.1f}" if r["avg_rating"] else "—", justify="right"),
                Text(
                    f"{r['avg_callback']:.1f} ({r['callbacks']})" if r["avg_callback"] else "—",
                    justify="right",
                ),
                key=r["technician"],
            )
        if rows:
            table.move_cursor(row=min(keep, len(rows) - 1))
        team = st.meta("team") or "your team"
        last_ok = st.meta("last_sync_ok")
        age = age_words(last_ok, self.app.now())
        self.query_one("#title", Static).update(
            one_line(
                line(
                    "Team ",
                    cut(team, 24),
                    f" · {len(rows)} technicians · as of the last sync: {age}",
                    line(" (", when(last_ok, date=False), ")") if last_ok else "",
                )
            )
        )
        waiting = len(st.team_requests())
        open_esc = len(st.escalations(unacknowledged_only=True))
        style = "yellow" if waiting or open_esc else "green"
        self.query_one("#waiting", Static).update(
            line(
                (str(waiting), f"bold {style}"),
                (f" part request{'s' if waiting != 1 else ''} to decide (", style),
                ("r", f"bold {style}"),
                (") · ", style),
                (str(open_esc), f"bold {style}"),
                (f" escalation{'s' if open_esc != 1 else ''} not acknowledged (", style),
                ("e", f"bold {style}"),
                (")", style),
            )
        )
        if not rows:
            self.query_one("#waiting", Static).update(
                "No team state on this device yet: sync (ctrl+y) when the link is up."
            )

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if (who := event.row_key.value) is not None:  # every row has its person's id as key
            self._open(who)

    def action_open_technician(self) -> None:
        if who := self._selected():
            self._open(who)

    def _open(self, who: str) -> None:
        from fieldtech.screens.queue import QueueScreen

        self.app.push_screen(QueueScreen(technician=who, title=plain(self.app.store.person(who))))

    def action_team_jobs(self) -> None:
        from fieldtech.screens.queue import QueueScreen

        self.app.push_screen(QueueScreen(title="the whole team"))

    def action_requests(self) -> None:
        from fieldtech.screens.team_requests import RequestsScreen

        self.app.push_screen(RequestsScreen())

    def action_escalations(self) -> None:
        from fieldtech.screens.escalations import EscalationsScreen

        self.app.push_screen(EscalationsScreen())

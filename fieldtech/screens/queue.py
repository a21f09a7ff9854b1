"""The queue: today's and upcoming jobs, most urgent first, filtered as you type.

Only a window of rows is read from SQLite (keyset pagination over the queue's index); more
are fetched as the cursor nears the end, so a store of 100,000 jobs opens as fast as ten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input, Static

from fieldtech.domain.jobs import STATUS_WORDS, Kind, Status, sla_words
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.job_table import JobTable
from fieldtech.screens.search_box import SearchBox
from fieldtech.screens.shown import cut
from fieldtech.screens.status_bar import StatusBar
from fieldtech.store.jobs import QueueFilter

if TYPE_CHECKING:
    from fieldtech.store.rows import QueueRow

PAGE = 100
SLA_COLUMN = 5  # where the countdown is, in the columns added on mount
TITLE_CELLS = 24
PRIORITY_STYLE = {
    "emergency": "bold white on red",
    "vip": "bold magenta",
    "high": "yellow",
    "normal": "",
    "low": "dim",
}
STATUS_CYCLE: list[str | None] = [
    None,
    "assigned",
    "en_route",
    "on_site",
    "in_progress",
    "on_hold",
    "completed",
    "cannot_complete",
    "cancelled",
]
KIND_CYCLE: list[str | None] = [None, *[k.value for k in Kind]]


class QueueScreen(FieldScreen):
    AUTO_FOCUS = "#jobs"  # the table has the focus from the first frame
    BINDINGS = [
        Binding("enter", "open_job", "Open", id="queue.open", tooltip="Open the job"),
        Binding(
            "slash",
            "focus_filter",
            "Filter",
            id="queue.filter",
            tooltip="Type to search customer, address, appliance, job",
            # Handled as it arrives, before the keys behind it are handed on: otherwise a
            # quick `/lhasa` reaches the table before the search box has the focus.
            priority=True,
        ),
        Binding(
            "s", "cycle_status", "Status", id="queue.status", tooltip="Show one status at a time"
        ),
        Binding("k", "cycle_kind", "Kind", id="queue.kind", tooltip="Show one kind of job"),
        Binding("escape", "clear_filter", "Clear/back", id="queue.clear", show=False),
    ]
    DEFAULT_CSS = """
    QueueScreen Input { height: 3; }
    QueueScreen #filters { height: 1; color: $text-muted; padding: 0 1; }
    QueueScreen JobTable { height: 1fr; }
    """

    def __init__(self, *, technician: str | None = None, title: str | None = None) -> None:
        """`technician`: a supervisor looking at one technician's jobs; `title` names whose."""
        super().__init__()
        self.technician = technician
        self.title_words = title
        self.names: dict[str | None, str] = {}
        self.status_i = 0
        self.kind_i = 0
        self.last_key: tuple | None = None
        self.exhausted = False

    def compose(self) -> ComposeResult:
        yield SearchBox(placeholder="Search: customer, address, appliance, job…", id="filter")
        yield Static("", id="filters")
        yield JobTable(id="jobs")
        yield StatusBar(id="status-bar")
        yield Footer()

    @property
    def across_team(self) -> bool:
        """A supervisor's list of the whole team: say whose each job is."""
        return self.app.is_supervisor and self.technician is None

    def on_mount(self) -> None:
        table = self.query_one(JobTable)
        if self.across_team:
            self.names = {p["id"]: p["name"] for p in self.app.store.roster()}
        # Fixed widths: refilling the table never re-measures every cell. Up to the SLA the
        # columns fill 78 cells, an 80-column terminal less the table's scrollbar, so the
        # countdown shows whole there ("overdue 3d 23h"); the summary takes what is left
        # of a wider one, and scrolls into view on a narrow one.
        rest = max(16, self.app.size.width - 82)
        for name, width in (
            ("priority", 9),
            ("status", 11),
            ("job", 9),
            ("customer", 13),
            ("technician" if self.across_team else "place", 9),
            ("SLA", 15),
            ("summary", rest),
        ):
            table.add_column(name, width=width)
        self.reload()
        # Refill in the same step as the keystroke, not on the Changed message a step later:
        # the frame that shows the typed character then shows its rows too.
        self.watch(self.query_one("#filter", Input), "value", self._filter_changed, init=False)

    @property
    def filter(self) -> QueueFilter:
        text = self.query_one("#filter", Input).value.strip() or None
        status = STATUS_CYCLE[self.status_i]
        return QueueFilter(
            text=text,
            status=status,
            kind=KIND_CYCLE[self.kind_i],
            open_only=status is None,
            technician_id=self.technician or self.app.technician_filter,
        )

    def reload(self) -> None:
        table = self.query_one(JobTable)
        table.clear()
        self.due: list[str | None] = []  # each loaded row's promised time while it is open
        self.last_key = None
        self.exhausted = False
        self._load_more()
        table.rows_added()
        s = STATUS_CYCLE[self.status_i]
        k = KIND_CYCLE[self.kind_i]
        shown = f"{STATUS_WORDS[Status(s)]} jobs" if s else "open jobs"
        if k:
            shown += f" · {k} only"
        if self.title_words:  # a person's name: a long one is cut, the counts stay
            shown += f" · {cut(self.title_words, TITLE_CELLS)}"
        self.query_one("#filters", Static).update(
            # `shown` holds a technician's name: plain text, never markup.
            Text.assemble(
                f"{shown} · {table.row_count}{'+' if not self.exhausted else ''} shown · ",
                ("s", "bold"),
                " status · ",
                ("k", "bold"),
                " kind · ",
                ("/", "bold"),
                " search",
                no_wrap=True,  # one line: a long name is cut, the counts stay in view
                overflow="ellipsis",
            ),
            layout=False,  # one line of fixed height: no need to lay the screen out again
        )

    def _load_more(self) -> None:
        if self.exhausted:
            return
        # The first window is what the screen shows and a little more: a keystroke refills
        # only that; scrolling fetches the next PAGE.
        limit = PAGE if self.last_key else max(30, self.app.size.height + 10)
        rows = self.app.store.queue(self.filter, after=self.last_key, limit=limit)
        if len(rows) < limit:
            self.exhausted = True
        if not rows:
            return
        now = self.app.now_iso()
        table = self.query_one(JobTable)
        for r in rows:
            due = r["sla_due"] if Status(r["status"]).is_open else None
            self.due.append(due)
            table.add_row(
                Text(r["priority"], style=PRIORITY_STYLE[r["priority"]]),
                STATUS_WORDS[Status(r["status"])],
                r["ref"],
                r["customer"],
                self._whose(r) if self.across_team else r["city"] or "",
                _sla_cell(due, now),
                r["summary"],
                key=r["id"],
            )
        self.last_key = rows[-1]["cursor"]

    def clock_tick(self) -> None:
        """Countdowns move on while nobody types: a job passes its SLA on screen."""
        if not self.query(JobTable) or not hasattr(self, "due"):
            return  # not before the screen has built and filled its table
        table = self.query_one(JobTable)
        now = self.app.now_iso()
        for index, due in enumerate(self.due[: table.row_count]):
            if due is not None:
                table.set_cell(index, SLA_COLUMN, _sla_cell(due, now))

    def _whose(self, row: QueueRow) -> str:
        who = row["technician_id"]
        return self.names.get(who, who or "nobody")

    @on(JobTable.Highlighted)
    def _near_end(self, event: JobTable.Highlighted) -> None:
        table = self.query_one(JobTable)
        if not self.exhausted and event.cursor_row >= table.row_count - 10:
            self._load_more()
            table.rows_added()

    def _filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(JobTable).focus()

    @on(JobTable.Selected)
    def _selected(self, event: JobTable.Selected) -> None:
        self.app.open_job(event.key)

    def action_open_job(self) -> None:
        key = self.query_one(JobTable).cursor_key
        if key is not None:
            self.app.open_job(key)

    def action_focus_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if self.focused is box:  # a `/` in the search itself: "12/3 Main St"
            box.insert_text_at_cursor("/")
            return
        # At once, not on a later turn as `focus()` does: keys typed straight after `/`
        # (a quick typist, or a terminal delivering them in one read) are already queued.
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.value and self.title_words is not None:
            self.app.pop_screen()  # a list opened from the board: back to the board
            return
        box.value = ""
        self.set_focus(self.query_one(JobTable))  # at once: a `/` may follow straight away

    def action_cycle_status(self) -> None:
        self.status_i = (self.status_i + 1) % len(STATUS_CYCLE)
        self.reload()

    def action_cycle_kind(self) -> None:
        self.kind_i = (self.kind_i + 1) % len(KIND_CYCLE)
        self.reload()

    def refresh_data(self) -> None:
        self.reload()


def _sla_cell(due: str | None, now: str) -> Text:
    sla = sla_words(due, now) if due else ""
    return Text(sla, style="bold red" if sla.startswith("overdue") else "")

"""The floor both app benchmarks compare against: the queue's widgets (search box, a line
of text, the job table, a status line, footer) in a bare Textual app with no data and no
fieldtech beyond the table. It fills a screenful of rows on start and again, in the
keystroke's own step, whenever the search box changes, as the queue does."""

from __future__ import annotations

import gc

from textual.app import App
from textual.widgets import Footer, Input, Static

from fieldtech.screens.job_table import JobTable

NAMES = ("priority", "status", "job", "customer", "place", "SLA", "summary")
WIDTHS = (9, 11, 10, 15, 9, 14)  # the queue's; the summary takes the rest, as there


class Floor(App):
    BINDINGS = [("slash", "focus_filter", "Filter")]  # as the queue's `/`

    def action_focus_filter(self) -> None:
        self.query_one(Input).focus()

    def compose(self):
        yield Input(id="filter")
        yield Static("", id="filters")
        yield JobTable(id="jobs")
        yield Static("status", id="status")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(JobTable)
        for name, width in zip(NAMES, (*WIDTHS, max(16, self.size.width - 76)), strict=True):
            table.add_column(name, width=width)
        self.refill("")
        table.focus()
        self.watch(self.query_one(Input), "value", self.refill, init=False)
        self.set_timer(1.0, self._settle_memory)  # as fieldtech's app does (SETTLE_MEMORY)

    def refill(self, value: str) -> None:
        table = self.query_one(JobTable)
        table.clear()
        for i in range(self.size.height + 10):
            table.add_row(*[f"{value} {i} {n}" for n in NAMES], key=str(i))
        table.rows_added()

    def _settle_memory(self) -> None:
        gc.collect()
        gc.freeze()

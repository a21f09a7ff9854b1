"""Sync: the link, what waits to go by kind, what HQ refused and why, conflicts."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from fieldtech.screens.base import FieldScreen
from fieldtech.screens.status_bar import StatusBar, age_words


class SyncScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="sync.back"),
        Binding("ctrl+y", "app.sync_now", "Sync now", id="sync.now"),
    ]
    DEFAULT_CSS = """
    SyncScreen VerticalScroll { padding: 0 1; height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="link")
            yield Static(id="pending")
            yield Static(id="rejected")
            yield Static(id="conflicts")
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        app = self.app
        st = app.store
        now = app.now()
        online = app.link_online
        link = (
            "not enrolled with HQ (fieldtech enroll URL CODE)"
            if online is None
            else "[green]online[/green]"
            if online
            else "[red]offline: work is kept here[/]"
        )
        error = st.meta("last_sync_error")
        self.query_one("#link", Static).update(
            f"[b]Link:[/b] {link}\n[b]Last good sync:[/b] "
            f"{age_words(st.meta('last_sync_ok'), now)}"
            + (f"\n[b]Last problem:[/b] {error}" if error else "")
        )
        by_op = st.outbox_by_op()
        lines = [f"  {n:>5}  {op}" for op, n in by_op.items()]
        self.query_one("#pending", Static).update(
            "[b]Waiting to send[/b]\n" + ("\n".join(lines) if lines else "  nothing: all at HQ")
        )
        rejected = st.outbox("rejected")
        self.query_one("#rejected", Static).update(
            "[b]Refused by HQ (kept here)[/b]\n"
            + (
                "\n".join(
                    f"  {r['op']} on {r['entity']} {r['entity_id'][-8:]}: {r['reason']}"
                    for r in rejected
                )
                if rejected
                else "  none"
            )
        )
        conflicts = st.conflicts()
        self.query_one("#conflicts", Static).update(
            "[b]Conflicts[/b]\n"
            + (
                "\n".join(
                    f"  job {c['entity_id'][-8:]} · {c['field']}: mine [b]{c['mine']}[/b] "
                    f"({c['mine_at'] or '?'}) · theirs [b]{c['theirs']}[/b] by {c['theirs_by']} "
                    f"({c['theirs_at'] or '?'})"
                    for c in conflicts
                )
                if conflicts
                else "  none"
            )
        )

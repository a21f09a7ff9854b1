"""Sync: the link, what waits to go by kind, what HQ refused and why, conflicts."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.jobs import age_words
from fieldtech.domain.ops import OP_WORDS
from fieldtech.domain.sending import CLASSES
from fieldtech.domain.text import plain
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.shown import data, line, lines, when
from fieldtech.screens.status_bar import StatusBar

if TYPE_CHECKING:
    from fieldtech.services.readiness import Readiness

ENTITY_WORDS = {
    "stock": "the van's stock",
    "callback": "a call-back",
    "part_request": "a part request",
}
# The job fields a conflict can be about, as a technician names them.
FIELD_WORDS = {
    "status": "status",
    "technician_id": "who has the job",
    "hold_reason": "hold reason",
    "hold_for": "on hold for",
    "summary": "summary",
    "sla_due": "promised time",
    "window_start": "appointment",
}


class SyncScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="sync.back"),
        Binding("ctrl+y", "app.sync_by_hand", "Sync now", id="sync.now"),
        Binding("b", "bundle", "Sync by file", id="sync.bundle"),
    ]
    DEFAULT_CSS = """
    SyncScreen VerticalScroll { padding: 0 1; height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="link")
            yield Static(id="pending")
            yield Static(id="next-sync")
            yield Static(id="ready")
            yield Static(id="rejected")
            yield Static(id="conflicts")
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        app = self.app
        enrolled = app.sync_agent is not None or app.agent_coming
        self.query_one("#link", Static).update(self._link(enrolled))
        self.query_one("#pending", Static).update(self._waiting(enrolled))
        nxt = self.query_one("#next-sync", Static)
        nxt.display = enrolled  # no next sync where there is no HQ
        if enrolled:
            nxt.update(self._next_sync())
        self.query_one("#rejected", Static).update(self._refused())
        self.query_one("#conflicts", Static).update(self._conflicts())
        self._look_ready(enrolled)

    def _look_ready(self, enrolled: bool) -> None:
        """Ready to leave coverage? Read on a connection of its own, off the screen's thread
        (a device with many jobs due has many to look at)."""
        path = self.app.store.path
        if path is None:
            return
        from fieldtech.services.readiness import check_file

        work = partial(check_file, path, 2, enrolled=enrolled)
        self.run_worker(work, thread=True, name="ready", exclusive=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        got = event.worker.result
        if event.worker.name == "ready" and event.state is WorkerState.SUCCESS and got:
            self.query_one("#ready", Static).update(ready_words(got))

    def action_bundle(self) -> None:
        from fieldtech.screens.bundle_dialog import BundleDialog

        store, locations = self.app.store, self.app.locations
        if store.path is None or locations is None:
            self.app.notify("sync by file needs this device's own data folder", markup=False)
            return
        self.app.push_screen(
            BundleDialog(store.path, locations.credential), lambda _changed: self.refresh_data()
        )

    def _waiting(self, enrolled: bool) -> Text:
        """What waits in the outbox, counted by kind of change."""
        by_op = self.app.store.outbox_by_op()
        waiting = [line(f"  {n:>5}  ", OP_WORDS.get(op, plain(op))) for op, n in by_op.items()]
        files, size = self.app.store.uploads_waiting()
        if files:  # the bytes of photos and files go after all the operations
            from fieldtech.domain.attachments import size_words

            waiting.append(
                line(f"  {files:>5}  ", f"file{'s' if files != 1 else ''} ({size_words(size)})")
            )
        if not waiting:
            # "All at HQ" only where there is an HQ: an unenrolled device has sent nothing.
            waiting = [
                line("  nothing: all at HQ")
                if enrolled
                else line(
                    "  nothing waiting, and nothing goes to HQ: this device is not enrolled. Run ",
                    ("fieldtech enroll URL CODE", "bold"),
                    " with the address and one-time code HQ gave you.",
                )
            ]
        return lines([line(("Waiting to send", "bold")), *waiting])

    def _next_sync(self) -> Text:
        """What the next sync sends and what waits for a later one: within a byte budget
        (settings.toml: sync_budget) not all may fit, and what goes first is fixed."""
        budget = self.app.sync_budget
        if budget is None:
            if not self.app.store.outbox_counts().get("pending", 0):
                return lines([line(("Next sync", "bold"), ": nothing waits to go")])
            return lines([line(("Next sync", "bold"), ": all that waits goes (no byte budget)")])
        from fieldtech.sync import outgoing  # the sync stack: only on this screen

        plan = outgoing.plan(self.app.device, budget=budget)
        rows = []
        for name in CLASSES:  # in the order they go
            n, w = plan["fits"].get(name, 0), plan["waits"].get(name, 0)
            if n or w:
                rows.append(line(f"  {n:>5} go", f", {w:,} wait" if w else "", f"  {name}"))
        return lines(
            [
                line(("Next sync", "bold"), f": within its budget of {budget:,} bytes"),
                *(rows or [line("  nothing to send")]),
            ]
        )

    def _refused(self) -> Text:
        """The changes HQ refused, each with HQ's reason; they stay on this device."""
        rejected = self.app.store.outbox("rejected")
        return lines(
            [
                line(("Refused by HQ (kept here)", "bold")),
                *(
                    line(
                        "  ",
                        OP_WORDS.get(r["op"], plain(r["op"])),
                        " on ",
                        self._entity(r["entity"], r["entity_id"]),
                        ": ",
                        data(r["reason"]),
                    )
                    for r in rejected
                ),
                *([] if rejected else [line("  none")]),
            ]
        )

    def _conflicts(self) -> Text:
        """Where this device and HQ changed the same field: both versions, who and when."""
        st = self.app.store
        conflicts = st.conflicts()
        return lines(
            [
                line(("Conflicts", "bold")),
                *(
                    line(
                        "  ",
                        self._entity(c["entity"], c["entity_id"]),
                        " · ",
                        data(FIELD_WORDS.get(c["field"], c["field"])),
                        ": mine ",
                        data(c["mine"], "bold"),
                        " (",
                        when(c["mine_at"]),
                        ") · theirs ",
                        data(c["theirs"], "bold"),
                        " by ",
                        data(st.person(c["theirs_by"]) if c["theirs_by"] else "?"),
                        " (",
                        when(c["theirs_at"]),
                        ")",
                    )
                    for c in conflicts
                ),
                *([] if conflicts else [line("  none")]),
            ]
        )

    def _link(self, enrolled: bool) -> Text:
        app, st = self.app, self.app.store
        if not enrolled:
            link = line(
                ("not enrolled with HQ", "bold"), ": run ", ("fieldtech enroll URL CODE", "bold")
            )
        else:
            # The words of the status bar: what is true now (offline, unreachable, synced).
            text, style = app.link.words(last_ok=st.meta("last_sync_ok"), now=app.now())
            link = data(text, style)
        last_ok = st.meta("last_sync_ok")
        ok = line(age_words(last_ok, app.now()))
        if last_ok:
            ok.append_text(line(" (", when(last_ok), ")"))
        error = st.meta("last_sync_error")
        return lines(
            [
                line(("Link: ", "bold"), link),
                line(("Last good sync: ", "bold"), ok),
                *([line(("Last problem: ", "bold"), data(error))] if error else []),
            ]
        )

    def _entity(self, entity: str, entity_id: str) -> Text:
        """What a change was about, as a person names it: 'job J-000003', not an id."""
        st = self.app.store
        if entity == "job":
            try:
                return line("job ", data(st.job(entity_id)["ref"]))
            except FieldtechError:
                return line("a job no longer on this device")
        if entity == "part_request":
            try:
                req = st.part_request(entity_id)
                return line("the request for ", data(req["qty"]), " × ", data(req["sku"]))
            except FieldtechError:
                return line("a part request")
        return line(ENTITY_WORDS.get(entity, plain(entity)))


def ready_words(got: Readiness) -> Text:
    """The `fieldtech ready` check, as the sync screen shows it."""
    head = line(("Ready to leave coverage", "bold"), f" (the next {got.days} days' jobs): ")
    if got.ready:
        return lines([head + line(("yes", "green"), f", {got.jobs} job(s) have all they need")])
    gaps = [line("  • ", data(g.job + ": ") if g.job else "", data(g.words)) for g in got.gaps[:8]]
    more = [line(f"  … and {len(got.gaps) - 8} more: fieldtech ready")] if len(got.gaps) > 8 else []
    return lines([head + line((f"not yet, {len(got.gaps)} missing", "yellow")), *gaps, *more])

"""One job: customer file, site hazards, appliance, history, and what the status allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from fieldtech.domain.jobs import FIELD_TRANSITIONS, Status, sla_words
from fieldtech.screens import job_panels as panels
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.dialogs import AskText, perform_saying_why
from fieldtech.screens.shown import data, line, lines
from fieldtech.screens.status_bar import StatusBar
from fieldtech.services import escalations, supervision
from fieldtech.services import jobs as job_service

if TYPE_CHECKING:
    from fieldtech.store.rows import JobCard

# Which action each status allows (from the state machine), so keys match the rules.
NEEDS = {
    "start": Status.EN_ROUTE,
    "arrive": Status.ON_SITE,
    "hold": Status.ON_HOLD,
    "close": Status.COMPLETED,
    "cannot_complete": Status.CANNOT_COMPLETE,
}


SUPERVISOR_ACTIONS = ("reassign", "acknowledge", "callback")


class JobScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="job.back"),
        Binding("t", "start", "Set off", id="job.start", tooltip="On my way (en route)"),
        Binding("a", "arrive", "Arrived", id="job.arrive", tooltip="On site"),
        Binding("c", "checklist", "Checklist", id="job.checklist"),
        Binding("p", "parts", "Parts", id="job.parts"),
        Binding("n", "note", "Note", id="job.note"),
        Binding("f", "attach", "Attach", id="job.attach", tooltip="A photo or file, as proof"),
        Binding("h", "hold", "Hold", id="job.hold", tooltip="On hold, with a reason"),
        Binding("r", "resume", "Resume", id="job.resume"),
        Binding("x", "close", "Close job", id="job.close", tooltip="Sign-off and rating"),
        Binding(
            "u",
            "cannot_complete",
            "Can't complete",
            id="job.cannot",
            tooltip="Close without finishing, with a reason",
        ),
        Binding(
            "e",
            "escalate",
            "Ask HQ",
            id="job.escalate",
            tooltip="Escalate: it goes to HQ first at the next sync",
        ),
        # A supervisor's device: the job is read-only, these are the decisions.
        Binding("g", "reassign", "Reassign", id="job.reassign", tooltip="Give to a teammate"),
        Binding(
            "y", "acknowledge", "Acknowledge", id="job.acknowledge", tooltip="Own the escalation"
        ),
        Binding("b", "callback", "Call-back", id="job.callback", tooltip="The customer's scores"),
    ]
    DEFAULT_CSS = """
    JobScreen VerticalScroll { padding: 0 1; height: 1fr; }
    JobScreen .hazards { color: $error; text-style: bold; }
    JobScreen .heading { text-style: bold; margin-top: 1; }
    """

    def __init__(self, job_id: str):
        super().__init__()
        self.job_id = job_id
        self._thumbs: dict[str, Text | str] = {}

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="head")
            yield Static(id="hazards", classes="hazards")
            yield Static(id="site")
            yield Static("Customer file", classes="heading")
            yield Static(id="file")
            yield Static("Photos and files", classes="heading")
            yield Static(id="thumb")
            yield Static(id="files")
            yield Static("History", classes="heading")
            yield Static(id="history")
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()

    @property
    def status(self) -> Status:
        return Status(self.app.store.job(self.job_id)["status"])

    def clock_tick(self) -> None:
        if self.query("#head"):  # not before the screen has built its widgets
            self.refresh_data()  # the SLA countdown in the heading moves on

    def refresh_data(self) -> None:
        st = self.app.store
        card = st.job_card(self.job_id)
        status = Status(card["status"])
        sla = sla_words(card["sla_due"], self.app.now_iso()) if status.is_open else ""
        self.query_one("#head", Static).update(panels.heading(card, sla))
        self.query_one("#hazards", Static).update(panels.hazards(card))
        self.query_one("#site", Static).update(lines(self._site_lines(card)))
        history = st.customer_history(card["customer_id"], card["id"])
        self.query_one("#file", Static).update(panels.customer_file(history))
        attached = st.attachments(card["id"])
        here = frozenset(a["sha256"] for a in attached if st.file_path(a["sha256"]).is_file())
        files = panels.attachments(attached, can_attach=not self.app.is_supervisor, here=here)
        self.query_one("#files", Static).update(files)
        from fieldtech.screens.thumbnail import latest_picture

        thumb = latest_picture(st, attached, self._thumbs)
        shown = self.query_one("#thumb", Static)
        shown.update(thumb)
        shown.display = bool(thumb)  # no blank line where there is no picture
        events = st.job_events(card["id"])
        conflicts = st.conflicts(card["id"])
        self.query_one("#history", Static).update(panels.history(events, conflicts))
        self.refresh_bindings()

    def _site_lines(self, card: JobCard) -> list[Text]:
        """The customer panel: who, where, what, when; and what the supervisor decides on."""
        out = panels.customer_lines(card, self._customer_phone(card))
        if self.app.is_supervisor:
            st = self.app.store
            technician = st.person(card["technician_id"])
            out += panels.supervisor_lines(card, technician, st.callbacks(card["id"]))
        return out + panels.standing_lines(card, self.app.technician_filter)

    def _customer_phone(self, card: JobCard) -> str | None:
        """The code the customer's phone shows, where this device is a demo's: the demo's own
        HQ (fieldtech demo) or the seeded demo profile (fieldtech seed). Never on a real
        device: it keeps only the code's salted hash and the customer says the code."""
        phone = self.app.customer_phone
        if phone is not None:
            return phone(card["id"])
        return job_service.seeded_demo_code(self.app.store, card)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in SUPERVISOR_ACTIONS or self.app.is_supervisor:
            return self._supervisor_may(action)
        if action in NEEDS:
            try:
                return NEEDS[action] in FIELD_TRANSITIONS[self.status]
            except Exception:  # the job vanished mid-refresh: show nothing extra
                return None
        if action == "resume":
            return self.status is Status.ON_HOLD
        return True

    def _supervisor_may(self, action: str) -> bool | None:
        if action not in SUPERVISOR_ACTIONS:
            return action in ("app.pop_screen", "pop_screen")  # read-only for supervisors
        if not self.app.is_supervisor:
            return False
        try:
            job = self.app.store.job(self.job_id)
        except Exception:  # the job vanished mid-refresh
            return None
        status = Status(job["status"])
        if action == "reassign":
            return status.is_open
        if action == "acknowledge":
            return job["escalation_level"] > job["escalation_ack_level"]
        return status in (Status.COMPLETED, Status.CANNOT_COMPLETE)

    def action_reassign(self) -> None:
        from fieldtech.screens.team_dialogs import PickTechnician

        job = self.app.store.job(self.job_id)

        def done(who: str | None) -> None:
            if who:
                self._do(supervision.reassign, self.app.device, self.job_id, who)

        self.app.push_screen(
            PickTechnician(
                line("Who takes ", data(job["ref"]), "?"),
                # PickTechnician (team_dialogs) still takes plain dicts: the same rows, copied.
                [dict(person) for person in self.app.store.roster()],
                job["technician_id"],
            ),
            done,
        )

    def action_acknowledge(self) -> None:
        self.app.push_screen(
            AskText(
                "Acknowledge: what will you do? (optional)",
                "calling…",
                optional=True,
                attempt=lambda words, _: self._try(
                    supervision.acknowledge, self.app.device, self.job_id, words
                ),
            )
        )

    def action_callback(self) -> None:
        from fieldtech.screens.team_dialogs import CallbackForm

        def done(scores: dict[str, Any] | None) -> None:
            if scores:
                self._do(supervision.record_callback, self.app.device, self.job_id, **scores)

        self.app.push_screen(CallbackForm(self.app.store.job(self.job_id)["ref"]), done)

    def _do(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        self.app.perform(fn, *args, **kwargs)
        self.refresh_data()

    def _try(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> str | None:
        """What a dialog's OK does: the service's refusal comes back to the dialog, which
        keeps what was typed and says why."""
        _, why = perform_saying_why(self.app, fn, *args, **kwargs)
        self.refresh_data()
        return why

    def action_start(self) -> None:
        self._do(job_service.start, self.app.device, self.job_id)

    def action_arrive(self) -> None:
        self._do(job_service.arrive, self.app.device, self.job_id)

    def action_resume(self) -> None:
        self._do(job_service.resume, self.app.device, self.job_id)

    def action_hold(self) -> None:
        from fieldtech.screens.hold_dialog import AskHold

        def hold(waits_for: str, reason: str) -> str | None:
            return self._try(
                job_service.hold, self.app.device, self.job_id, reason, waits_for=waits_for
            )

        self.app.push_screen(AskHold(attempt=hold))

    def action_note(self) -> None:
        self.app.push_screen(
            AskText(
                "Note for the job's history",
                attempt=lambda text, _: self._try(
                    job_service.note, self.app.device, self.job_id, text
                ),
            )
        )

    def action_attach(self, item: str | None = None) -> None:
        from fieldtech.screens.attach_dialog import attach_dialog

        self.app.push_screen(attach_dialog(self, self.job_id, item), lambda _: self.refresh_data())

    def action_escalate(self) -> None:
        self.app.push_screen(
            AskText(
                "What help do you need from HQ?",
                attempt=lambda text, _: self._try(
                    escalations.escalate, self.app.device, self.job_id, text
                ),
            )
        )

    def action_cannot_complete(self) -> None:
        self.app.push_screen(
            AskText(
                "Why can the job not be completed?",
                "no access…",
                check="Create a follow-up job",
                attempt=lambda reason, follow_up: self._try(
                    job_service.cannot_complete,
                    self.app.device,
                    self.job_id,
                    reason,
                    follow_up=follow_up,
                ),
            )
        )

    def action_checklist(self) -> None:
        from fieldtech.screens.checklist import ChecklistScreen

        self.app.push_screen(ChecklistScreen(self.job_id))

    def action_parts(self) -> None:
        from fieldtech.screens.parts import PartsScreen

        self.app.push_screen(PartsScreen(self.job_id))

    def action_close(self) -> None:
        from fieldtech.screens.close import CloseScreen

        self.app.push_screen(CloseScreen(self.job_id))

"""One job: customer file, site hazards, appliance, history, and what the status allows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from fieldtech.domain.jobs import FIELD_TRANSITIONS, STATUS_WORDS, Status, hold_words, sla_words
from fieldtech.domain.text import plain
from fieldtech.domain.timefmt import local_time
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.dialogs import AskText, perform_saying_why
from fieldtech.screens.shown import cut, data, line, lines, status_words, when
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


FEW_LINES = 3 * 76  # three lines at 80 columns: what one field of text may take on screen
SUPERVISOR_ACTIONS = ("reassign", "acknowledge", "callback")


def event_words(e: dict) -> Text:
    """One history entry in words: a status move with its reason, or a note, escalation…"""
    body = e["body"]
    if e["kind"] == "status":
        text = line(f"{status_words(e['from_status'])} → {status_words(e['to_status'])}")
        return text.append_text(line(": ", data(body))) if body else text
    return line(data(e["kind"]), ": ", data(body))


class JobScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="job.back"),
        Binding("t", "start", "Set off", id="job.start", tooltip="On my way (en route)"),
        Binding("a", "arrive", "Arrived", id="job.arrive", tooltip="On site"),
        Binding("c", "checklist", "Checklist", id="job.checklist"),
        Binding("p", "parts", "Parts", id="job.parts"),
        Binding("n", "note", "Note", id="job.note"),
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

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="head")
            yield Static(id="hazards", classes="hazards")
            yield Static(id="site")
            yield Static("Customer file", classes="heading")
            yield Static(id="file")
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
        level = card["escalation_level"]
        self.query_one("#head", Static).update(
            line(
                (plain(card["ref"]), "bold"),
                "  ",
                data(card["kind"]),
                " · ",
                (plain(card["priority"]), "bold"),
                " · ",
                (f" {STATUS_WORDS[status]} ", "reverse"),
                f"  {sla}",
                (f"  escalated (level {level})", "bold red") if level else "",
                "\n",
                cut(card["summary"], FEW_LINES),
            )
        )
        site, cust, app = card["site"] or {}, card["customer"] or {}, card["appliance"]
        hazards = site.get("hazards") or []
        self.query_one("#hazards", Static).update(
            # At most a few lines: an endless hazard note must not push the customer panel
            # off the screen; `fieldtech job show` prints it whole.
            line("⚠ ", cut(" · ".join(plain(h) for h in hazards), FEW_LINES)) if hazards else ""
        )
        self.query_one("#site", Static).update(lines(self._site_lines(card, cust, site, app)))
        history = st.customer_history(card["customer_id"], card["id"])
        earlier: list[Text | str] = [
            line(
                "  ",
                data(j["ref"]),
                " · ",
                data(j["kind"]),
                f" · {status_words(j['status'])} · ",
                data(j["summary"]),
            )
            for j in history["jobs"][:6]
        ]
        kit: list[Text | str] = [
            line(
                "  ",
                data(f"{plain(a['category'])} {plain(a['brand'])} {plain(a['model'])}"),
                " (since ",
                data(a["installed_on"] or "?"),
                ")",
            )
            for a in history["appliances"]
        ]
        self.query_one("#file", Static).update(
            lines(
                [
                    "Earlier jobs:",
                    *(earlier or ["  none"]),
                    "Appliances on record:",
                    *(kit or ["  none"]),
                ]
            )
        )
        events = st.job_events(card["id"])
        conflicts = st.conflicts(card["id"])
        text = [line(when(e["at"]), "  ", event_words(e)) for e in events]
        text += [
            line(
                ("conflict on ", "yellow"),
                data(c["field"], "yellow"),
                (": mine ", "yellow"),
                data(c["mine"], "yellow"),
                (", HQ ", "yellow"),
                data(c["theirs"], "yellow"),
            )
            for c in conflicts
        ]
        self.query_one("#history", Static).update(lines(text) if text else "nothing yet")
        self.refresh_bindings()

    def _site_lines(
        self,
        card: JobCard,
        cust: dict[str, Any],
        site: dict[str, Any],
        app: dict[str, Any] | None,
    ) -> list[Text]:
        """The customer panel: who, where, what, when; and what the supervisor decides on."""
        out = [
            line(
                data(cust.get("name"), "bold"),
                "  ",
                data(cust.get("phone")),
                ("  VIP", "magenta") if cust.get("vip") else "",
            ),
            line(data(site.get("address")), ", ", data(site.get("city"))),
        ]
        if site.get("access_notes"):
            out.append(line("Access: ", cut(site["access_notes"], FEW_LINES)))
        if app:
            out.append(
                line(
                    "Appliance: ",
                    data(app["category"]),
                    " · ",
                    data(f"{plain(app['brand'])} {plain(app['model'])}"),
                    " · serial ",
                    data(app["serial"] or "—"),
                )
            )
        out.append(
            line(
                "Appointment ", when(card["window_start"]), " · promised by ", when(card["sla_due"])
            )
        )
        code = self._customer_phone(card)
        if code:
            out.append(
                # The demo's stand-in for the customer's phone (HQ sends a real one the code).
                line(
                    ("demo: ", "bold cyan"),
                    ("the customer's phone shows code ", "cyan"),
                    (plain(code), "bold cyan"),
                )
            )
        if self.app.is_supervisor:
            out.append(line("Technician: ", data(self.app.store.person(card["technician_id"]))))
            if card["escalation_ack_level"]:
                out.append(
                    line(f"Escalation acknowledged up to level {card['escalation_ack_level']}")
                )
            for cb in self.app.store.callbacks(card["id"]):
                out.append(
                    line(
                        "Call-back ",
                        data(local_time(cb["at"], zone=False)[:10]),  # the day it was made
                        f": skill {cb['skill']}, attitude {cb['attitude']}, "
                        f"adherence {cb['adherence']}",
                        line(" · ", data(cb["comment"])) if cb["comment"] else "",
                    )
                )
        if card["status"] == Status.ON_HOLD:
            shown = hold_words(card.get("hold_for"), card["hold_reason"])
            out.append(line(("On hold: ", "yellow"), data(shown, "yellow")))
        if (
            card["technician_id"]
            and self.app.technician_filter
            and card["technician_id"] != self.app.technician_filter
        ):
            out.append(line(("HQ moved this job to ", "red"), data(card["technician_id"], "red")))
        return out

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
                self.app.store.roster(),
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

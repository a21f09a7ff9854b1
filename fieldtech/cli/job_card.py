"""`fieldtech job show`: one job's card as a person reads it, with its customer file,
history and the conflicts sync saw."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fieldtech.cli.common import Context, say, table, when
from fieldtech.domain.jobs import STATUS_WORDS, Status, hold_words, sla_words
from fieldtech.domain.timefmt import local_time

if TYPE_CHECKING:
    from fieldtech.store.rows import Conflict, CustomerFile, JobCard, JobEvent, PastJob


def status_words(status: str | None) -> str:
    return STATUS_WORDS[Status(cast(str, status))]  # Status refuses what is not one


def show_card(
    ctx: Context,
    card: JobCard,
    customer_file: CustomerFile,
    history: list[JobEvent],
    conflicts: list[Conflict],
    demo_code: str | None,
) -> None:
    _say_heading(ctx, card)
    _say_customer_and_site(card)
    _say_visit(card, demo_code)
    _customer_file_table(customer_file["jobs"])
    _history_table(history)
    if conflicts:
        _conflicts_table(conflicts)


def _say_heading(ctx: Context, card: JobCard) -> None:
    """The job's reference, kind, priority, status and time left, then its summary."""
    is_open = Status(card["status"]).is_open
    sla = sla_words(card["sla_due"], ctx.device.at()) if is_open else ""
    say(
        (card["ref"], "bold"),
        f"  {card['kind']} · {card['priority']} · ",
        (status_words(card["status"]), "bold"),
        f"  {sla}",
    )
    say(card["summary"])


def _say_customer_and_site(card: JobCard) -> None:
    """Who, where, how to get in, what to watch for, and the appliance."""
    cust, site, app = card["customer"], card["site"], card["appliance"]
    name, phone = (cust["name"], cust["phone"]) if cust else (None, None)
    say(
        f"Customer: {name or ''}  {phone or ''}",
        ("  VIP", "magenta") if cust and cust["vip"] else None,
    )
    address, city, contact = (
        (site["address"], site["city"], site["contact_name"]) if site else (None, None, None)
    )
    say(f"Site: {address or ''}, {city or ''}  contact {contact or '-'}")
    if site and site["access_notes"]:
        say(f"Access: {site['access_notes']}")
    if site and site["hazards"]:
        say(("Hazards:", "bold red"), " " + "; ".join(site["hazards"]))
    if app:
        say(
            f"Appliance: {app['category']} {app['brand'] or ''} {app['model'] or ''} "
            f"serial {app['serial'] or '-'}"
        )


def _say_visit(card: JobCard, demo_code: str | None) -> None:
    """When the visit is, and where it stands: on hold, signed off, closed."""
    window = when(card["window_start"])
    if card["window_end"]:
        window += " – " + local_time(card["window_end"], date=False)
    say(f"Window: {window}  SLA {when(card['sla_due'])}")
    if demo_code:
        say(
            ("demo: ", "bold cyan"),
            f"the customer's phone shows code {demo_code}",
            ("  (a real customer gets it from HQ)", "dim"),
        )
    if card["status"] == Status.ON_HOLD:
        say(f"On hold: {hold_words(card.get('hold_for'), card['hold_reason'])}")
    if card["outcome"]:
        say(
            f"Outcome: {card['outcome']}, signed by {card['signoff_name']}, rating {card['rating']}"
        )
    if card["closed_at"]:
        say(f"Closed: {when(card['closed_at'])}")


def _customer_file_table(earlier: list[PastJob]) -> None:
    table(
        "Customer file: earlier jobs",
        ["job", "kind", "status", ("summary", {"squeeze": 1, "least": 0}), "created"],
        [
            (j["ref"], j["kind"], status_words(j["status"]), j["summary"], when(j["created_at"]))
            for j in earlier[:10]
        ],
        empty="no earlier jobs for this customer",
    )


def _history_table(history: list[JobEvent]) -> None:
    table(
        "History",
        ["when", ("what", {"squeeze": 2, "wrap": True}), ("by", {"squeeze": 1, "least": 8})],
        [(when(e["at"]), _event_words(e), e["actor"]) for e in history],
        empty="no history yet",
    )


def _conflicts_table(conflicts: list[Conflict]) -> None:
    table(
        "Conflicts seen at sync (both versions are on record)",
        [
            "field",
            ("mine", {"squeeze": 1, "wrap": True}),
            ("HQ's", {"squeeze": 1, "wrap": True}),
            ("by", {"squeeze": 1, "least": 8}),
            "when",
        ],
        [
            (c["field"], c["mine"], c["theirs"], c["theirs_by"], when(c["detected_at"]))
            for c in conflicts
        ],
    )


def _event_words(e: JobEvent) -> str:
    if e["kind"] == "status":
        words = f"{status_words(e['from_status'])} → {status_words(e['to_status'])}"
        return words + (f": {e['body']}" if e["body"] else "")
    return f"{e['kind']}: {e['body'] or ''}"

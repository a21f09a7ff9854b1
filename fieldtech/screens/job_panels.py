"""The job screen's panels in words: heading, hazards, the customer panel, the customer file
and the history. Built from rows the screen has read; people's text goes in as data, never
as markup."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from fieldtech.domain.jobs import STATUS_WORDS, Status, hold_words
from fieldtech.domain.text import plain
from fieldtech.domain.timefmt import local_time
from fieldtech.screens.shown import cut, data, line, lines, status_words, when

if TYPE_CHECKING:
    from fieldtech.store.rows import (
        AttachmentRow,
        CallbackRow,
        Conflict,
        CustomerFile,
        JobCard,
        JobEvent,
    )

FEW_LINES = 3 * 76  # three lines at 80 columns: what one field of text may take on screen


def heading(card: JobCard, sla: str) -> Text:
    """Reference, kind, priority, status, time left, escalation; then the summary."""
    level = card["escalation_level"]
    return line(
        (plain(card["ref"]), "bold"),
        "  ",
        data(card["kind"]),
        " · ",
        (plain(card["priority"]), "bold"),
        " · ",
        (f" {STATUS_WORDS[Status(card['status'])]} ", "reverse"),
        f"  {sla}",
        (f"  escalated (level {level})", "bold red") if level else "",
        "\n",
        cut(card["summary"], FEW_LINES),
    )


def hazards(card: JobCard) -> Text | str:
    """The site's hazards on one line, or nothing. At most a few lines: an endless hazard
    note must not push the customer panel off the screen; `fieldtech job show` prints it
    whole."""
    site = card["site"]
    found = (site["hazards"] if site else None) or []
    return line("⚠ ", cut(" · ".join(plain(h) for h in found), FEW_LINES)) if found else ""


def customer_lines(card: JobCard, code: str | None) -> list[Text]:
    """Who, where, what, when; and the demo's stand-in for the customer's phone."""
    cust, site, app = card["customer"], card["site"], card["appliance"]
    out = [
        line(
            data(cust["name"] if cust else None, "bold"),
            "  ",
            data(cust["phone"] if cust else None),
            ("  VIP", "magenta") if cust and cust["vip"] else "",
        ),
        line(data(site["address"] if site else None), ", ", data(site["city"] if site else None)),
    ]
    if site and site["access_notes"]:
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
        line("Appointment ", when(card["window_start"]), " · promised by ", when(card["sla_due"]))
    )
    if code:
        out.append(
            # The demo's stand-in for the customer's phone (HQ sends a real one the code).
            line(
                ("demo: ", "bold cyan"),
                ("the customer's phone shows code ", "cyan"),
                (plain(code), "bold cyan"),
            )
        )
    return out


def supervisor_lines(
    card: JobCard, technician: str, callbacks: Sequence[CallbackRow]
) -> list[Text]:
    """What a supervisor decides on: whose job it is, the escalation, the call-backs."""
    out = [line("Technician: ", data(technician))]
    if card["escalation_ack_level"]:
        out.append(line(f"Escalation acknowledged up to level {card['escalation_ack_level']}"))
    for cb in callbacks:
        out.append(
            line(
                "Call-back ",
                data(local_time(cb["at"], zone=False)[:10]),  # the day it was made
                f": skill {cb['skill']}, attitude {cb['attitude']}, adherence {cb['adherence']}",
                line(" · ", data(cb["comment"])) if cb["comment"] else "",
            )
        )
    return out


def standing_lines(card: JobCard, technician_filter: str | None) -> list[Text]:
    """Where the job stands for this device: on hold, or moved to someone else by HQ."""
    out: list[Text] = []
    if card["status"] == Status.ON_HOLD:
        shown = hold_words(card.get("hold_for"), card["hold_reason"])
        out.append(line(("On hold: ", "yellow"), data(shown, "yellow")))
    if card["technician_id"] and technician_filter and card["technician_id"] != technician_filter:
        out.append(line(("HQ moved this job to ", "red"), data(card["technician_id"], "red")))
    return out


def customer_file(history: CustomerFile) -> Text:
    """The customer's earlier jobs and the appliances on record."""
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
    return lines(
        [
            "Earlier jobs:",
            *(earlier or ["  none"]),
            "Appliances on record:",
            *(kit or ["  none"]),
        ]
    )


def event_words(e: JobEvent) -> Text:
    """One history entry in words: a status move with its reason, or a note, escalation…"""
    body = e["body"]
    if e["kind"] == "status":
        text = line(f"{status_words(e['from_status'])} → {status_words(e['to_status'])}")
        return text.append_text(line(": ", data(body))) if body else text
    return line(data(e["kind"]), ": ", data(body))


def history(events: Sequence[JobEvent], conflicts: Sequence[Conflict]) -> Text | str:
    """The job's history, then the conflicts sync found on it."""
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
    return lines(text) if text else "nothing yet"


def attachment_state(a: AttachmentRow, here: bool = True) -> tuple[str, str]:
    """Where a file is, and its colour: at HQ, on its way, waiting, or what stops it."""
    from fieldtech.domain.attachments import size_words

    if a["problem"]:
        return a["problem"], "bold red"
    if a["at_hq"]:
        return ("at HQ", "green") if here else ("at HQ, not on this device", "green")
    if a["sent"]:
        return f"sending: {size_words(a['sent'])} of {size_words(a['size'])}", "yellow"
    return "waiting to go", "yellow"


def attachments(
    rows: Sequence[AttachmentRow], *, can_attach: bool = True, here: frozenset[str] = frozenset()
) -> Text:
    """Each file with its item, size, caption and where it is; a stand-in line when none.
    The terminal shows no picture here: the name and caption say what it is. `here`: the
    hashes whose bytes are on this device."""
    from fieldtech.domain.attachments import KIND_WORDS, size_words

    if not rows:
        hint = ": f attaches a photo or file" if can_attach else ""
        return Text(f"nothing attached yet{hint}", style="dim")
    out: list[Text] = []
    for a in rows:
        state, style = attachment_state(a, a["sha256"] in here)
        out.append(
            line(
                f"{KIND_WORDS.get(a['media_type'], 'file')} ",
                data(a["name"], "bold"),
                (" · ", ""),
                data(a["item_key"]) if a["item_key"] else "",
                " · " if a["item_key"] else "",
                size_words(a["size"]),
                " · ",
                (state, style),
                "\n  " if a["caption"] else "",
                cut(a["caption"], FEW_LINES) if a["caption"] else "",
            )
        )
    return lines(out)

"""Moving a job through its day: start, arrive, hold, resume, note, close, cannot complete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NotRequired, cast

from fieldtech.domain import ops
from fieldtech.domain.checklists import missing_for_close
from fieldtech.domain.errors import BadInput, CloseRefused, RuleBroken
from fieldtech.domain.ids import new_id
from fieldtech.domain.jobs import (
    Kind,
    Priority,
    Status,
    check_transition,
    code_matches,
    hold_for_reason,
    parse_hold_for,
    parse_outcome,
    parse_rating,
    resume_target,
)
from fieldtech.services.context import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    Device,
    history_line,
)
from fieldtech.store.rows import JobRow

if TYPE_CHECKING:
    from fieldtech.store import Store
    from fieldtech.store.rows import JobEvent

URGENT = {Priority.EMERGENCY.value, Priority.VIP.value}
MAX_NOTE = 4000


class ClosedJob(JobRow):
    """A job as closing left it, with the job it spawned when one was asked for (the install
    after a survey, a follow-up after a job that could not be completed)."""

    spawned: NotRequired[JobRow]


def _priority(job: JobRow) -> int:
    return PRIORITY_URGENT if job["priority"] in URGENT else PRIORITY_NORMAL


def _change_status(
    dev: Device,
    job: JobRow,
    target: Status,
    *,
    reason: str | None = None,
    op: str = ops.JOB_STATUS,
    extra: dict[str, Any] | None = None,
) -> JobRow:
    """Inside a transaction: check the move, then write status, fields, history and the op."""
    current = Status(job["status"])
    check_transition(current, target, reason)
    payload: dict[str, Any] = {"from": current.value, "to": target.value}
    if reason and reason.strip():
        payload["reason"] = reason.strip()
    payload.update(extra or {})
    dev.apply(op, job["id"], payload, priority=_priority(job))
    return dev.store.job(job["id"])


def start(dev: Device, job_id: str) -> JobRow:
    """Set off for the site."""
    with dev.store.transaction():
        return _change_status(dev, dev.store.job(job_id), Status.EN_ROUTE)


def arrive(dev: Device, job_id: str) -> JobRow:
    with dev.store.transaction():
        return _change_status(dev, dev.store.job(job_id), Status.ON_SITE)


def hold(dev: Device, job_id: str, reason: str | None, *, waits_for: str | None = None) -> JobRow:
    """On hold, waiting for parts, the customer or something else (`waits_for`, from the
    fixed set the board counts by), with free text. Without `waits_for` only the set's own
    words in `reason` say it; anything else is 'other'."""
    kind = parse_hold_for(waits_for) if waits_for else hold_for_reason(reason)
    text = (reason or "").strip() or (kind.words if waits_for else "")
    with dev.store.transaction():
        return _change_status(
            dev,
            dev.store.job(job_id),
            Status.ON_HOLD,
            reason=text,
            extra={"hold_for": kind.value},
        )


def resume(dev: Device, job_id: str) -> JobRow:
    with dev.store.transaction():
        job = dev.store.job(job_id)
        if job["status"] != Status.ON_HOLD:
            raise RuleBroken(f"the job is {Status(job['status']).words}, not on hold")
        target = resume_target(bool(job["arrived_at"]))
        return _change_status(dev, job, target)


def begin_work_if_on_site(dev: Device, job: JobRow) -> JobRow:
    """Recording work on a job that is 'on site' moves it to 'in progress' (same transaction)."""
    if job["status"] == Status.ON_SITE:
        return _change_status(dev, job, Status.IN_PROGRESS)
    return job


def require_working(job: JobRow, what: str) -> None:
    status = Status(job["status"])
    if status not in (Status.ON_SITE, Status.IN_PROGRESS):
        raise RuleBroken(f"{what} needs you on site: the job is {status.words} (arrive first)")


def note(dev: Device, job_id: str, text: str) -> JobEvent:
    body = (text or "").strip()
    if not body:
        raise BadInput("a note cannot be empty")
    if len(body) > MAX_NOTE:
        raise BadInput(f"a note can be at most {MAX_NOTE} characters")
    with dev.store.transaction():
        job = dev.store.job(job_id)
        exp = dev.apply(ops.JOB_NOTE, job["id"], {"body": body}, priority=_priority(job))
        return history_line(exp, ops.JOB_NOTE)


def close_blockers(
    dev: Device,
    job: JobRow,
    *,
    outcome: str | None,
    signoff_name: str | None,
    code: str | None,
    rating: int | None,
) -> list[str]:
    """What still stands between this job and closing, in words (empty when it can close)."""
    missing: list[str] = []
    status = Status(job["status"])
    if status is Status.ON_HOLD:
        missing.append("the job is on hold; resume it first")
    elif not status.is_open:
        missing.append(f"the job is already {status.words}")
    elif status not in (Status.ON_SITE, Status.IN_PROGRESS):
        missing.append(f"the job is {status.words}; arrive on site first")
    template = (
        dev.store.template(job["template_id"], job["template_version"])
        if job["template_id"]
        else None
    )
    missing += missing_for_close(
        template,
        dev.store.current_readings(job["id"]),
        outcome=outcome,
        signoff_name=signoff_name,
        code_given=code,
        code_hash=job.get("confirmation_hash"),
        rating=rating,
        attached=dev.store.attached_items(job["id"]),
    )
    return missing


def close(
    dev: Device,
    job_id: str,
    *,
    outcome: str | None,
    signoff_name: str | None,
    code: str | None,
    rating: object,
    spawn_install: bool = False,
) -> ClosedJob:
    """Close with the customer's sign-off. Refuses, listing everything missing, until complete."""
    outcome_code = parse_outcome(outcome)
    rating_n = parse_rating(rating)
    with dev.store.transaction():
        job = dev.store.job(job_id)
        missing = close_blockers(
            dev, job, outcome=outcome_code, signoff_name=signoff_name, code=code, rating=rating_n
        )
        if missing:
            raise CloseRefused(missing)
        if spawn_install and job["kind"] != Kind.SURVEY:
            raise RuleBroken("only a survey job can spawn its install job")
        closed = _change_status(
            dev,
            job,
            Status.COMPLETED,
            op=ops.JOB_CLOSE,
            extra={
                "outcome": outcome_code,
                "name": (signoff_name or "").strip(),
                "rating": rating_n,
            },
        )
        spawned = _spawn(dev, job, Kind.INSTALL, "Install after survey") if spawn_install else None
        return _closed(closed, spawned)


def cannot_complete(dev: Device, job_id: str, reason: str, *, follow_up: bool = False) -> ClosedJob:
    with dev.store.transaction():
        job = dev.store.job(job_id)
        done = _change_status(dev, job, Status.CANNOT_COMPLETE, reason=reason)
        spawned = (
            _spawn(dev, job, Kind(job["kind"]), f"Follow-up: {(reason or '').strip()}"[:200])
            if follow_up
            else None
        )
        return _closed(done, spawned)


def _closed(job: JobRow, spawned: JobRow | None) -> ClosedJob:
    closed = cast("ClosedJob", job)  # every key of the job's; `spawned` only when there is one
    if spawned is not None:
        closed["spawned"] = spawned
    return closed


def _spawn(dev: Device, parent: JobRow, kind: Kind, summary: str) -> JobRow:
    """A new job born on the device (its id too), linked to its parent, assigned to the same
    technician. Inside the caller's transaction."""
    from fieldtech.domain.templates import pick_template, template_for

    at = dev.at()
    appliance = dev.store.job_card(parent["id"])["appliance"]
    category = appliance["category"] if appliance else None
    # The newest version on this device (HQ's uploads arrive with sync); the built-in
    # default only when the device has no template for this kind at all.
    on_hand = [(t["id"], t["version"], t["job_kind"], t["category"]) for t in dev.store.templates()]
    chosen = pick_template(kind.value, category, on_hand)
    stored = chosen is not None and chosen[0] in {t[0] for t in on_hand}
    tmpl = dev.store.template(*chosen) if chosen and stored else template_for(kind.value, category)
    job_id = new_id()
    row = {
        "ref": dev.store.next_job_ref(parent["ref"] + "-F"),
        "kind": kind.value,
        "priority": parent["priority"],
        "priority_rank": Priority(parent["priority"]).rank,
        "customer_id": parent["customer_id"],
        "site_id": parent["site_id"],
        "appliance_id": parent["appliance_id"],
        "technician_id": parent["technician_id"],
        "team": parent["team"],
        "summary": summary,
        "window_start": at,
        "sla_due": parent["sla_due"] if parent["sla_due"] > at else at,
        "template_id": tmpl.id if tmpl else None,
        "template_version": tmpl.version if tmpl else None,
        "parent_job_id": parent["id"],
        "created_at": at,
        "note": f"spawned from {parent['ref']}",
    }
    if tmpl is not None and not stored:
        dev.store.put_template(tmpl)
    dev.apply(ops.JOB_CREATE, job_id, {"job": row}, priority=_priority(parent))
    # The same customer confirms the follow-up with the same code: HQ gives the new job the
    # parent's code, this device the parent's hash of it (never sent: HQ holds the code).
    dev.store.update_job(job_id, {"confirmation_hash": parent.get("confirmation_hash")})
    return dev.store.job(job_id)


def seeded_demo_code(store: Store, job: Mapping[str, Any]) -> str | None:
    """The code the customer's phone would show, on a profile filled by `fieldtech seed`
    (demo data, no HQ, no customer): each seeded job's code is `demo_code(its ref)`, and it
    is shown only where the job's stored hash says it is that code. Elsewhere None: a real
    device learns the code only from the customer."""
    from fieldtech.domain.demo_data import SEEDED, demo_code

    if store.meta("demo_data") != SEEDED:
        return None
    code = demo_code(job["ref"])
    return code if code_matches(code, job.get("confirmation_hash")) else None

"""A supervisor's decisions, made on their own device and synced like any field change:
approve or reject part requests, reassign a job, acknowledge an escalation, record the
customer call-back. Each is one transaction (rows + outbox), so it holds offline."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fieldtech.domain import ops
from fieldtech.domain.callbacks import check_comment, check_scores
from fieldtech.domain.errors import BadInput, NotFound, RuleBroken
from fieldtech.domain.ids import new_id
from fieldtech.domain.jobs import Status
from fieldtech.domain.parts import RequestStatus, check_request_step
from fieldtech.domain.roles import manages_a_team
from fieldtech.services.context import (
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    Device,
    callback_row,
)
from fieldtech.store.rows import Callback

if TYPE_CHECKING:
    from fieldtech.store.rows import JobRow, PartRequestRow, RosterRow

MAX_REASON = 500


class RecordedCallback(Callback):
    """A call-back as recorded, with its job's ref (`job_id` is the job's id)."""

    job: str


def is_supervisor(dev: Device) -> bool:
    return manages_a_team(dev.store.meta("role"))


def require_supervisor(dev: Device, what: str) -> None:
    if not is_supervisor(dev):
        raise RuleBroken(f"only a supervisor's device can {what}")


def _reason(text: str | None, *, required: bool, what: str) -> str | None:
    value = (text or "").strip()
    if required and not value:
        raise BadInput(f"say why {what}")
    if len(value) > MAX_REASON:
        raise BadInput(f"a reason can be at most {MAX_REASON} characters")
    return value or None


def decide_request(
    dev: Device, request_id: str, target: RequestStatus, reason: str | None = None
) -> PartRequestRow:
    """Approve or reject a technician's part request."""
    require_supervisor(dev, "approve or reject part requests")
    if target not in (RequestStatus.APPROVED, RequestStatus.REJECTED):
        raise BadInput("a supervisor approves or rejects a request")
    why = _reason(reason, required=target is RequestStatus.REJECTED, what="the request is rejected")
    with dev.store.transaction():
        req = dev.store.part_request(request_id)
        check_request_step(RequestStatus(req["status"]), target, by_hq=True)
        payload = {"from": req["status"], "to": target.value}
        if why:
            payload["reason"] = why
        dev.apply(ops.REQUEST_STEP, req["id"], payload)
        return dev.store.part_request(req["id"])


def approve(dev: Device, request_id: str, note: str | None = None) -> PartRequestRow:
    return decide_request(dev, request_id, RequestStatus.APPROVED, note)


def reject(dev: Device, request_id: str, reason: str) -> PartRequestRow:
    return decide_request(dev, request_id, RequestStatus.REJECTED, reason)


def _technician(dev: Device, who: str) -> RosterRow:
    wanted = (who or "").strip().lower()
    if not wanted:
        raise BadInput("say who takes the job")
    for person in dev.store.roster():
        if wanted in (person["id"].lower(), person["name"].lower()):
            return person
    raise NotFound(f"{who!r} is not a technician of this team (sync to refresh the team)")


def reassign(dev: Device, job_id: str, who: str) -> JobRow:
    """Give an open job to another technician of the team. Work in progress goes back to
    'assigned' in the new technician's queue, as it does when HQ reassigns."""
    require_supervisor(dev, "reassign jobs")
    with dev.store.transaction():
        job = dev.store.job(job_id)
        status = Status(job["status"])
        if not status.is_open:
            raise RuleBroken(f"job {job['ref']} is {status.words}: nothing to reassign")
        tech = _technician(dev, who)
        if tech["id"] == job["technician_id"]:
            raise BadInput(f"job {job['ref']} is already with {tech['name']}")
        payload: dict[str, Any] = {"to": tech["id"], "name": tech["name"], "from": status.value}
        if status is not Status.ASSIGNED:
            payload["reset"] = 1
        urgent = job["priority"] in ("emergency", "vip")
        dev.apply(
            ops.JOB_ASSIGN,
            job["id"],
            payload,
            priority=PRIORITY_URGENT if urgent else PRIORITY_NORMAL,
        )
        return dev.store.job(job["id"])


def acknowledge(dev: Device, job_id: str, note: str | None = None) -> JobRow:
    """The supervisor has seen the escalation and owns it now."""
    require_supervisor(dev, "acknowledge escalations")
    text = _reason(note, required=False, what="")
    with dev.store.transaction():
        job = dev.store.job(job_id)
        level = int(job.get("escalation_level") or 0)
        if level == 0:
            raise RuleBroken(f"job {job['ref']} is not escalated")
        if level <= int(job.get("escalation_ack_level") or 0):
            raise RuleBroken(f"job {job['ref']}: level {level} is already acknowledged")
        payload: dict[str, Any] = {"level": level}
        if text:
            payload["note"] = text
        dev.apply(ops.ESCALATION_ACK, job["id"], payload, priority=PRIORITY_URGENT)
        return dev.store.job(job["id"])


def record_callback(
    dev: Device,
    job_id: str,
    *,
    skill: object,
    attitude: object,
    adherence: object,
    comment: str | None = None,
) -> RecordedCallback:
    """The customer's call-back after a closed job: three scores of 1–5 and a comment."""
    require_supervisor(dev, "record call-backs")
    scores = check_scores(skill, attitude, adherence)
    text = check_comment(comment)
    with dev.store.transaction():
        job = dev.store.job(job_id)
        if job["status"] not in (Status.COMPLETED.value, Status.CANNOT_COMPLETE.value):
            raise RuleBroken(f"job {job['ref']} is not closed yet: call the customer after it is")
        payload: dict[str, Any] = {"job": job["id"], **scores}
        if text:
            payload["comment"] = text
        exp = dev.apply(ops.CALLBACK_RECORD, new_id(), payload)
        return {**callback_row(exp, ops.CALLBACK_RECORD), "job": job["ref"]}

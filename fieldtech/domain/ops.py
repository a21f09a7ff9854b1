"""Operations: the compact payloads that travel in the outbox, and what they mean.

Device and HQ both turn an operation into rows with `expand`, so the two sides write the
same rows from the same operation. Ids and times are derived, not sent: an event's id is
its operation's id, its time is its clock stamp, its author is the device's user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fieldtech.domain.callbacks import check_comment, check_scores
from fieldtech.domain.errors import BadInput
from fieldtech.domain.hlc import Stamp
from fieldtech.domain.jobs import Status, hold_for_reason, parse_hold_for

JOB_STATUS = "job.status"
JOB_CLOSE = "job.close"
JOB_NOTE = "job.note"
JOB_CREATE = "job.create"
READING_ADD = "reading.add"
STOCK_MOVE = "stock.move"
REQUEST_CREATE = "part_request.create"
REQUEST_STEP = "part_request.step"
ESCALATION_RAISE = "escalation.raise"
# A supervisor's decisions, made on their device like any other change.
JOB_ASSIGN = "job.assign"
ESCALATION_ACK = "escalation.ack"
CALLBACK_RECORD = "callback.record"

OPS = (
    JOB_STATUS,
    JOB_CLOSE,
    JOB_NOTE,
    JOB_CREATE,
    READING_ADD,
    STOCK_MOVE,
    REQUEST_CREATE,
    REQUEST_STEP,
    ESCALATION_RAISE,
    JOB_ASSIGN,
    ESCALATION_ACK,
    CALLBACK_RECORD,
)

# Each operation as a person says it (the outbox, the sync screen): never the wire name.
OP_WORDS = {
    JOB_STATUS: "status change",
    JOB_CLOSE: "job closed",
    JOB_NOTE: "note",
    JOB_CREATE: "new job",
    READING_ADD: "checklist reading",
    STOCK_MOVE: "parts movement",
    REQUEST_CREATE: "part request",
    REQUEST_STEP: "part request update",
    ESCALATION_RAISE: "call for help",
    JOB_ASSIGN: "reassignment",
    ESCALATION_ACK: "escalation acknowledged",
    CALLBACK_RECORD: "customer call-back",
}

# Job fields a device may create in a job.create (a follow-up or an install after a survey).
# Not the confirmation code: a device never holds it; HQ gives the new job its parent's.
CREATE_FIELDS = (
    "ref",
    "kind",
    "priority",
    "priority_rank",
    "status",
    "customer_id",
    "site_id",
    "appliance_id",
    "technician_id",
    "team",
    "summary",
    "description",
    "window_start",
    "window_end",
    "sla_due",
    "template_id",
    "template_version",
    "parent_job_id",
    "created_at",
)


def stamp_time(hlc: str) -> str:
    ms = Stamp.parse(hlc).ms
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_fields(to: Status, reason: str | None, at: str, payload: dict[str, Any]) -> dict:
    """The job's scalar fields that a move to `to` sets, besides the status itself."""
    fields: dict[str, Any] = {"status": to.value}
    if to is Status.ON_SITE:
        fields["arrived_at"] = at
    elif to is Status.ON_HOLD:
        fields["hold_reason"] = reason
        given = payload.get("hold_for")
        fields["hold_for"] = (parse_hold_for(given) if given else hold_for_reason(reason)).value
    elif to in (Status.IN_PROGRESS, Status.ASSIGNED):
        fields["hold_reason"] = None
        fields["hold_for"] = None
    elif to is Status.CANNOT_COMPLETE:
        fields["cannot_complete_reason"] = reason
        fields["closed_at"] = at
    elif to is Status.COMPLETED:
        fields.update(
            outcome=payload.get("outcome"),
            signoff_name=payload.get("name"),
            rating=payload.get("rating"),
            closed_at=at,
        )
    return fields


@dataclass
class Expanded:
    """The rows one operation stands for."""

    job_id: str | None = None
    job_fields: dict[str, Any] = field(default_factory=dict)  # last-writer-wins by hlc
    status: tuple[str, str] | None = None  # (from, to): merged through the state machine
    event: dict[str, Any] | None = None
    reading: dict[str, Any] | None = None
    movement: dict[str, Any] | None = None
    request: dict[str, Any] | None = None
    request_step: tuple[str, str] | None = None
    step_reason: str | None = None  # why a supervisor rejected (or approved) a request
    callback: dict[str, Any] | None = None
    new_job: dict[str, Any] | None = None


def _need(payload: dict, *keys: str) -> None:
    for k in keys:
        if k not in payload or payload[k] in (None, ""):
            raise BadInput(f"operation payload lacks {k!r}")


def expand(
    op: str, entity_id: str, payload: dict[str, Any], *, op_id: str, hlc: str, actor: str
) -> Expanded:
    """What operation `op_id` means as rows. Raises BadInput for a malformed operation."""
    if not isinstance(payload, dict):
        raise BadInput("operation payload must be an object")
    at = stamp_time(hlc)
    base_event = {
        "id": op_id,
        "job_id": entity_id,
        "actor": actor,
        "hlc": hlc,
        "at": at,
        "from_status": None,
        "to_status": None,
        "body": None,
    }
    if op in (JOB_STATUS, JOB_CLOSE):
        _need(payload, "from", "to")
        try:
            frm, to = Status(payload["from"]), Status(payload["to"])
        except ValueError:
            raise BadInput("operation names an unknown job status") from None
        if op == JOB_CLOSE and to is not Status.COMPLETED:
            raise BadInput("a close operation must complete the job")
        reason = payload.get("reason")
        return Expanded(
            job_id=entity_id,
            job_fields=status_fields(to, reason, at, payload),
            status=(frm.value, to.value),
            event={
                **base_event,
                "kind": "status",
                "from_status": frm.value,
                "to_status": to.value,
                "body": reason,
            },
        )
    if op == JOB_NOTE:
        _need(payload, "body")
        return Expanded(
            job_id=entity_id, event={**base_event, "kind": "note", "body": str(payload["body"])}
        )
    if op == ESCALATION_RAISE:
        return Expanded(
            job_id=entity_id,
            event={**base_event, "kind": "escalation", "body": str(payload.get("note") or "")},
        )
    if op == READING_ADD:
        _need(payload, "key", "value", "verdict")
        return Expanded(
            job_id=entity_id,
            reading={
                "id": op_id,
                "job_id": entity_id,
                "item_key": str(payload["key"]),
                "value": str(payload["value"]),
                "verdict": str(payload["verdict"]),
                "comment": payload.get("comment"),
                "actor": actor,
                "hlc": hlc,
                "at": at,
            },
        )
    if op == STOCK_MOVE:
        _need(payload, "sku", "kind", "qty")
        return Expanded(
            job_id=payload.get("job"),
            movement={
                "id": op_id,
                "sku": entity_id if entity_id else payload["sku"],
                "kind": str(payload["kind"]),
                "qty": int(payload["qty"]),
                "job_id": payload.get("job"),
                "request_id": payload.get("request"),
                "reason": payload.get("reason"),
                "override": int(bool(payload.get("override"))),
                "actor": actor,
                "hlc": hlc,
                "at": at,
            },
        )
    if op == REQUEST_CREATE:
        _need(payload, "sku", "qty", "status")
        return Expanded(
            job_id=payload.get("job"),
            request={
                "id": entity_id,
                "sku": str(payload["sku"]),
                "qty": int(payload["qty"]),
                "job_id": payload.get("job"),
                "status": str(payload["status"]),
                "note": payload.get("note"),
                "decided_reason": None,
                "created_at": at,
                "updated_at": at,
                "hlc": hlc,
            },
        )
    if op == REQUEST_STEP:
        _need(payload, "from", "to")
        reason = payload.get("reason")
        return Expanded(
            request_step=(str(payload["from"]), str(payload["to"])),
            step_reason=str(reason).strip() or None if reason else None,
        )
    if op == JOB_ASSIGN:
        _need(payload, "to")
        fields: dict[str, Any] = {"technician_id": str(payload["to"])}
        if payload.get("reset"):
            fields["status"] = Status.ASSIGNED.value
        return Expanded(
            job_id=entity_id,
            job_fields=fields,
            event={
                **base_event,
                "kind": "assigned",
                "from_status": payload.get("from"),
                "to_status": fields.get("status", payload.get("from")),
                "body": f"assigned to {payload.get('name') or payload['to']}",
            },
        )
    if op == ESCALATION_ACK:
        _need(payload, "level")
        note = str(payload.get("note") or "").strip()
        return Expanded(
            job_id=entity_id,
            job_fields={"escalation_ack_level": int(payload["level"])},
            event={
                **base_event,
                "kind": "escalation_ack",
                "body": f"escalation level {int(payload['level'])} acknowledged"
                + (f": {note}" if note else ""),
            },
        )
    if op == CALLBACK_RECORD:
        _need(payload, "job", "skill", "attitude", "adherence")
        scores = check_scores(payload["skill"], payload["attitude"], payload["adherence"])
        return Expanded(
            job_id=str(payload["job"]),
            callback={
                "id": entity_id,
                "job_id": str(payload["job"]),
                **scores,
                "comment": check_comment(payload.get("comment")),
                "recorded_by": actor,
                "at": at,
            },
        )
    if op == JOB_CREATE:
        job = payload.get("job")
        if not isinstance(job, dict):
            raise BadInput("a job.create operation carries the job")
        _need(
            job,
            "ref",
            "kind",
            "priority",
            "customer_id",
            "site_id",
            "summary",
            "window_start",
            "sla_due",
        )
        row = {k: job.get(k) for k in CREATE_FIELDS}
        row.update(
            id=entity_id,
            status=Status.ASSIGNED.value,
            updated_at=at,
            created_at=job.get("created_at") or at,
        )
        return Expanded(
            job_id=entity_id,
            new_job=row,
            event={
                **base_event,
                "kind": "created",
                "to_status": Status.ASSIGNED.value,
                "body": job.get("note"),
            },
        )
    raise BadInput(f"unknown operation {op!r}")

"""Operations: the compact payloads that travel in the outbox, and what they mean.

Device and HQ both turn an operation into rows with `expand`, so the two sides write the
same rows from the same operation; `EXPANDERS` holds one small function per operation kind.
Ids and times are derived, not sent: an event's id is its operation's id, its time is its
clock stamp, its author is the device's user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fieldtech.domain import attachments
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
ATTACHMENT_ADD = "attachment.add"

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
    ATTACHMENT_ADD,
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
    ATTACHMENT_ADD: "file attached",
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


def status_fields(
    to: Status, reason: str | None, at: str, payload: dict[str, Any]
) -> dict[str, Any]:
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
    attachment: dict[str, Any] | None = None


def _need(payload: dict[str, Any], *keys: str) -> None:
    for k in keys:
        if k not in payload or payload[k] in (None, ""):
            raise BadInput(f"operation payload lacks {k!r}")


@dataclass(frozen=True)
class Operation:
    """One operation as its expand function reads it: what it is, on what, by whom, when."""

    op: str
    entity_id: str
    payload: dict[str, Any]
    op_id: str
    hlc: str
    actor: str
    at: str  # the clock stamp as a time: every row the operation writes carries it

    def event(self, kind: str, **fields: Any) -> dict[str, Any]:
        """The job's history line this operation appends: its id is the operation's."""
        return {
            "id": self.op_id,
            "job_id": self.entity_id,
            "actor": self.actor,
            "hlc": self.hlc,
            "at": self.at,
            "from_status": None,
            "to_status": None,
            "body": None,
            "kind": kind,
            **fields,
        }


Expander = Callable[[Operation], Expanded]

# Operation kind -> the function that says what it means as rows.
EXPANDERS: dict[str, Expander] = {}


def _expands(*ops: str) -> Callable[[Expander], Expander]:
    def register(fn: Expander) -> Expander:
        for op in ops:
            EXPANDERS[op] = fn
        return fn

    return register


def expand(
    op: str, entity_id: str, payload: dict[str, Any], *, op_id: str, hlc: str, actor: str
) -> Expanded:
    """What operation `op_id` means as rows. Raises BadInput for a malformed operation."""
    if not isinstance(payload, dict):
        raise BadInput("operation payload must be an object")
    at = stamp_time(hlc)
    expander = EXPANDERS.get(op)
    if expander is None:
        raise BadInput(f"unknown operation {op!r}")
    return expander(Operation(op, entity_id, payload, op_id, hlc, actor, at))


@_expands(JOB_STATUS, JOB_CLOSE)
def _job_status(o: Operation) -> Expanded:
    _need(o.payload, "from", "to")
    try:
        frm, to = Status(o.payload["from"]), Status(o.payload["to"])
    except ValueError:
        raise BadInput("operation names an unknown job status") from None
    if o.op == JOB_CLOSE and to is not Status.COMPLETED:
        raise BadInput("a close operation must complete the job")
    reason = o.payload.get("reason")
    return Expanded(
        job_id=o.entity_id,
        job_fields=status_fields(to, reason, o.at, o.payload),
        status=(frm.value, to.value),
        event=o.event("status", from_status=frm.value, to_status=to.value, body=reason),
    )


@_expands(JOB_NOTE)
def _job_note(o: Operation) -> Expanded:
    _need(o.payload, "body")
    return Expanded(job_id=o.entity_id, event=o.event("note", body=str(o.payload["body"])))


@_expands(ESCALATION_RAISE)
def _escalation_raise(o: Operation) -> Expanded:
    note = str(o.payload.get("note") or "")
    return Expanded(job_id=o.entity_id, event=o.event("escalation", body=note))


@_expands(READING_ADD)
def _reading_add(o: Operation) -> Expanded:
    p = o.payload
    _need(p, "key", "value", "verdict")
    return Expanded(
        job_id=o.entity_id,
        reading={
            "id": o.op_id,
            "job_id": o.entity_id,
            "item_key": str(p["key"]),
            "value": str(p["value"]),
            "verdict": str(p["verdict"]),
            "comment": p.get("comment"),
            "actor": o.actor,
            "hlc": o.hlc,
            "at": o.at,
        },
    )


@_expands(STOCK_MOVE)
def _stock_move(o: Operation) -> Expanded:
    p = o.payload
    _need(p, "sku", "kind", "qty")
    return Expanded(
        job_id=p.get("job"),
        movement={
            "id": o.op_id,
            "sku": o.entity_id if o.entity_id else p["sku"],
            "kind": str(p["kind"]),
            "qty": int(p["qty"]),
            "job_id": p.get("job"),
            "request_id": p.get("request"),
            "reason": p.get("reason"),
            "override": int(bool(p.get("override"))),
            "actor": o.actor,
            "hlc": o.hlc,
            "at": o.at,
        },
    )


@_expands(REQUEST_CREATE)
def _request_create(o: Operation) -> Expanded:
    p = o.payload
    _need(p, "sku", "qty", "status")
    return Expanded(
        job_id=p.get("job"),
        request={
            "id": o.entity_id,
            "sku": str(p["sku"]),
            "qty": int(p["qty"]),
            "job_id": p.get("job"),
            "status": str(p["status"]),
            "note": p.get("note"),
            "decided_reason": None,
            "created_at": o.at,
            "updated_at": o.at,
            "hlc": o.hlc,
        },
    )


@_expands(REQUEST_STEP)
def _request_step(o: Operation) -> Expanded:
    _need(o.payload, "from", "to")
    reason = o.payload.get("reason")
    return Expanded(
        request_step=(str(o.payload["from"]), str(o.payload["to"])),
        step_reason=str(reason).strip() or None if reason else None,
    )


@_expands(JOB_ASSIGN)
def _job_assign(o: Operation) -> Expanded:
    p = o.payload
    _need(p, "to")
    fields: dict[str, Any] = {"technician_id": str(p["to"])}
    if p.get("reset"):
        fields["status"] = Status.ASSIGNED.value
    return Expanded(
        job_id=o.entity_id,
        job_fields=fields,
        event=o.event(
            "assigned",
            from_status=p.get("from"),
            to_status=fields.get("status", p.get("from")),
            body=f"assigned to {p.get('name') or p['to']}",
        ),
    )


@_expands(ESCALATION_ACK)
def _escalation_ack(o: Operation) -> Expanded:
    _need(o.payload, "level")
    note = str(o.payload.get("note") or "").strip()
    level = int(o.payload["level"])
    body = f"escalation level {level} acknowledged" + (f": {note}" if note else "")
    return Expanded(
        job_id=o.entity_id,
        job_fields={"escalation_ack_level": level},
        event=o.event("escalation_ack", body=body),
    )


@_expands(CALLBACK_RECORD)
def _callback_record(o: Operation) -> Expanded:
    p = o.payload
    _need(p, "job", "skill", "attitude", "adherence")
    scores = check_scores(p["skill"], p["attitude"], p["adherence"])
    return Expanded(
        job_id=str(p["job"]),
        callback={
            "id": o.entity_id,
            "job_id": str(p["job"]),
            **scores,
            "comment": check_comment(p.get("comment")),
            "recorded_by": o.actor,
            "at": o.at,
        },
    )


@_expands(ATTACHMENT_ADD)
def _attachment_add(o: Operation) -> Expanded:
    """A file kept as proof of work on the job: the reference; its bytes travel apart,
    after the operation, and are checked against the hash it names."""
    p = o.payload
    _need(p, "sha256", "size", "type", "name")
    if p["type"] not in attachments.KIND_WORDS:
        raise BadInput("an attachment is a JPEG or PNG picture or a PDF file")
    try:
        size = int(p["size"])
    except (TypeError, ValueError):
        raise BadInput("an attachment's size is a whole number of bytes") from None
    name = attachments.clean_name(str(p["name"]))
    caption = attachments.clean_caption(p.get("caption"))
    item = p.get("item")
    row = {
        "id": o.op_id,
        "job_id": o.entity_id,
        "sha256": attachments.check_hash(p["sha256"]),
        "size": attachments.check_size(size, limit=attachments.MAX_AT_HQ),
        "media_type": str(p["type"]),
        "name": name,
        "caption": caption,
        "item_key": str(item) if item else None,
        "actor": o.actor,
        "hlc": o.hlc,
        "at": o.at,
    }
    return Expanded(
        job_id=o.entity_id,
        attachment=row,
        event=o.event("attachment", body=caption or name),
    )


# What a job.create's job must carry; the rest of CREATE_FIELDS may be absent.
CREATE_NEEDS = (
    "ref",
    "kind",
    "priority",
    "customer_id",
    "site_id",
    "summary",
    "window_start",
    "sla_due",
)


@_expands(JOB_CREATE)
def _job_create(o: Operation) -> Expanded:
    job = o.payload.get("job")
    if not isinstance(job, dict):
        raise BadInput("a job.create operation carries the job")
    _need(job, *CREATE_NEEDS)
    row = {k: job.get(k) for k in CREATE_FIELDS}
    row.update(
        id=o.entity_id,
        status=Status.ASSIGNED.value,
        updated_at=o.at,
        created_at=job.get("created_at") or o.at,
    )
    return Expanded(
        job_id=o.entity_id,
        new_job=row,
        event=o.event("created", to_status=Status.ASSIGNED.value, body=job.get("note")),
    )


assert set(EXPANDERS) == set(OPS), "every operation kind has its expand function"

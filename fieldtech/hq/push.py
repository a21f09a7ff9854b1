"""Applying a device's operations at HQ: exactly once, one at a time, never blocking the queue.

Each operation runs in its own savepoint. A bad one is rejected with a reason and the rest go
on. HQ records every operation id it has seen, so a repeated request is answered the same way
and applied nothing twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, ProgrammingError

from fieldtech.domain import ops as O
from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.escalation import FIELD_REQUEST_LEVEL
from fieldtech.domain.hlc import Stamp, wall_ms
from fieldtech.domain.ids import new_id
from fieldtech.domain.merge import merge_status
from fieldtech.domain.ops import Expanded, expand, stamp_time
from fieldtech.domain.parts import RequestStatus, check_request_step
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal, now_iso
from fieldtech.hq.callbacks import record_in
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.dispatch import assign_in, technician
from fieldtech.hq.requests import decide_in
from fieldtech.hq.rows import insert_absent
from fieldtech.hq.scope import can_write_job
from fieldtech.sync import payloads

log = logging.getLogger("fieldtech.hq")

# How far ahead of HQ's clock a device stamp may run before HQ re-stamps it.
MAX_AHEAD_MS = 5 * 60 * 1000
JOB_OPS = {O.JOB_STATUS, O.JOB_CLOSE, O.JOB_NOTE, O.READING_ADD, O.ESCALATION_RAISE}


class Rejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


T = TypeVar("T")


def _carried(value: T | None, what: str) -> T:
    """What an operation of its kind always expands to (fieldtech.domain.ops); should it be
    missing, the operation is refused like any other bad one."""
    if value is None:
        raise Rejected(f"the operation carries no {what}")
    return value


@dataclass
class WireOp:
    id: str
    hlc: str
    op: str
    entity_id: str
    payload: dict[str, Any]


@dataclass
class PushResult:
    acks: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    clamped: int = 0


def bounded_stamp(hq: HQ, hlc: str, wall: int | None = None) -> tuple[str, bool]:
    """The stamp HQ uses for an operation: the device's, unless it runs too far ahead."""
    s = Stamp.parse(hlc)
    now = wall_ms() if wall is None else wall
    if s.ms > now + MAX_AHEAD_MS:
        return hq.stamp(), True
    hq.observe(hlc)
    return hlc, False


def push(hq: HQ, p: Principal, wire_ops: list[WireOp], *, cursor: int | None = None) -> PushResult:
    """Apply a device's operations. `cursor` is how far the device has pulled: a row it
    updates is left out of its next pull only when it already holds HQ's copy."""
    result = PushResult()
    if not wire_ops:
        return result
    with hq.tx() as conn:
        seq = Seq(conn)
        seen = _seen(conn, [o.id for o in wire_ops])
        records: list[dict[str, Any]] = []
        received = now_iso()
        for op in wire_ops:
            if op.id in seen:
                outcome, reason = seen[op.id]
                if outcome == "applied":
                    result.acks.append(op.id)
                else:
                    result.rejected.append({"id": op.id, "reason": reason or ""})
                continue
            early: str | None = None
            try:
                hlc, clamped = bounded_stamp(hq, op.hlc)
            except FieldtechError as exc:
                hlc, clamped, early = op.hlc, False, exc.message
            result.clamped += clamped
            # Checked against its own schema before it touches the database: a malformed
            # payload is refused with its reason and the rest of the batch goes on.
            reason = early or payloads.check(op.op, op.payload)
            if reason is None:
                try:
                    with conn.begin_nested():
                        _apply(hq, conn, seq, p, op, hlc, echo=clamped, cursor=cursor)
                except Rejected as exc:
                    reason = exc.reason
                except FieldtechError as exc:
                    reason = exc.message
                except IntegrityError:
                    reason = "it refers to a part, job or record HQ does not know"
                except (
                    DataError,
                    InterfaceError,
                    ProgrammingError,
                    ValueError,
                    TypeError,
                    KeyError,
                    OverflowError,
                ) as exc:
                    log.warning("operation %s rejected: %r", op.id, exc)
                    reason = f"HQ could not read this operation ({type(exc).__name__})"
            records.append(
                {
                    "id": op.id,
                    "device_id": p.device_id or p.credential_id,
                    "user_id": p.user_id,
                    "op": op.op[:32],
                    "entity_id": str(op.entity_id)[:64],
                    "hlc": op.hlc[:64],
                    "received_at": received,
                    "outcome": "rejected" if reason else "applied",
                    "reason": reason,
                }
            )
            seen[op.id] = ("rejected" if reason else "applied", reason)
            if reason:
                result.rejected.append({"id": op.id, "reason": reason})
                _resend(conn, seq, op)
            else:
                result.acks.append(op.id)
        if records:
            conn.execute(schema.applied_ops.insert(), records)
    return result


def _resend(conn: Connection, seq: Seq, op: WireOp) -> None:
    """A refused operation left the device's copy unlike HQ's: send HQ's row back (pull still
    filters by scope), so the device's copy yields once nothing of it is in flight."""
    key: object
    if op.op == O.REQUEST_STEP:
        table, key = schema.part_requests, op.entity_id
    elif op.op in JOB_OPS or op.op in SUPERVISOR_OPS:
        payload = op.payload if isinstance(op.payload, dict) else {}
        key = payload.get("job") if op.op == O.CALLBACK_RECORD else op.entity_id
        table = schema.jobs
    else:
        return
    if not isinstance(key, str):
        return
    conn.execute(update(table).where(table.c.id == key).values(seq=seq(), origin=None))


def _seen(conn: Connection, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    c = schema.applied_ops.c
    out: dict[str, tuple[str, str | None]] = {}
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(c.id, c.outcome, c.reason).where(c.id.in_(ids[i : i + 500]))
        ).all()
        out.update({r.id: (r.outcome, r.reason) for r in rows})
    return out


def _row_origin(row: dict[str, Any], origin: str | None, cursor: int | None) -> str | None:
    """Who an updated row counts as written by. It is not echoed to its device only when that
    device held HQ's copy before this change: it pulled it (seq within its cursor) or wrote
    it last itself. Otherwise HQ's changes to it (an escalation level, say) would never
    reach the device."""
    if origin is None or cursor is None:
        return None
    if row.get("origin") == origin or int(row.get("seq") or 0) <= cursor:
        return origin
    return None


def _apply(
    hq: HQ,
    conn: Connection,
    seq: Seq,
    p: Principal,
    op: WireOp,
    hlc: str,
    *,
    echo: bool = False,
    cursor: int | None = None,
) -> None:
    exp = expand(op.op, op.entity_id, op.payload, op_id=op.id, hlc=hlc, actor=p.user_id)
    # A re-stamped operation goes back to its device, so it adopts HQ's stamps.
    origin = None if echo else p.device_id
    if op.op == O.JOB_CREATE:
        job_row = _carried(exp.new_job, "job")
        _create_job(conn, seq, p, job_row, _carried(exp.event, "event"), origin)
        return
    if op.op in JOB_OPS:
        job = _writable_job(conn, p, op.entity_id)
        if exp.job_fields:
            _set_job_fields(hq, conn, seq, p, job, exp, hlc, _row_origin(job, origin, cursor))
        elif p.role == "technician" and job["technician_id"] != p.user_id:
            _work_on_a_moved_job(conn, seq, p, job, hlc)  # a note, a reading: kept, and told
        if exp.event is not None:
            insert_absent(conn, schema.job_events, {**exp.event, "seq": seq(), "origin": origin})
            if op.op == O.ESCALATION_RAISE:
                _escalate(conn, seq, job, hlc)
        if exp.reading is not None:
            insert_absent(conn, schema.readings, {**exp.reading, "seq": seq(), "origin": origin})
        if op.op == O.JOB_CLOSE:
            _installed(conn, seq, job["id"], hlc)
        return
    if op.op == O.STOCK_MOVE:
        movement = _carried(exp.movement, "stock movement")
        if movement["job_id"]:
            _writable_job(conn, p, movement["job_id"])
        row = {**movement, "technician_id": p.user_id, "seq": seq(), "origin": origin}
        insert_absent(conn, schema.stock_ledger, row)
        return
    if op.op == O.REQUEST_CREATE:
        request = _carried(exp.request, "part request")
        if request["job_id"]:
            _writable_job(conn, p, request["job_id"])
        row = {
            **request,
            "technician_id": p.user_id,
            "team": p.team,
            "seq": seq(),
            "origin": origin,
        }
        insert_absent(conn, schema.part_requests, row)
        return
    if op.op == O.REQUEST_STEP:
        _step_request(conn, seq, p, op.entity_id, exp, hlc, origin, cursor)
        return
    if op.op in SUPERVISOR_OPS:
        _supervise(conn, seq, p, op, exp, hlc, origin, cursor)
        return
    raise Rejected(f"HQ does not handle {op.op!r} operations")


def _installed(conn: Connection, seq: Seq, job_id: str, hlc: str) -> None:
    """A completed install job puts its appliance's install date on record (the close's
    day), from which maintenance is planned. A date already on record is kept."""
    J, A = schema.jobs.c, schema.appliances.c
    job = conn.execute(select(J.kind, J.status, J.appliance_id).where(J.id == job_id)).first()
    if job is None or job.kind != "install" or job.status != "completed" or not job.appliance_id:
        return
    conn.execute(
        update(schema.appliances)
        .where(A.id == job.appliance_id, A.installed_on.is_(None))
        .values(installed_on=stamp_time(hlc)[:10], seq=seq())
    )


def _writable_job(conn: Connection, p: Principal, job_id: str) -> dict[str, Any]:
    ok, job = can_write_job(conn, p, job_id)
    if job is None:
        raise Rejected(f"job {job_id[-8:]!r} is not known at HQ")
    if not ok:
        raise Rejected(f"job {job['ref']} is not assigned to you")
    return job


def _set_job_fields(
    hq: HQ,
    conn: Connection,
    seq: Seq,
    p: Principal,
    job: dict[str, Any],
    exp: Expanded,
    hlc: str,
    origin: str | None,
) -> None:
    """Status through the state machine, other fields last-writer-wins by stamp."""
    stamps = json.loads(job["stamps"] or "{}")
    fields = dict(exp.job_fields)
    if exp.status is not None:
        decision = merge_status(job["status"], *exp.status)
        if decision.conflict:
            _conflict(
                conn,
                seq,
                job,
                "status",
                mine=exp.status[1],
                theirs=job["status"],
                theirs_at=stamps.get("status"),
                mine_at=hlc,
            )
        if not decision.apply:
            # HQ keeps its status; re-stamp it so the device's copy yields to HQ's.
            if job["status"] != exp.status[1]:
                stamps["status"] = hq.stamp()
                conn.execute(
                    update(schema.jobs)
                    .where(schema.jobs.c.id == job["id"])
                    .values(stamps=json.dumps(stamps, sort_keys=True), origin=None, seq=seq())
                )
            return
        winners = fields  # the state machine decided: the whole status change goes in
    else:
        winners = {k: v for k, v in fields.items() if stamps.get(k) is None or hlc > stamps[k]}
    if p.role == "technician" and job["technician_id"] != p.user_id:
        _work_on_a_moved_job(conn, seq, p, job, hlc)
        origin = None
    if len(winners) < len(fields):
        origin = None  # HQ knows better for some field: send the row back
    for name in winners:
        if stamps.get(name) is None or hlc > stamps[name]:
            stamps[name] = hlc
        else:
            stamps[name] = hq.stamp()  # set by the state machine over a later stamp
            origin = None
    if not winners:
        return
    conn.execute(
        update(schema.jobs)
        .where(schema.jobs.c.id == job["id"])
        .values(
            **winners,
            stamps=json.dumps(stamps, sort_keys=True),
            updated_at=stamp_time(hlc),
            origin=origin,
            seq=seq(),
        )
    )


def _work_on_a_moved_job(
    conn: Connection, seq: Seq, p: Principal, job: dict[str, Any], hlc: str
) -> None:
    """Field work from a technician the job was reassigned away from: the work is applied
    (never discarded) and one conflict is on record for the job and that technician, where
    they and their supervisor see it (its technician is the one whose work it is)."""
    C = schema.conflicts.c
    seen = conn.execute(
        select(C.id).where(C.entity_id == job["id"], C.field == "technician", C.mine == p.user_id)
    ).first()
    if seen is not None:
        return
    stamps = json.loads(job["stamps"] or "{}")
    _conflict(
        conn,
        seq,
        job,
        "technician",
        mine=p.user_id,
        theirs=job["technician_id"],
        theirs_at=stamps.get("technician_id"),
        mine_at=hlc,
        technician_id=p.user_id,
    )


def _conflict(
    conn: Connection,
    seq: Seq,
    job: dict[str, Any],
    fld: str,
    *,
    mine: str | None,
    theirs: str | None,
    theirs_at: str | None,
    mine_at: str,
    technician_id: str | None = None,
) -> None:
    conn.execute(
        schema.conflicts.insert().values(
            id=new_id(),
            entity="job",
            entity_id=job["id"],
            field=fld,
            mine=mine,
            theirs=theirs,
            theirs_by="hq",
            theirs_at=stamp_time(theirs_at) if theirs_at else None,
            mine_at=stamp_time(mine_at),
            detected_at=now_iso(),
            technician_id=technician_id or job["technician_id"],
            team=job["team"],
            seq=seq(),
        )
    )


SUPERVISOR_OPS = {O.JOB_ASSIGN, O.ESCALATION_ACK, O.CALLBACK_RECORD}


def _supervise(
    conn: Connection,
    seq: Seq,
    p: Principal,
    op: WireOp,
    exp: Expanded,
    hlc: str,
    origin: str | None,
    cursor: int | None,
) -> None:
    """A supervisor's decision made on their device: reassign, acknowledge, call-back."""
    if p.role == "technician":
        raise Rejected("only the team's supervisor or HQ may do this")
    job = _writable_job(conn, p, _carried(exp.job_id, "job"))
    if op.op == O.JOB_ASSIGN:
        tech = technician(conn, exp.job_fields["technician_id"])
        assign_in(conn, seq, p, job, tech, hlc, event_id=op.id, origin=origin)
    elif op.op == O.ESCALATION_ACK:
        _acknowledge(conn, seq, job, exp, hlc, origin, _row_origin(job, origin, cursor))
    else:
        record_in(conn, seq, p, job, _carried(exp.callback, "call-back"))


def _acknowledge(
    conn: Connection,
    seq: Seq,
    job: dict[str, Any],
    exp: Expanded,
    hlc: str,
    origin: str | None,
    job_origin: str | None,
) -> None:
    level = int(exp.job_fields["escalation_ack_level"])
    current = int(job.get("escalation_level") or 0)
    if level < 1 or level > current:
        raise Rejected(f"job {job['ref']} is not escalated to level {level}")
    if level > int(job.get("escalation_ack_level") or 0):
        _set_level(conn, seq, job, "escalation_ack_level", level, hlc, job_origin)
    event = _carried(exp.event, "event")
    insert_absent(conn, schema.job_events, {**event, "seq": seq(), "origin": origin})


def _escalate(conn: Connection, seq: Seq, job: dict[str, Any], hlc: str) -> None:
    level = max(int(job.get("escalation_level") or 0), FIELD_REQUEST_LEVEL)
    _set_level(conn, seq, job, "escalation_level", level, hlc, None)


def _set_level(
    conn: Connection,
    seq: Seq,
    job: dict[str, Any],
    name: str,
    level: int,
    hlc: str,
    origin: str | None,
) -> None:
    """An escalation level or its acknowledgement, stamped so it merges by last writer."""
    stamps = {**json.loads(job["stamps"] or "{}"), name: hlc}
    conn.execute(
        update(schema.jobs)
        .where(schema.jobs.c.id == job["id"])
        .values(
            **{name: level}, stamps=json.dumps(stamps, sort_keys=True), origin=origin, seq=seq()
        )
    )


def _create_job(
    conn: Connection,
    seq: Seq,
    p: Principal,
    row: dict[str, Any],
    event: dict[str, Any],
    origin: str | None,
) -> None:
    parent_id = row.get("parent_job_id")
    if not parent_id:
        raise Rejected("a job created in the field must name the job it follows")
    parent = _writable_job(conn, p, parent_id)
    if p.role == "technician":
        row = {**row, "technician_id": p.user_id, "team": p.team}
    # The same customer confirms it with the code they already have (a device never holds it).
    row.update(
        customer_id=parent["customer_id"],
        site_id=parent["site_id"],
        confirmation_code=parent["confirmation_code"],
    )
    exists = conn.execute(select(schema.jobs.c.id).where(schema.jobs.c.id == row["id"])).first()
    if exists:
        return
    conn.execute(
        schema.jobs.insert().values(
            **row, stamps="{}", escalation_level=0, seq=seq(), origin=origin
        )
    )
    if row.get("technician_id"):
        insert_absent(
            conn,
            schema.job_assignments,
            {"job_id": row["id"], "technician_id": row["technician_id"], "at": row["created_at"]},
        )
    insert_absent(conn, schema.job_events, {**event, "seq": seq(), "origin": origin})


def _step_request(
    conn: Connection,
    seq: Seq,
    p: Principal,
    request_id: str,
    exp: Expanded,
    hlc: str,
    origin: str | None,
    cursor: int | None,
) -> None:
    c = schema.part_requests.c
    req = conn.execute(select(schema.part_requests).where(c.id == request_id)).mappings().first()
    if req is None:
        raise Rejected("that part request is not known at HQ")
    origin = _row_origin(dict(req), origin, cursor)
    step = _carried(exp.request_step, "step")
    current, target = RequestStatus(req["status"]), RequestStatus(step[1])
    if current == target:
        return
    if req["technician_id"] != p.user_id:
        if p.role != "supervisor" and not p.is_admin:
            raise Rejected("that part request is not yours")
        # A supervisor's decision on their team's request, made offline on their device.
        decide_in(conn, seq, p, dict(req), target, exp.step_reason, hlc, origin)
        return
    check_request_step(current, target, by_hq=False)
    conn.execute(
        update(schema.part_requests)
        .where(c.id == request_id)
        .values(status=target.value, updated_at=stamp_time(hlc), hlc=hlc, seq=seq(), origin=origin)
    )

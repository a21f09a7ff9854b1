"""What each kind of device operation does to HQ's rows, inside the savepoint
fieldtech.hq.push gives it. A refusal is `Rejected`, with the reason the device is told.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Connection, select, update

from fieldtech.domain import ops as O
from fieldtech.domain.escalation import FIELD_REQUEST_LEVEL
from fieldtech.domain.jobs import code_and_hash
from fieldtech.domain.ops import Expanded, stamp_time
from fieldtech.domain.parts import RequestStatus, check_request_step
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.callbacks import record_in
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.dispatch import assign_in, technician
from fieldtech.hq.job_merge import row_origin, set_job_fields, set_level, work_on_a_moved_job
from fieldtech.hq.requests import decide_in
from fieldtech.hq.rows import insert_absent
from fieldtech.hq.scope import can_write_job


class Rejected(Exception):
    """An operation HQ refuses, with the reason its device is told."""

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


def work_on_job(
    hq: HQ,
    conn: Connection,
    seq: Seq,
    p: Principal,
    kind: str,
    job_id: str,
    exp: Expanded,
    hlc: str,
    origin: str | None,
    cursor: int | None,
) -> None:
    """Field work on a job: a status change or close, a note, a reading, an escalation."""
    job = _writable_job(conn, p, job_id)
    if exp.job_fields:
        set_job_fields(hq, conn, seq, p, job, exp, hlc, row_origin(job, origin, cursor))
    elif p.role == "technician" and job["technician_id"] != p.user_id:
        work_on_a_moved_job(conn, seq, p, job, hlc)  # a note, a reading: kept, and told
    if exp.event is not None:
        insert_absent(conn, schema.job_events, {**exp.event, "seq": seq(), "origin": origin})
        if kind == O.ESCALATION_RAISE:
            _escalate(conn, seq, job, hlc)
    if exp.reading is not None:
        insert_absent(conn, schema.readings, {**exp.reading, "seq": seq(), "origin": origin})
    if exp.attachment is not None:
        insert_absent(conn, schema.attachments, {**exp.attachment, "seq": seq(), "origin": origin})
    if kind == O.JOB_CLOSE:
        _installed(conn, seq, job["id"], hlc)


def move_stock(conn: Connection, seq: Seq, p: Principal, exp: Expanded, origin: str | None) -> None:
    """A line of the technician's van stock ledger: a part received, used, returned."""
    movement = _carried(exp.movement, "stock movement")
    if movement["job_id"]:
        _writable_job(conn, p, movement["job_id"])
    row = {**movement, "technician_id": p.user_id, "seq": seq(), "origin": origin}
    insert_absent(conn, schema.stock_ledger, row)


def request_part(
    conn: Connection, seq: Seq, p: Principal, exp: Expanded, origin: str | None
) -> None:
    """A part the technician asks HQ for; HQ and their supervisor decide it."""
    request = _carried(exp.request, "part request")
    if request["job_id"]:
        _writable_job(conn, p, request["job_id"])
    row = {**request, "technician_id": p.user_id, "team": p.team, "seq": seq(), "origin": origin}
    insert_absent(conn, schema.part_requests, row)


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


def supervise(
    conn: Connection,
    seq: Seq,
    p: Principal,
    kind: str,
    op_id: str,
    exp: Expanded,
    hlc: str,
    origin: str | None,
    cursor: int | None,
) -> None:
    """A supervisor's decision made on their device: reassign, acknowledge, call-back."""
    if p.role == "technician":
        raise Rejected("only the team's supervisor or HQ may do this")
    job = _writable_job(conn, p, _carried(exp.job_id, "job"))
    if kind == O.JOB_ASSIGN:
        tech = technician(conn, exp.job_fields["technician_id"])
        assign_in(conn, seq, p, job, tech, hlc, event_id=op_id, origin=origin)
    elif kind == O.ESCALATION_ACK:
        _acknowledge(conn, seq, job, exp, hlc, origin, row_origin(job, origin, cursor))
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
        set_level(conn, seq, job, "escalation_ack_level", level, hlc, job_origin)
    event = _carried(exp.event, "event")
    insert_absent(conn, schema.job_events, {**event, "seq": seq(), "origin": origin})


def _escalate(conn: Connection, seq: Seq, job: dict[str, Any], hlc: str) -> None:
    level = max(int(job.get("escalation_level") or 0), FIELD_REQUEST_LEVEL)
    set_level(conn, seq, job, "escalation_level", level, hlc, None)


def create_field_job(
    conn: Connection, seq: Seq, p: Principal, exp: Expanded, origin: str | None
) -> None:
    """A job a technician opened on site (a follow-up visit), for the parent job's customer."""
    row = _carried(exp.new_job, "job")
    event = _carried(exp.event, "event")
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
        **code_and_hash(parent["confirmation_code"], row["id"]),
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


def step_request(
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
    origin = row_origin(dict(req), origin, cursor)
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

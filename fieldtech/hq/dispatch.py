"""Dispatch at HQ: create jobs, assign and reassign them, cancel them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from fieldtech.domain.errors import BadInput, FieldtechError, NotFound
from fieldtech.domain.ids import new_id
from fieldtech.domain.jobs import (
    Priority,
    Status,
    check_transition,
)
from fieldtech.domain.ops import stamp_time
from fieldtech.hq import schema
from fieldtech.hq.auth import Forbidden, Principal
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.rows import insert_absent, only_columns
from fieldtech.hq.scope import require_manager

SLA_HOURS = {
    Priority.EMERGENCY: 4,
    Priority.VIP: 8,
    Priority.HIGH: 24,
    Priority.NORMAL: 48,
    Priority.LOW: 120,
}


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any, what: str) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().replace(" ", "T")
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{what}: {value!r} is not a date-time like 2026-11-23T09:00") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        return _iso(dt)
    except OverflowError:  # e.g. 9999-12-31T23:59-05:00 is past the last UTC instant
        raise BadInput(f"{what}: {value!r} is out of the calendar's range") from None


def technician(conn: Connection, who: str) -> dict[str, Any]:
    u = schema.users.c
    row = (
        conn.execute(select(schema.users).where((u.id == who) | (u.name == who))).mappings().first()
    )
    if row is None:
        raise NotFound(f"no user {who!r} at HQ")
    if row["role"] != "technician" or not row["active"]:
        raise BadInput(f"{who!r} is not an active technician")
    return dict(row)


def _stamped(stamps: dict[str, Any], fields: dict[str, Any], hlc: str) -> str:
    return json.dumps({**stamps, **{k: hlc for k in fields}}, sort_keys=True)


def _write_fields(
    conn: Connection, seq: Seq, job: dict[str, Any], fields: dict[str, Any], hlc: str
) -> None:
    """HQ's own change to a job: the fields, their stamps, and a seq so every device in
    scope (the one that wrote it last included) receives it."""
    stamps = json.loads(job["stamps"] or "{}")
    conn.execute(
        update(schema.jobs)
        .where(schema.jobs.c.id == job["id"])
        .values(
            **fields,
            stamps=_stamped(stamps, fields, hlc),
            updated_at=stamp_time(hlc),
            origin=None,
            seq=seq(),
        )
    )


NUMBERING_TRIES = 8  # concurrent dispatches on several HQ processes each number a job


def create_job(
    hq: HQ,
    p: Principal,
    spec: dict[str, Any],
    *,
    conn: Connection | None = None,
    seq: Seq | None = None,
) -> dict[str, Any]:
    """Create a job with its customer, site and appliance: reused when ids are given, or
    when HQ already knows the customer by the dispatcher's rule (fieldtech.domain.customers).
    The rules are api_models.JobIn's, the same for the CLI, an import and the API; the
    job gets the newest version of its checklist template."""
    if conn is None:
        for attempt in range(NUMBERING_TRIES):
            try:
                with hq.tx() as c:
                    return create_job(hq, p, spec, conn=c, seq=Seq(c))
            except IntegrityError:
                # Two HQ processes gave a new job the same number at the same moment (the
                # number counts the jobs HQ holds): the later one numbers it again. A ref the
                # dispatcher chose is theirs to change, not ours.
                if spec.get("ref") or attempt == NUMBERING_TRIES - 1:
                    raise
        raise AssertionError("unreachable")
    assert seq is not None
    from fieldtech.hq.new_jobs import create_jobs

    (made,) = create_jobs(hq, p, [spec], conn=conn, seq=seq)
    if isinstance(made, FieldtechError):
        raise made
    return made


def _job_for_update(conn: Connection, job_id: str) -> dict[str, Any]:
    j = schema.jobs.c
    row = (
        conn.execute(select(schema.jobs).where((j.id == job_id) | (j.ref == job_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no job {job_id!r} at HQ")
    return dict(row)


def assign(hq: HQ, p: Principal, job_id: str, who: str) -> dict[str, Any]:
    """Assign or reassign. The new technician receives the job with its customer file and
    history on their next sync; the old one learns it moved on."""
    with hq.tx() as conn:
        seq = Seq(conn)
        job = _job_for_update(conn, job_id)
        tech = technician(conn, who)
        return assign_in(conn, seq, p, job, tech, hq.stamp())


def assign_in(
    conn: Connection,
    seq: Seq,
    p: Principal,
    job: dict[str, Any],
    tech: dict[str, Any],
    hlc: str,
    *,
    event_id: str | None = None,
    origin: str | None = None,
) -> dict[str, Any]:
    """The reassignment itself, inside the caller's transaction (HQ's API and a supervisor's
    synced `job.assign` share it)."""
    require_manager(p, job["team"])
    if p.role == "supervisor" and tech["team"] != p.team:
        raise Forbidden("a supervisor can reassign only within their team")
    if not Status(job["status"]).is_open:
        raise BadInput(f"job {job['ref']} is {Status(job['status']).words}: nothing to assign")
    at = stamp_time(hlc)
    # Parents first: a page never carries a job before its customer, site, appliance.
    _touch_related(conn, seq, job, parents=True)
    fields = {"technician_id": tech["id"], "team": tech["team"]}
    if job["status"] != Status.ASSIGNED.value and job["technician_id"] != tech["id"]:
        # Back to the queue of the new technician.
        check_transition(Status(job["status"]), Status.ASSIGNED, by_hq=True)
        fields["status"] = Status.ASSIGNED.value
    _write_fields(conn, seq, job, fields, hlc)
    insert_absent(
        conn,
        schema.job_assignments,
        {"job_id": job["id"], "technician_id": tech["id"], "at": at},
    )
    insert_absent(
        conn,
        schema.job_events,
        {
            "id": event_id or new_id(),
            "job_id": job["id"],
            "kind": "assigned",
            "from_status": job["status"],
            "to_status": fields.get("status", job["status"]),
            "body": f"assigned to {tech['name']}",
            "actor": p.user_id,
            "hlc": hlc,
            "at": at,
            "seq": seq(),
            "origin": origin,
        },
    )
    _touch_related(conn, seq, job, parents=False)
    return {**job, **fields}


def _touch_related(conn: Connection, seq: Seq, job: dict[str, Any], *, parents: bool) -> None:
    """Give the job's customer file (parents) or its history fresh seqs, so a new assignee
    receives them on their next sync."""
    targets = (
        (
            (schema.customers, "id", job["customer_id"]),
            (schema.sites, "id", job["site_id"]),
            (schema.appliances, "customer_id", job["customer_id"]),
        )
        if parents
        else ((schema.job_events, "job_id", job["id"]), (schema.readings, "job_id", job["id"]))
    )
    for table, col, value in targets:
        pk = table.primary_key.columns.values()[0]
        keys = [r[0] for r in conn.execute(select(pk).where(table.c[col] == value))]
        for k in keys:
            conn.execute(update(table).where(pk == k).values(seq=seq()))


def cancel(hq: HQ, p: Principal, job_id: str, reason: str) -> dict[str, Any]:
    with hq.tx() as conn:
        seq = Seq(conn)
        job = _job_for_update(conn, job_id)
        require_manager(p, job["team"])
        check_transition(Status(job["status"]), Status.CANCELLED, reason, by_hq=True)
        hlc = hq.stamp()
        at = stamp_time(hlc)
        fields = {"status": Status.CANCELLED.value, "closed_at": at}
        _write_fields(conn, seq, job, fields, hlc)
        conn.execute(
            schema.job_events.insert().values(
                id=new_id(),
                job_id=job["id"],
                kind="status",
                from_status=job["status"],
                to_status="cancelled",
                body=reason.strip(),
                actor=p.user_id,
                hlc=hlc,
                at=at,
                seq=seq(),
            )
        )
        return {**job, **fields}


def list_jobs(
    hq: HQ,
    p: Principal,
    *,
    status: str | None = None,
    technician: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    from fieldtech.hq.scope import job_filter

    j = schema.jobs.c
    q = select(schema.jobs).where(job_filter(p))
    if status:
        q = q.where(j.status == status)
    if technician:
        q = q.where(j.technician_id == technician)
    q = q.order_by(j.priority_rank, j.sla_due, j.window_start, j.id).limit(limit)
    with hq.engine.connect() as conn:
        return [only_columns(schema.jobs, dict(r)) for r in conn.execute(q).mappings()]


def get_job(hq: HQ, p: Principal, job_id: str) -> dict[str, Any]:
    from fieldtech.hq.scope import job_filter

    j = schema.jobs.c
    with hq.engine.connect() as conn:
        row = (
            conn.execute(
                select(schema.jobs).where((j.id == job_id) | (j.ref == job_id)).where(job_filter(p))
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no job {job_id!r} you can see at HQ")
        job = dict(row)
        job["history"] = [
            dict(r)
            for r in conn.execute(
                select(schema.job_events)
                .where(schema.job_events.c.job_id == job["id"])
                .order_by(schema.job_events.c.hlc)
            ).mappings()
        ]
        job["readings"] = [
            dict(r)
            for r in conn.execute(
                select(schema.readings)
                .where(schema.readings.c.job_id == job["id"])
                .order_by(schema.readings.c.hlc)
            ).mappings()
        ]
        job["conflicts"] = [
            dict(r)
            for r in conn.execute(
                select(schema.conflicts).where(schema.conflicts.c.entity_id == job["id"])
            ).mappings()
        ]
    return job

"""Dispatch at HQ: create jobs, assign and reassign them, cancel them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from fieldtech.domain.errors import BadInput, NotFound
from fieldtech.domain.ids import new_id
from fieldtech.domain.jobs import (
    Priority,
    Status,
    check_transition,
    parse_kind,
    parse_priority,
)
from fieldtech.domain.ops import stamp_time
from fieldtech.domain.templates import template_for
from fieldtech.sync.hq import schema
from fieldtech.sync.hq.auth import Forbidden, Principal
from fieldtech.sync.hq.db import HQ, Seq
from fieldtech.sync.hq.rows import insert_absent, only_columns
from fieldtech.sync.hq.scope import require_manager

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


def technician(conn: Connection, who: str) -> dict:
    u = schema.users.c
    row = (
        conn.execute(select(schema.users).where((u.id == who) | (u.name == who))).mappings().first()
    )
    if row is None:
        raise NotFound(f"no user {who!r} at HQ")
    if row["role"] != "technician" or not row["active"]:
        raise BadInput(f"{who!r} is not an active technician")
    return dict(row)


def _stamped(stamps: dict, fields: dict, hlc: str) -> str:
    return json.dumps({**stamps, **{k: hlc for k in fields}}, sort_keys=True)


def _write_fields(conn: Connection, seq: Seq, job: dict, fields: dict, hlc: str) -> None:
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


def create_job(
    hq: HQ,
    p: Principal,
    spec: dict[str, Any],
    *,
    conn: Connection | None = None,
    seq: Seq | None = None,
) -> dict:
    """Create a job with its customer, site and appliance (reused when ids are given)."""
    if conn is None:
        with hq.tx() as c:
            return create_job(hq, p, spec, conn=c, seq=Seq(c))
    assert seq is not None
    kind = parse_kind(str(spec.get("kind") or ""))
    priority = parse_priority(str(spec.get("priority") or "normal"))
    summary = str(spec.get("summary") or "").strip()
    if not summary:
        raise BadInput("a job needs a summary (what the customer reported or ordered)")
    tech = technician(conn, spec["technician"]) if spec.get("technician") else None
    team = tech["team"] if tech else (spec.get("team") or p.team)
    require_manager(p, team)
    hlc = hq.stamp()
    now = stamp_time(hlc)
    for key, table in (
        ("customer_id", schema.customers),
        ("site_id", schema.sites),
        ("appliance_id", schema.appliances),
    ):
        named = spec.get(key)
        if named and conn.execute(select(table.c.id).where(table.c.id == named)).first() is None:
            raise NotFound(f"{key.removesuffix('_id')} {str(named)[:64]!r} is not known at HQ")
    customer_id = spec.get("customer_id") or _customer(conn, seq, spec)
    site_id = spec.get("site_id") or _site(conn, seq, customer_id, spec)
    appliance_id = spec.get("appliance_id") or _appliance(conn, seq, customer_id, site_id, spec)
    window_start = parse_time(spec.get("window_start"), "window_start") or now
    sla_due = parse_time(spec.get("sla_due"), "sla_due") or _iso(
        datetime.fromisoformat(now.replace("Z", "+00:00")) + timedelta(hours=SLA_HOURS[priority])
    )
    category = spec.get("appliance_category")
    tmpl = template_for(kind.value, category)
    ref = str(spec.get("ref") or "").strip() or _next_ref(conn)
    if conn.execute(select(schema.jobs.c.id).where(schema.jobs.c.ref == ref)).first():
        raise BadInput(f"job {ref} already exists")
    job = {
        "id": spec.get("id") or new_id(),
        "ref": ref,
        "kind": kind.value,
        "priority": priority.value,
        "priority_rank": priority.rank,
        "status": Status.ASSIGNED.value,
        "customer_id": customer_id,
        "site_id": site_id,
        "appliance_id": appliance_id,
        "technician_id": tech["id"] if tech else None,
        "team": team,
        "summary": summary[:500],
        "description": spec.get("description"),
        "window_start": window_start,
        "window_end": parse_time(spec.get("window_end"), "window_end"),
        "sla_due": sla_due,
        "template_id": tmpl.id if tmpl else None,
        "template_version": tmpl.version if tmpl else None,
        "confirmation_code": str(spec.get("confirmation_code") or new_id()[-6:]).upper(),
        "created_at": now,
        "updated_at": now,
        "escalation_level": 0,
    }
    job["stamps"] = _stamped({}, job, hlc)
    conn.execute(schema.jobs.insert().values(**job, seq=seq()))
    if tech:
        insert_absent(
            conn,
            schema.job_assignments,
            {"job_id": job["id"], "technician_id": tech["id"], "at": now},
        )
    conn.execute(
        schema.job_events.insert().values(
            id=new_id(),
            job_id=job["id"],
            kind="created",
            to_status="assigned",
            body=f"dispatched to {tech['name']}" if tech else "created",
            actor=p.user_id,
            hlc=hlc,
            at=now,
            seq=seq(),
        )
    )
    return job


def _next_ref(conn: Connection) -> str:
    from sqlalchemy import func

    n = conn.execute(select(func.count()).select_from(schema.jobs)).scalar_one()
    return f"HQ-{n + 1:06d}"


def _customer(conn: Connection, seq: Seq, spec: dict) -> str:
    name = str(spec.get("customer_name") or "").strip()
    if not name:
        raise BadInput("a job needs the customer's name")
    phone = str(spec.get("customer_phone") or "").strip() or None
    c = schema.customers.c
    found = conn.execute(
        select(c.id).where(c.name == name, c.phone == phone if phone else c.phone.is_(None))
    ).first()
    if found:
        return found.id
    cid = new_id()
    conn.execute(
        schema.customers.insert().values(
            id=cid,
            name=name[:200],
            phone=phone,
            vip=int(bool(spec.get("vip"))),
            created_at=_iso(datetime.now(UTC)),
            seq=seq(),
        )
    )
    return cid


def _site(conn: Connection, seq: Seq, customer_id: str, spec: dict) -> str:
    address = str(spec.get("address") or "").strip()
    if not address:
        raise BadInput("a job needs the site's address")
    s = schema.sites.c
    found = conn.execute(
        select(s.id).where(s.customer_id == customer_id, s.address == address)
    ).first()
    if found:
        return found.id
    hazards = spec.get("hazards") or []
    if isinstance(hazards, str):
        hazards = [h.strip() for h in hazards.split(";") if h.strip()]
    sid = new_id()
    conn.execute(
        schema.sites.insert().values(
            id=sid,
            customer_id=customer_id,
            address=address[:300],
            city=spec.get("city"),
            contact_name=spec.get("contact_name") or spec.get("customer_name"),
            contact_phone=spec.get("customer_phone"),
            access_notes=spec.get("access_notes"),
            hazards=json.dumps(hazards),
            seq=seq(),
        )
    )
    return sid


def _appliance(
    conn: Connection, seq: Seq, customer_id: str, site_id: str, spec: dict
) -> str | None:
    category = str(spec.get("appliance_category") or "").strip()
    if not category:
        return None
    serial = str(spec.get("appliance_serial") or "").strip() or None
    a = schema.appliances.c
    q = select(a.id).where(a.customer_id == customer_id, a.category == category)
    q = q.where(a.serial == serial) if serial else q.where(a.model == spec.get("appliance_model"))
    found = conn.execute(q).first()
    if found:
        return found.id
    aid = new_id()
    conn.execute(
        schema.appliances.insert().values(
            id=aid,
            customer_id=customer_id,
            site_id=site_id,
            category=category,
            brand=spec.get("appliance_brand"),
            model=spec.get("appliance_model"),
            serial=serial,
            seq=seq(),
        )
    )
    return aid


def _job_for_update(conn: Connection, job_id: str) -> dict:
    j = schema.jobs.c
    row = (
        conn.execute(select(schema.jobs).where((j.id == job_id) | (j.ref == job_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no job {job_id!r} at HQ")
    return dict(row)


def assign(hq: HQ, p: Principal, job_id: str, who: str) -> dict:
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
    job: dict,
    tech: dict,
    hlc: str,
    *,
    event_id: str | None = None,
    origin: str | None = None,
) -> dict:
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


def _touch_related(conn: Connection, seq: Seq, job: dict, *, parents: bool) -> None:
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


def cancel(hq: HQ, p: Principal, job_id: str, reason: str) -> dict:
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
) -> list[dict]:
    from fieldtech.sync.hq.scope import job_filter

    j = schema.jobs.c
    q = select(schema.jobs).where(job_filter(p))
    if status:
        q = q.where(j.status == status)
    if technician:
        q = q.where(j.technician_id == technician)
    q = q.order_by(j.priority_rank, j.sla_due, j.window_start, j.id).limit(limit)
    with hq.engine.connect() as conn:
        return [only_columns(schema.jobs, dict(r)) for r in conn.execute(q).mappings()]


def get_job(hq: HQ, p: Principal, job_id: str) -> dict:
    from fieldtech.sync.hq.scope import job_filter

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

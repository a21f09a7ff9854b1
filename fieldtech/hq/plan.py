"""Prevention over fire-fighting: maintenance visits generated ahead of time, and each
technician's day as an ordered task list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from fieldtech.domain.errors import BadInput
from fieldtech.domain.jobs import Status
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.dispatch import create_job

# Months between planned visits, per appliance category.
INTERVAL_MONTHS = {
    "air conditioner": 12,
    "water heater": 12,
    "solar water heater": 6,
    "refrigerator": 24,
    "washing machine": 24,
}
DEFAULT_MONTHS = 12
OPEN = [s.value for s in Status if s.is_open]


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError(d)


def next_due(installed_on: date, last_visit: date | None, months: int, today: date) -> date:
    base = max(installed_on, last_visit) if last_visit else installed_on
    due = add_months(base, months)
    return due


@dataclass
class _Fleet:
    """What planning reads of HQ in one go: appliances with an install date and their jobs."""

    appliances: list[dict[str, Any]]
    last_visit: dict[str, str]  # appliance -> when its last maintenance visit closed
    open_visit: set[str]  # appliances with a maintenance job still open
    last_technician: dict[str, str]  # customer -> the technician of their latest job
    planned_refs: set[str]  # refs of the maintenance jobs ever planned


def plan_maintenance(
    hq: HQ, p: Principal, today: date, horizon_days: int = 30
) -> list[dict[str, Any]]:
    """Create the maintenance jobs falling due within the horizon. Idempotent: one job per
    appliance and due month (its ref says which), and none while one is already open."""
    with hq.engine.connect() as conn:
        fleet = _read_fleet(conn)
    try:
        horizon = today + timedelta(days=horizon_days)
        today - timedelta(days=365)  # how far back _due looks
    except OverflowError:
        raise BadInput(f"cannot plan {horizon_days} days from {today}: past the calendar") from None
    created = []
    for ap in fleet.appliances:
        if ap["id"] in fleet.open_visit:
            continue
        months = INTERVAL_MONTHS.get(ap["category"], DEFAULT_MONTHS)
        due = _due(ap, fleet.last_visit.get(ap["id"]), months, today)
        if due > horizon:
            continue
        ref = f"PM-{ap['id'].replace('-', '')[-8:]}-{due:%Y%m}"
        if ref in fleet.planned_refs:
            continue
        technician = fleet.last_technician.get(ap["customer_id"])
        job = _create_visit(hq, p, ap, ref, due, months, today, technician)
        created.append(
            {
                "ref": ref,
                "appliance": ap["id"],
                "due": due.isoformat(),
                "technician": job["technician_id"],
            }
        )
    return created


def _read_fleet(conn: Connection) -> _Fleet:
    a, j = schema.appliances.c, schema.jobs.c
    appliances = [
        dict(r)
        for r in conn.execute(
            select(schema.appliances).where(a.installed_on.is_not(None))
        ).mappings()
    ]
    last_visit = {
        r[0]: r[1]
        for r in conn.execute(
            select(j.appliance_id, func.max(j.closed_at))
            .where(j.kind == "maintenance", j.status == "completed")
            .group_by(j.appliance_id)
        )
    }
    open_visit = {
        r[0]
        for r in conn.execute(
            select(j.appliance_id).where(j.kind == "maintenance", j.status.in_(OPEN))
        )
    }
    # In order of creation: the latest job of a customer has the last word.
    last_technician = {
        r[0]: r[1]
        for r in conn.execute(
            select(j.customer_id, j.technician_id)
            .where(j.technician_id.is_not(None))
            .order_by(j.created_at)
        )
    }
    planned = {r[0] for r in conn.execute(select(j.ref).where(j.ref.like("PM-%")))}
    return _Fleet(appliances, last_visit, open_visit, last_technician, planned)


def _due(ap: dict[str, Any], last_visit: str | None, months: int, today: date) -> date:
    """When the appliance's next visit falls due; a long-neglected one gets the next only."""
    due = next_due(
        date.fromisoformat(ap["installed_on"]),
        date.fromisoformat(last_visit[:10]) if last_visit else None,
        months,
        today,
    )
    while due < today - timedelta(days=365):
        due = add_months(due, months)
    return due


def _create_visit(
    hq: HQ,
    p: Principal,
    ap: dict[str, Any],
    ref: str,
    due: date,
    months: int,
    today: date,
    technician: str | None,
) -> dict[str, Any]:
    """The maintenance job, at 9:00 on its due day (today when already due), for the
    technician who last served the customer."""
    start = datetime.combine(max(due, today), datetime.min.time(), UTC).replace(hour=9)
    with hq.tx() as conn:
        return create_job(
            hq,
            p,
            {
                "ref": ref,
                "kind": "maintenance",
                "priority": "normal",
                "summary": f"Planned {months}-month service — {ap['category']}",
                "customer_id": ap["customer_id"],
                "site_id": ap["site_id"],
                "appliance_id": ap["id"],
                "appliance_category": ap["category"],
                "technician": technician,
                "window_start": start.isoformat(),
                "sla_due": (start + timedelta(days=14)).isoformat(),
            },
            conn=conn,
            seq=Seq(conn),
        )


def day_plan(hq: HQ, p: Principal, technician_id: str, day: date) -> list[dict[str, Any]]:
    """The technician's day: open jobs booked for that day or already late, urgent first,
    then by promised time, then by appointment."""
    from fieldtech.hq.scope import job_filter

    j = schema.jobs.c
    end = datetime.combine(day, datetime.max.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = datetime.combine(day, datetime.min.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with hq.engine.connect() as conn:
        rows = (
            conn.execute(
                select(
                    j.id, j.ref, j.kind, j.priority, j.status, j.summary, j.window_start, j.sla_due
                )
                .where(job_filter(p), j.technician_id == technician_id, j.status.in_(OPEN))
                .where(((j.window_start >= start) & (j.window_start <= end)) | (j.sla_due <= end))
                .order_by(j.priority_rank, j.sla_due, j.window_start, j.id)
            )
            .mappings()
            .all()
        )
    return [{"position": i, **dict(r)} for i, r in enumerate(rows, start=1)]

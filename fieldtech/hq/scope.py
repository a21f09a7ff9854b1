"""Who may see and change what: a technician their jobs, a supervisor their team, an admin all."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, false, select, true

from fieldtech.hq import schema
from fieldtech.hq.auth import Forbidden, Principal

J = schema.jobs.c
A = schema.job_assignments.c


def job_filter(p: Principal) -> ColumnElement[bool]:
    """A WHERE clause on jobs for what this person may read.

    A technician keeps the jobs once assigned to them, so work done before a reassignment
    still syncs (and they learn the job moved on)."""
    if p.is_admin:
        return true()
    if p.role == "supervisor":
        return J.team == p.team if p.team else false()
    # Every assignment, current or past, is in job_assignments: one indexed lookup.
    return J.id.in_(select(A.job_id).where(A.technician_id == p.user_id))


def can_write_job(
    conn: Connection, p: Principal, job_id: str
) -> tuple[bool, dict[str, Any] | None]:
    job = conn.execute(select(schema.jobs).where(J.id == job_id)).mappings().first()
    if job is None:
        return False, None
    if p.is_admin:
        return True, dict(job)
    if p.role == "supervisor":
        return job["team"] == p.team, dict(job)
    if job["technician_id"] == p.user_id:
        return True, dict(job)
    was = conn.execute(
        select(A.job_id).where(A.job_id == job_id, A.technician_id == p.user_id)
    ).first()
    return was is not None, dict(job)


def require_admin(p: Principal) -> None:
    if not p.is_admin:
        raise Forbidden("only HQ staff (admin) may do this")


def require_manager(p: Principal, team: str | None) -> None:
    """Admins anywhere; supervisors within their own team."""
    if p.is_admin:
        return
    if p.role == "supervisor" and team is not None and team == p.team:
        return
    raise Forbidden("only HQ staff or this team's supervisor may do this")

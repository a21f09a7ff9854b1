"""Part requests at HQ: approve, reject, ship. Each step reaches the device on its next sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from fieldtech.domain.errors import BadInput, NotFound
from fieldtech.domain.ops import stamp_time
from fieldtech.domain.parts import RequestStatus, check_request_step
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.scope import require_admin, require_manager


def step(
    hq: HQ, p: Principal, request_id: str, target: RequestStatus, reason: str | None = None
) -> dict[str, Any]:
    c = schema.part_requests.c
    with hq.tx() as conn:
        req = (
            conn.execute(select(schema.part_requests).where(c.id == request_id)).mappings().first()
        )
        if req is None:
            raise NotFound(f"no part request {request_id!r}")
        values = decide_in(conn, Seq(conn), p, dict(req), target, reason, hq.stamp())
        return {k: v for k, v in {**dict(req), **values}.items() if k != "seq"}


def decide_in(
    conn: Connection,
    seq: Seq,
    p: Principal,
    req: dict[str, Any],
    target: RequestStatus,
    reason: str | None,
    hlc: str,
    origin: str | None = None,
) -> dict[str, Any]:
    """HQ's or a supervisor's step on a request, inside the caller's transaction (the API and
    a supervisor's synced `part_request.step` share it)."""
    if target is RequestStatus.SHIPPED:
        require_admin(p)  # the warehouse ships; supervisors approve
    if target is RequestStatus.REJECTED and not (reason and reason.strip()):
        raise BadInput("say why the request is rejected")
    require_manager(p, req["team"])
    check_request_step(RequestStatus(req["status"]), target, by_hq=True)
    values = {
        "status": target.value,
        "updated_at": stamp_time(hlc),
        "hlc": hlc,
        "seq": seq(),
        "origin": origin,
    }
    if reason and reason.strip():
        values["decided_reason"] = reason.strip()
    c = schema.part_requests.c
    conn.execute(update(schema.part_requests).where(c.id == req["id"]).values(**values))
    return values


def list_requests(hq: HQ, p: Principal, status: str | None = None) -> list[dict[str, Any]]:
    c = schema.part_requests.c
    q = select(schema.part_requests).order_by(c.created_at)
    if p.role == "supervisor":
        q = q.where(c.team == p.team)
    elif p.role == "technician":
        q = q.where(c.technician_id == p.user_id)
    if status:
        q = q.where(c.status == status)
    with hq.engine.connect() as conn:
        return [
            {k: v for k, v in dict(r).items() if k != "seq"} for r in conn.execute(q).mappings()
        ]

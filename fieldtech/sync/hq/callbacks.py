"""The customer call-back after every closed job: skill, attitude, adherence, 1–5 each."""

from __future__ import annotations

from sqlalchemy import select

from fieldtech.domain.errors import BadInput, RuleBroken
from fieldtech.domain.ids import new_id
from fieldtech.sync.hq import schema
from fieldtech.sync.hq.auth import Principal, now_iso
from fieldtech.sync.hq.db import HQ, Seq
from fieldtech.sync.hq.dispatch import _job_for_update
from fieldtech.sync.hq.scope import require_manager

SCORES = ("skill", "attitude", "adherence")


def _score(name: str, value: object) -> int:
    try:
        n = int(str(value))
    except ValueError:
        raise BadInput(f"{name} must be a whole number from 1 to 5, not {value!r}") from None
    if not 1 <= n <= 5:
        raise BadInput(f"{name} must be from 1 to 5, not {n}")
    return n


def record_callback(
    hq: HQ,
    p: Principal,
    job_id: str,
    *,
    skill: object,
    attitude: object,
    adherence: object,
    comment: str | None = None,
) -> dict:
    scores = {
        n: _score(n, v)
        for n, v in (("skill", skill), ("attitude", attitude), ("adherence", adherence))
    }
    with hq.tx() as conn:
        job = _job_for_update(conn, job_id)
        require_manager(p, job["team"])
        if job["status"] not in ("completed", "cannot_complete"):
            raise RuleBroken(f"job {job['ref']} is not closed yet: call the customer after it is")
        row = {
            "id": new_id(),
            "job_id": job["id"],
            "technician_id": job["technician_id"],
            "team": job["team"],
            **scores,
            "comment": (comment or "").strip()[:2000] or None,
            "recorded_by": p.user_id,
            "at": now_iso(),
        }
        conn.execute(schema.callbacks.insert().values(**row, seq=Seq(conn)()))
    return {**row, "job": job["ref"]}


def callbacks_for(hq: HQ, job_id: str) -> list[dict]:
    c = schema.callbacks.c
    with hq.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(schema.callbacks).where(c.job_id == job_id).order_by(c.at)
            ).mappings()
        ]

"""The customer call-back after every closed job: skill, attitude, adherence, 1–5 each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from fieldtech.domain.callbacks import check_comment, check_scores
from fieldtech.domain.errors import RuleBroken
from fieldtech.domain.ids import new_id
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal, now_iso
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.dispatch import _job_for_update
from fieldtech.hq.rows import insert_absent
from fieldtech.hq.scope import require_manager


def record_callback(
    hq: HQ,
    p: Principal,
    job_id: str,
    *,
    skill: object,
    attitude: object,
    adherence: object,
    comment: str | None = None,
) -> dict[str, Any]:
    scores = check_scores(skill, attitude, adherence)
    with hq.tx() as conn:
        job = _job_for_update(conn, job_id)
        row = {
            "id": new_id(),
            "job_id": job["id"],
            **scores,
            "comment": check_comment(comment),
            "recorded_by": p.user_id,
            "at": now_iso(),
        }
        row = record_in(conn, Seq(conn), p, job, row)
    return {**row, "job": job["ref"]}


def record_in(
    conn: Connection, seq: Seq, p: Principal, job: dict[str, Any], row: dict[str, Any]
) -> dict[str, Any]:
    """Store one call-back, inside the caller's transaction (the API and a supervisor's synced
    `callback.record` share it). The same id twice stores it once."""
    require_manager(p, job["team"])
    if job["status"] not in ("completed", "cannot_complete"):
        raise RuleBroken(f"job {job['ref']} is not closed yet: call the customer after it is")
    row = {**row, "technician_id": job["technician_id"], "team": job["team"]}
    insert_absent(conn, schema.callbacks, {**row, "seq": seq()})
    return row


def callbacks_for(hq: HQ, job_id: str) -> list[dict[str, Any]]:
    c = schema.callbacks.c
    with hq.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(schema.callbacks).where(c.job_id == job_id).order_by(c.at)
            ).mappings()
        ]

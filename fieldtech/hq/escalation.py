"""Running the escalation rules over HQ's open jobs (a cron job or the server's timer)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from fieldtech.domain.escalation import LEVEL_WORDS, due_level
from fieldtech.domain.ids import new_id
from fieldtech.domain.ops import stamp_time
from fieldtech.hq import schema
from fieldtech.hq.db import HQ, Seq

OPEN = ("assigned", "en_route", "on_site", "in_progress", "on_hold")


def run_escalations(hq: HQ, now: datetime) -> list[dict[str, Any]]:
    """Raise every open job to the level its lateness calls for. Returns what changed."""
    changed = []
    with hq.tx() as conn:
        seq = Seq(conn)
        for r in _open_jobs(conn):
            current = r["escalation_level"] or 0
            level = due_level(
                priority=r["priority"],
                status=r["status"],
                created_at=r["created_at"],
                sla_due=r["sla_due"],
                now=now,
                current=current,
            )
            if level <= current:
                continue
            _raise_to(hq, conn, seq, r, level)
            changed.append({"job": r["ref"], "from": current, "to": level})
    return changed


def _open_jobs(conn: Connection) -> Sequence[RowMapping]:
    j = schema.jobs.c
    return (
        conn.execute(
            select(
                j.id,
                j.ref,
                j.priority,
                j.status,
                j.created_at,
                j.sla_due,
                j.escalation_level,
                j.stamps,
            ).where(j.status.in_(OPEN))
        )
        .mappings()
        .all()
    )


def _raise_to(hq: HQ, conn: Connection, seq: Seq, job: RowMapping, level: int) -> None:
    """The job's new level, stamped so it merges by last writer, and a line in its history."""
    hlc = hq.stamp()
    stamps = json.loads(job["stamps"] or "{}")
    stamps["escalation_level"] = hlc
    conn.execute(
        update(schema.jobs)
        .where(schema.jobs.c.id == job["id"])
        .values(
            escalation_level=level,
            stamps=json.dumps(stamps, sort_keys=True),
            origin=None,
            seq=seq(),
        )
    )
    words = f"escalated to level {level} ({LEVEL_WORDS[level]}): not solved in time"
    conn.execute(
        schema.job_events.insert().values(
            id=new_id(),
            job_id=job["id"],
            kind="escalation",
            body=words,
            actor="hq",
            hlc=hlc,
            at=stamp_time(hlc),
            seq=seq(),
            origin=None,
        )
    )

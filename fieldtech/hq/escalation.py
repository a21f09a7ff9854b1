"""Running the escalation rules over HQ's open jobs (a cron job or the server's timer)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from fieldtech.domain.escalation import LEVEL_WORDS, due_level
from fieldtech.domain.ids import new_id
from fieldtech.domain.ops import stamp_time
from fieldtech.hq import schema
from fieldtech.hq.db import HQ, Seq

OPEN = ("assigned", "en_route", "on_site", "in_progress", "on_hold")


def run_escalations(hq: HQ, now: datetime) -> list[dict[str, Any]]:
    """Raise every open job to the level its lateness calls for. Returns what changed."""
    j = schema.jobs.c
    changed = []
    with hq.tx() as conn:
        seq = Seq(conn)
        rows = (
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
        for r in rows:
            level = due_level(
                priority=r["priority"],
                status=r["status"],
                created_at=r["created_at"],
                sla_due=r["sla_due"],
                now=now,
                current=r["escalation_level"] or 0,
            )
            if level <= (r["escalation_level"] or 0):
                continue
            hlc = hq.stamp()
            stamps = json.loads(r["stamps"] or "{}")
            stamps["escalation_level"] = hlc
            conn.execute(
                update(schema.jobs)
                .where(j.id == r["id"])
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
                    job_id=r["id"],
                    kind="escalation",
                    body=words,
                    actor="hq",
                    hlc=hlc,
                    at=stamp_time(hlc),
                    seq=seq(),
                    origin=None,
                )
            )
            changed.append({"job": r["ref"], "from": r["escalation_level"] or 0, "to": level})
    return changed

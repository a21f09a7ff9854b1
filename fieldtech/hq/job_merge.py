"""A device's changes to a job, merged into HQ's row (fieldtech.hq.push applies them).

The status goes through the state machine; every other field is last-writer-wins by its
stamp. Field work from a technician the job moved away from is kept, and put on record as
a conflict both they and their supervisor see.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select, update

from fieldtech.domain.ids import new_id
from fieldtech.domain.merge import merge_status
from fieldtech.domain.ops import Expanded, stamp_time
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal, now_iso
from fieldtech.hq.db import HQ, Seq


def row_origin(row: dict[str, Any], origin: str | None, cursor: int | None) -> str | None:
    """Who an updated row counts as written by. It is not echoed to its device only when that
    device held HQ's copy before this change: it pulled it (seq within its cursor) or wrote
    it last itself. Otherwise HQ's changes to it (an escalation level, say) would never
    reach the device."""
    if origin is None or cursor is None:
        return None
    if row.get("origin") == origin or int(row.get("seq") or 0) <= cursor:
        return origin
    return None


def set_job_fields(
    hq: HQ,
    conn: Connection,
    seq: Seq,
    p: Principal,
    job: dict[str, Any],
    exp: Expanded,
    hlc: str,
    origin: str | None,
) -> None:
    """Status through the state machine, other fields last-writer-wins by stamp."""
    stamps = json.loads(job["stamps"] or "{}")
    fields = dict(exp.job_fields)
    if exp.status is not None:
        if not _status_goes_in(hq, conn, seq, job, exp.status, stamps, hlc):
            return
        winners = fields  # the state machine decided: the whole status change goes in
    else:
        winners = {k: v for k, v in fields.items() if stamps.get(k) is None or hlc > stamps[k]}
    if p.role == "technician" and job["technician_id"] != p.user_id:
        work_on_a_moved_job(conn, seq, p, job, hlc)
        origin = None
    if len(winners) < len(fields):
        origin = None  # HQ knows better for some field: send the row back
    if not _stamp_winners(hq, stamps, winners, hlc):
        origin = None
    if not winners:
        return
    conn.execute(
        update(schema.jobs)
        .where(schema.jobs.c.id == job["id"])
        .values(
            **winners,
            stamps=json.dumps(stamps, sort_keys=True),
            updated_at=stamp_time(hlc),
            origin=origin,
            seq=seq(),
        )
    )


def _status_goes_in(
    hq: HQ,
    conn: Connection,
    seq: Seq,
    job: dict[str, Any],
    status: tuple[str, str],
    stamps: dict[str, Any],
    hlc: str,
) -> bool:
    """Whether the device's status change (from, to) is applied. A conflict is put on
    record; a change refused leaves HQ's status, re-stamped so the device's copy yields."""
    decision = merge_status(job["status"], *status)
    if decision.conflict:
        record_conflict(
            conn,
            seq,
            job,
            "status",
            mine=status[1],
            theirs=job["status"],
            theirs_at=stamps.get("status"),
            mine_at=hlc,
        )
    if decision.apply:
        return True
    if job["status"] != status[1]:
        stamps["status"] = hq.stamp()
        conn.execute(
            update(schema.jobs)
            .where(schema.jobs.c.id == job["id"])
            .values(stamps=json.dumps(stamps, sort_keys=True), origin=None, seq=seq())
        )
    return False


def _stamp_winners(hq: HQ, stamps: dict[str, Any], winners: dict[str, Any], hlc: str) -> bool:
    """Stamp the fields that go in. True when each keeps the device's stamp; a field the
    state machine set over a later stamp gets HQ's, so the row goes back to the device."""
    kept = True
    for name in winners:
        if stamps.get(name) is None or hlc > stamps[name]:
            stamps[name] = hlc
        else:
            stamps[name] = hq.stamp()
            kept = False
    return kept


def work_on_a_moved_job(
    conn: Connection, seq: Seq, p: Principal, job: dict[str, Any], hlc: str
) -> None:
    """Field work from a technician the job was reassigned away from: the work is applied
    (never discarded) and one conflict is on record for the job and that technician, where
    they and their supervisor see it (its technician is the one whose work it is)."""
    C = schema.conflicts.c
    seen = conn.execute(
        select(C.id).where(C.entity_id == job["id"], C.field == "technician", C.mine == p.user_id)
    ).first()
    if seen is not None:
        return
    stamps = json.loads(job["stamps"] or "{}")
    record_conflict(
        conn,
        seq,
        job,
        "technician",
        mine=p.user_id,
        theirs=job["technician_id"],
        theirs_at=stamps.get("technician_id"),
        mine_at=hlc,
        technician_id=p.user_id,
    )


def record_conflict(
    conn: Connection,
    seq: Seq,
    job: dict[str, Any],
    fld: str,
    *,
    mine: str | None,
    theirs: str | None,
    theirs_at: str | None,
    mine_at: str,
    technician_id: str | None = None,
) -> None:
    conn.execute(
        schema.conflicts.insert().values(
            id=new_id(),
            entity="job",
            entity_id=job["id"],
            field=fld,
            mine=mine,
            theirs=theirs,
            theirs_by="hq",
            theirs_at=stamp_time(theirs_at) if theirs_at else None,
            mine_at=stamp_time(mine_at),
            detected_at=now_iso(),
            technician_id=technician_id or job["technician_id"],
            team=job["team"],
            seq=seq(),
        )
    )


def set_level(
    conn: Connection,
    seq: Seq,
    job: dict[str, Any],
    name: str,
    level: int,
    hlc: str,
    origin: str | None,
) -> None:
    """An escalation level or its acknowledgement, stamped so it merges by last writer."""
    stamps = {**json.loads(job["stamps"] or "{}"), name: hlc}
    conn.execute(
        update(schema.jobs)
        .where(schema.jobs.c.id == job["id"])
        .values(
            **{name: level}, stamps=json.dumps(stamps, sort_keys=True), origin=origin, seq=seq()
        )
    )

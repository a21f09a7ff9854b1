"""Applying a device's operations at HQ: exactly once, one at a time, never blocking the queue.

Each operation runs in its own savepoint. A bad one is rejected with a reason and the rest go
on. HQ records every operation id it has seen, so a repeated request is answered the same way
and applied nothing twice.
"""

from __future__ import annotations

import json
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, ProgrammingError

from fieldtech.domain import ops as O
from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.hlc import Stamp, wall_ms
from fieldtech.domain.ops import expand
from fieldtech.hq import auth, schema
from fieldtech.hq.auth import Principal, now_iso
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.operations import (
    Rejected,
    create_field_job,
    move_stock,
    request_part,
    step_request,
    supervise,
    work_on_job,
)
from fieldtech.sync import payloads, protocol, wire_models

log = logging.getLogger("fieldtech.hq")

# How far ahead of HQ's clock a device stamp may run before HQ re-stamps it.
MAX_AHEAD_MS = 5 * 60 * 1000
JOB_OPS = {
    O.JOB_STATUS,
    O.JOB_CLOSE,
    O.JOB_NOTE,
    O.READING_ADD,
    O.ESCALATION_RAISE,
    O.ATTACHMENT_ADD,
}
SUPERVISOR_OPS = {O.JOB_ASSIGN, O.ESCALATION_ACK, O.CALLBACK_RECORD}


@dataclass
class WireOp:
    id: str
    hlc: str
    op: str
    entity_id: str
    payload: dict[str, Any]


@dataclass
class PushResult:
    acks: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    clamped: int = 0


def bounded_stamp(hq: HQ, hlc: str, wall: int | None = None) -> tuple[str, bool]:
    """The stamp HQ uses for an operation: the device's, unless it runs too far ahead."""
    s = Stamp.parse(hlc)
    now = wall_ms() if wall is None else wall
    if s.ms > now + MAX_AHEAD_MS:
        return hq.stamp(), True
    hq.observe(hlc)
    return hlc, False


def push(
    hq: HQ,
    p: Principal,
    wire_ops: list[WireOp],
    *,
    cursor: int | None = None,
    kept_as: tuple[str, str] | None = None,
) -> PushResult:
    """Apply a device's operations. `cursor` is how far the device has pulled: a row it
    updates is left out of its next pull only when it already holds HQ's copy. `kept_as`:
    (device, request key) under which the outcome is kept, in the same transaction, for a
    device whose answer is lost to ask after (held_request)."""
    result = PushResult()
    if not wire_ops:
        return result
    with hq.tx() as conn:
        seq = Seq(conn)
        seen = _seen(conn, [o.id for o in wire_ops])
        records: list[dict[str, Any]] = []
        received = now_iso()
        for op in wire_ops:
            if op.id in seen:
                _answer_again(result, op.id, *seen[op.id])
                continue
            reason, clamped = _apply_new(hq, conn, seq, p, op, cursor)
            result.clamped += clamped
            records.append(_record(p, op, received, reason))
            seen[op.id] = ("rejected" if reason else "applied", reason)
            if reason:
                result.rejected.append({"id": op.id, "reason": reason})
                _resend(conn, seq, op)
            else:
                result.acks.append(op.id)
        if records:
            conn.execute(schema.applied_ops.insert(), records)
        if kept_as is not None:
            _keep_outcome(conn, kept_as, wire_ops[-1].id, result.rejected, received)
    return result


def _keep_outcome(
    conn: Connection, kept_as: tuple[str, str], through: str, rejected: list[Any], at: str
) -> None:
    device_id, key = kept_as
    t = schema.push_outcomes
    conn.execute(delete(t).where(t.c.device_id == device_id))
    conn.execute(
        t.insert().values(
            device_id=device_id,
            request_key=key,
            through=through,
            rejected=json.dumps(rejected, separators=(",", ":")),
            at=at,
        )
    )


def _answer_again(result: PushResult, op_id: str, outcome: str, reason: str | None) -> None:
    """An operation HQ has seen before gets the answer it got then."""
    if outcome == "applied":
        result.acks.append(op_id)
    else:
        result.rejected.append({"id": op_id, "reason": reason or ""})


def _apply_new(
    hq: HQ, conn: Connection, seq: Seq, p: Principal, op: WireOp, cursor: int | None
) -> tuple[str | None, bool]:
    """Apply an operation HQ has not seen. Returns why it was refused (None: applied) and
    whether HQ re-stamped it for running ahead of HQ's clock."""
    early: str | None = None
    try:
        hlc, clamped = bounded_stamp(hq, op.hlc)
    except FieldtechError as exc:
        hlc, clamped, early = op.hlc, False, exc.message
    # Checked against its own schema before it touches the database: a malformed
    # payload is refused with its reason and the rest of the batch goes on.
    reason = early or payloads.check(op.op, op.payload)
    if reason is None:
        reason = _in_savepoint(hq, conn, seq, p, op, hlc, echo=clamped, cursor=cursor)
    return reason, clamped


def _in_savepoint(
    hq: HQ,
    conn: Connection,
    seq: Seq,
    p: Principal,
    op: WireOp,
    hlc: str,
    *,
    echo: bool,
    cursor: int | None,
) -> str | None:
    """The operation applied in its own savepoint, or the reason it was refused: a refusal
    leaves nothing of it behind."""
    try:
        with conn.begin_nested():
            _apply(hq, conn, seq, p, op, hlc, echo=echo, cursor=cursor)
    except Rejected as exc:
        return exc.reason
    except FieldtechError as exc:
        return exc.message
    except IntegrityError:
        return "it refers to a part, job or record HQ does not know"
    except (
        DataError,
        InterfaceError,
        ProgrammingError,
        ValueError,
        TypeError,
        KeyError,
        OverflowError,
    ) as exc:
        log.warning("operation %s rejected: %r", op.id, exc)
        return f"HQ could not read this operation ({type(exc).__name__})"
    return None


def _record(p: Principal, op: WireOp, received: str, reason: str | None) -> dict[str, Any]:
    """The applied_ops row that answers this operation id from now on."""
    return {
        "id": op.id,
        "device_id": p.device_id or p.credential_id,
        "user_id": p.user_id,
        "op": op.op[:32],
        "entity_id": str(op.entity_id)[:64],
        "hlc": op.hlc[:64],
        "received_at": received,
        "outcome": "rejected" if reason else "applied",
        "reason": reason,
    }


def _resend(conn: Connection, seq: Seq, op: WireOp) -> None:
    """A refused operation left the device's copy unlike HQ's: send HQ's row back (pull still
    filters by scope), so the device's copy yields once nothing of it is in flight."""
    key: object
    if op.op == O.REQUEST_STEP:
        table, key = schema.part_requests, op.entity_id
    elif op.op in JOB_OPS or op.op in SUPERVISOR_OPS:
        payload = op.payload if isinstance(op.payload, dict) else {}
        key = payload.get("job") if op.op == O.CALLBACK_RECORD else op.entity_id
        table = schema.jobs
    else:
        return
    if not isinstance(key, str):
        return
    conn.execute(update(table).where(table.c.id == key).values(seq=seq(), origin=None))


def held_request(hq: HQ, device_id: str, key: str) -> tuple[str, list[dict[str, str]]] | None:
    """How this device's latest push went, if its key is `key` (the request the device
    lost the answer to): the last op it settled and the refusals among its ops, those
    answered again included; None when HQ never committed that request."""
    t = schema.push_outcomes.c
    with hq.engine.connect() as conn:
        row = conn.execute(
            select(t.through, t.rejected).where(t.device_id == device_id, t.request_key == key)
        ).first()
    if row is None:
        return None
    return row.through, list(json.loads(row.rejected))


def _seen(conn: Connection, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    c = schema.applied_ops.c
    out: dict[str, tuple[str, str | None]] = {}
    for i in range(0, len(ids), 500):
        rows = conn.execute(
            select(c.id, c.outcome, c.reason).where(c.id.in_(ids[i : i + 500]))
        ).all()
        out.update({r.id: (r.outcome, r.reason) for r in rows})
    return out


def _apply(
    hq: HQ,
    conn: Connection,
    seq: Seq,
    p: Principal,
    op: WireOp,
    hlc: str,
    *,
    echo: bool = False,
    cursor: int | None = None,
) -> None:
    exp = expand(op.op, op.entity_id, op.payload, op_id=op.id, hlc=hlc, actor=p.user_id)
    # A re-stamped operation goes back to its device, so it adopts HQ's stamps.
    origin = None if echo else p.device_id
    if op.op == O.JOB_CREATE:
        create_field_job(conn, seq, p, exp, origin)
    elif op.op in JOB_OPS:
        work_on_job(hq, conn, seq, p, op.op, op.entity_id, exp, hlc, origin, cursor)
    elif op.op == O.STOCK_MOVE:
        move_stock(conn, seq, p, exp, origin)
    elif op.op == O.REQUEST_CREATE:
        request_part(conn, seq, p, exp, origin)
    elif op.op == O.REQUEST_STEP:
        step_request(conn, seq, p, op.entity_id, exp, hlc, origin, cursor)
    elif op.op in SUPERVISOR_OPS:
        supervise(conn, seq, p, op.op, op.id, exp, hlc, origin, cursor)
    else:
        raise Rejected(f"HQ does not handle {op.op!r} operations")


def push_request(hq: HQ, p: Principal, req: wire_models.SyncRequest) -> dict[str, Any]:
    """A sync request's operations applied (or a bundle's, fieldtech.hq.bundle_import);
    their outcome in the request's version."""
    if req.clock:
        with suppress(FieldtechError):  # a bad clock is judged per operation, by push
            bounded_stamp(hq, req.clock)
    device = req.device or ""  # named by the route: the request's, or its credential's
    wire = [
        WireOp(o.i, o.h or protocol.stamp_of_op(o.i, device) or "", o.o, o.e, o.p) for o in req.ops
    ]
    key = protocol.request_key([o.i for o in req.ops]) if req.v >= 2 and req.ops else None
    result = push(hq, p, wire, cursor=req.cursor, kept_as=(device, key) if key else None)
    auth.touch(hq, p)
    if req.v >= 2 and req.check is not None:
        held = held_request(hq, device, req.check)
        through, refused = held if held is not None else (None, [])
        return {"through": through, "rejected": refused, "clock": hq.stamp()}
    if req.v >= 2:
        # A watermark: push settles every op of the request, in order, or none (it raises).
        through = req.ops[-1].i if req.ops else None
        return {"through": through, "rejected": result.rejected, "clock": hq.stamp()}
    return {"acks": result.acks, "rejected": result.rejected, "clock": hq.stamp()}

"""The device a service runs on: its store, identity, clock and the outbox writer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from fieldtech.domain.errors import BadInput
from fieldtech.domain.hlc import Clock, node_of, wall_ms
from fieldtech.domain.ids import new_id, operation_id
from fieldtech.domain.ops import Expanded, expand, stamp_time
from fieldtech.store import Store

if TYPE_CHECKING:
    from fieldtech.store.rows import Callback, JobEvent, PartRequest, ReadingRow, StockMovement

# Outbox priorities: lower goes out first. Escalations, then emergency and VIP work.
PRIORITY_ESCALATION = 0
PRIORITY_URGENT = 1
PRIORITY_NORMAL = 5

_ENTITY = {
    "job": "job",
    "reading": "job",
    "stock": "stock",
    "part_request": "part_request",
    "escalation": "job",
    "callback": "callback",
    "attachment": "job",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def named_job(exp: Expanded, op: str) -> str:
    """The job an operation changes; every kind that changes a job names it."""
    if exp.job_id is None:
        raise BadInput(f"a {op} operation changes a job but names none")
    return exp.job_id


# The row an operation of each kind always writes, as the store keeps it. `expand` builds
# them as plain dicts of the table's columns (ops.Expanded); an operation that wrote none
# is refused, as expand refuses a malformed one.
def _written(row: dict[str, Any] | None, op: str, what: str) -> dict[str, Any]:
    if row is None:
        raise BadInput(f"a {op} operation wrote no {what}")
    return row


def history_line(exp: Expanded, op: str) -> JobEvent:
    return cast("JobEvent", _written(exp.event, op, "history line"))


def reading_row(exp: Expanded, op: str) -> ReadingRow:
    return cast("ReadingRow", _written(exp.reading, op, "reading"))


def ledger_line(exp: Expanded, op: str) -> StockMovement:
    return cast("StockMovement", _written(exp.movement, op, "ledger line"))


def request_row(exp: Expanded, op: str) -> PartRequest:
    return cast("PartRequest", _written(exp.request, op, "part request"))


def callback_row(exp: Expanded, op: str) -> Callback:
    return cast("Callback", _written(exp.callback, op, "call-back"))


@dataclass
class Device:
    store: Store
    device_id: str
    actor: str
    clock: Clock
    now: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def open(
        cls,
        store: Store,
        *,
        now: Callable[[], datetime] = utc_now,
        wall: Callable[[], int] | None = None,
    ) -> Device:
        """The device identity lives in the store; a new store gets a new device id."""
        device_id = store.meta("device_id")
        if device_id is None:
            device_id = new_id()
            store.set_meta("device_id", device_id)
        actor = store.meta("user_id") or "unenrolled"
        if wall is None:
            wall = wall_ms if now is utc_now else (lambda: int(now().timestamp() * 1000))
        clock = Clock(node_of(device_id), store.stored_clock(), wall=wall)
        return cls(store, device_id, actor, clock, now)

    def apply(
        self, op: str, entity_id: str, payload: dict[str, Any], *, priority: int = PRIORITY_NORMAL
    ) -> Expanded:
        """Write the rows an operation stands for and append it to the outbox (in the
        caller's transaction). The rows come from the same `expand` HQ uses."""
        hlc = self.stamp()
        op_id = operation_id(hlc)
        exp = expand(op, entity_id, payload, op_id=op_id, hlc=hlc, actor=self.actor)
        st = self.store
        if exp.new_job is not None:
            st.put_job({**exp.new_job, "stamps": {}})
        if exp.job_fields:
            job_id = named_job(exp, op)
            job = st.job(job_id)
            stamps = {**job["stamps"], **{name: hlc for name in exp.job_fields}}
            st.update_job(
                job_id, {**exp.job_fields, "updated_at": stamp_time(hlc), "stamps": stamps}
            )
        elif exp.event is not None and exp.new_job is None:
            st.update_job(named_job(exp, op), {"updated_at": stamp_time(hlc)})
        if exp.event is not None:
            st.add_job_event(exp.event)
        if exp.reading is not None:
            st.add_reading(exp.reading)
        if exp.movement is not None:
            st.add_movement(exp.movement)
        if exp.request is not None:
            st.put_request(exp.request)
        if exp.request_step is not None:
            req = st.part_request(entity_id)
            step = {"status": exp.request_step[1], "updated_at": stamp_time(hlc), "hlc": hlc}
            if exp.step_reason:
                step["decided_reason"] = exp.step_reason
            st.put_request({**req, **step})
        if exp.attachment is not None:
            st.add_attachment(exp.attachment)
        if exp.callback is not None:
            job = st.job(exp.callback["job_id"])
            st.add_callback({**exp.callback, "technician_id": job["technician_id"]})
        self.record(
            op,
            _ENTITY[op.split(".")[0]],
            entity_id,
            payload,
            hlc=hlc,
            op_id=op_id,
            priority=priority,
        )
        return exp

    def at(self) -> str:
        return iso(self.now())

    def stamp(self) -> str:
        """A fresh clock stamp, persisted with the transaction it is used in."""
        # Another connection to this file (the sync worker) may have advanced the clock.
        stored = self.store.stored_clock()
        if stored and stored > self.clock.last:
            self.clock.observe(stored)
        s = self.clock.now()
        self.store.save_clock(s)
        return s

    def record(
        self,
        op: str,
        entity: str,
        entity_id: str,
        payload: dict[str, Any],
        *,
        hlc: str,
        op_id: str | None = None,
        priority: int = PRIORITY_NORMAL,
    ) -> str:
        """Append the operation that carries this change to HQ. Call inside the transaction."""
        op_id = op_id or operation_id(hlc)
        self.store.append_outbox(
            {
                "id": op_id,
                "hlc": hlc,
                "device_id": self.device_id,
                "op": op,
                "entity": entity,
                "entity_id": entity_id,
                "payload": payload,
                "priority": priority,
                "created_at": self.at(),
            }
        )
        return op_id

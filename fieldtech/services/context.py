"""The device a service runs on: its store, identity, clock and the outbox writer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fieldtech.domain.hlc import Clock, wall_ms
from fieldtech.domain.ids import new_id
from fieldtech.store import Store

# Outbox priorities: lower goes out first. Escalations, then emergency and VIP work.
PRIORITY_ESCALATION = 0
PRIORITY_URGENT = 1
PRIORITY_NORMAL = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        wall: Callable[[], int] = wall_ms,
    ) -> Device:
        """The device identity lives in the store; a new store gets a new device id."""
        device_id = store.meta("device_id")
        if device_id is None:
            device_id = new_id()
            store.set_meta("device_id", device_id)
        actor = store.meta("user_id") or "unenrolled"
        clock = Clock(device_id.replace("-", "")[-12:], store.meta("hlc"), wall=wall)
        return cls(store, device_id, actor, clock, now)

    def at(self) -> str:
        return iso(self.now())

    def stamp(self) -> str:
        """A fresh clock stamp, persisted with the transaction it is used in."""
        s = self.clock.now()
        self.store.db.execute(
            "INSERT INTO meta (key, value) VALUES ('hlc', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [s],
        )
        return s

    def record(
        self,
        op: str,
        entity: str,
        entity_id: str,
        payload: dict[str, Any],
        *,
        hlc: str,
        priority: int = PRIORITY_NORMAL,
    ) -> str:
        """Append the operation that carries this change to HQ. Call inside the transaction."""
        op_id = new_id()
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

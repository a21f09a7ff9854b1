"""Rebuilding a damaged or lost device file from HQ, keeping the changes not yet sent.

1. Salvage: read what can still be read from the old file — the device's identity and
   clock, and every outbox entry (row by row, so one bad page costs only its rows).
2. Set the old file aside (never deleted: `device.sqlite.damaged-<time>`).
3. Start a fresh file with the same device identity and the salvaged outbox, marked
   "rebuild": the next sync (run at once when HQ answers) sends those changes first — HQ
   applies each operation once, so ones it already had are only acknowledged — and then
   receives everything in this device's scope, its own earlier work included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldtech.store import open_store
from fieldtech.store.salvage import diagnose, readable, salvage
from fieldtech.sync.client import REBUILD

__all__ = ["RepairReport", "diagnose", "rebuild", "salvage"]


@dataclass
class RepairReport:
    problem: str | None
    set_aside: Path | None = None
    kept_pending: int = 0
    kept_rejected: int = 0
    unreadable: int = 0
    outbox_lost: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "set_aside": str(self.set_aside) if self.set_aside else None,
            "kept_pending": self.kept_pending,
            "kept_rejected": self.kept_rejected,
            "unreadable": self.unreadable,
            "outbox_lost": self.outbox_lost,
        }


def rebuild(path: Path, *, device_id: str | None = None, force: bool = False) -> RepairReport:
    """Replace the device file at `path` by a fresh one holding the salvaged outbox.
    `device_id` (from the credential) wins over what the old file says."""
    problem = diagnose(path)
    if problem is None and not force:
        return RepairReport(problem=None)
    found = salvage(path)
    report = RepairReport(problem=problem or "rebuild asked for", unreadable=found.unreadable)
    report.outbox_lost = found.outbox_lost and path.exists()
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(path) + suffix)
            if src.exists():
                src.rename(Path(str(aside) + suffix))
        report.set_aside = aside
    store = open_store(path)
    try:
        meta = dict(found.meta)
        if device_id:
            meta["device_id"] = device_id
        ops = [op for op in found.outbox if readable(op)]
        # The clock never goes back: past every stamp this device handed out that survived.
        stamps = [s for s in (meta.get("hlc"), *(op["hlc"] for op in ops)) if s]
        if stamps:
            meta["hlc"] = max(stamps)
        report.unreadable += len(found.outbox) - len(ops)
        with store.transaction():
            for key, value in {**meta, REBUILD: "1"}.items():
                store.set_meta(key, value)
            store.restore_outbox(ops)
        report.kept_pending = sum(op["state"] in (None, "pending") for op in ops)
        report.kept_rejected = sum(op["state"] == "rejected" for op in ops)
    finally:
        store.close()
    return report

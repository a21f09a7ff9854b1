"""Rebuilding a damaged or lost device file from HQ, keeping the changes not yet sent.

1. Salvage: read what can still be read from the old file — the device's identity and
   clock, and every outbox entry (row by row, so one bad page costs only its rows).
2. Build a fresh file BESIDE the old one, with the same device identity and the salvaged
   outbox, marked "rebuild", and (when HQ is given) fill it with one sync: it sends those
   changes first — HQ applies each operation once, so ones it already had are only
   acknowledged — and then receives everything in this device's scope, its own earlier
   work included.
3. Compare, table by table, what the fresh file holds with what the old one held. A repair
   never leaves less than it found: when the old file is sound (a rebuild asked for) and the
   fresh one holds less (HQ unreachable, a sync that failed), the old file stays in place and
   the fresh one is set aside. A damaged file cannot go on serving, so the fresh one takes
   its place even then, and the report names what it still lacks (it comes at the next
   sync). The old file is never deleted: `device.sqlite.damaged-<time>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldtech.domain.errors import FieldtechError
from fieldtech.store import open_store
from fieldtech.store.db import CLOCK, REBUILD_PENDING
from fieldtech.store.salvage import Salvage, diagnose, holdings, readable, salvage

__all__ = ["RepairReport", "diagnose", "rebuild", "salvage"]


@dataclass
class RepairReport:
    problem: str | None
    set_aside: Path | None = None
    kept_pending: int = 0
    kept_rejected: int = 0
    unreadable: int = 0
    outbox_lost: bool = False
    filled: Any = None  # what `fill` answered (a sync report), when it ran and succeeded
    waiting: str | None = None  # why `fill` did not complete, in words
    kept_old: bool = False  # the old file stays: the fresh one held less
    short: dict[str, tuple[int, int]] = field(default_factory=dict)  # table: (old, fresh)

    def as_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "set_aside": str(self.set_aside) if self.set_aside else None,
            "kept_pending": self.kept_pending,
            "kept_rejected": self.kept_rejected,
            "unreadable": self.unreadable,
            "outbox_lost": self.outbox_lost,
            "kept_old": self.kept_old,
            "short": {k: {"old": o, "rebuilt": n} for k, (o, n) in self.short.items()},
        }


def _move(src: Path, dst: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        a = Path(str(src) + suffix)
        if a.exists():
            a.rename(Path(str(dst) + suffix))


def rebuild(
    path: Path,
    *,
    device_id: str | None = None,
    force: bool = False,
    fill: Callable[[Path], Any] | None = None,
) -> RepairReport:
    """Rebuild the device file at `path` beside it, fill it (`fill(fresh_path)`, a sync with
    HQ) and put it in place unless it holds less than a sound old file. `device_id` (from
    the credential) wins over what the old file says."""
    problem = diagnose(path)
    if problem is None and not force:
        return RepairReport(problem=None)
    found = salvage(path)
    before = holdings(path)
    report = RepairReport(problem=problem or "rebuild asked for", unreadable=found.unreadable)
    report.outbox_lost = found.outbox_lost and path.exists()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    fresh = path.with_name(f"{path.name}.rebuild-{stamp}")
    _start(fresh, found, device_id, report)
    if fill is not None:
        try:
            report.filled = fill(fresh)
        except FieldtechError as exc:
            report.waiting = exc.message
    after = holdings(fresh)
    report.short = {t: (n, after.get(t, 0)) for t, n in before.items() if after.get(t, 0) < n}
    if report.short and problem is None:
        report.kept_old = True  # the old file is sound and holds more: it stays
        report.set_aside = path.with_name(f"{path.name}.rebuilt-{stamp}")
        _move(fresh, report.set_aside)
        return report
    if path.exists():
        why = "damaged" if problem else "replaced"
        report.set_aside = path.with_name(f"{path.name}.{why}-{stamp}")
        _move(path, report.set_aside)
    _move(fresh, path)
    return report


def sync_into(hq_url: str, token: str) -> Callable[[Path], Any]:
    """A `fill` for `rebuild`: one full sync with HQ into the fresh file."""

    def fill(fresh: Path) -> Any:
        from fieldtech.services import Device
        from fieldtech.sync.client import SyncClient

        device = Device.open(open_store(fresh))
        client = SyncClient(device, hq_url, token)
        try:
            return client.sync()
        finally:
            client.close()
            device.store.close()

    return fill


def _start(fresh: Path, found: Salvage, device_id: str | None, report: RepairReport) -> None:
    """The fresh file: the device's identity, its clock, the salvaged outbox, "rebuild"."""
    store = open_store(fresh)
    try:
        meta = dict(found.meta)
        if device_id:
            meta["device_id"] = device_id
        ops = [op for op in found.outbox if readable(op)]
        # The clock never goes back: past every stamp this device handed out that survived.
        stamps = [s for s in (meta.get(CLOCK), *(op["hlc"] for op in ops)) if s]
        if stamps:
            meta[CLOCK] = max(stamps)
        report.unreadable += len(found.outbox) - len(ops)
        with store.transaction():
            for key, value in {**meta, REBUILD_PENDING: "1"}.items():
                store.set_meta(key, value)
            store.restore_outbox(ops)
        report.kept_pending = sum(op["state"] in (None, "pending") for op in ops)
        report.kept_rejected = sum(op["state"] == "rejected" for op in ops)
    finally:
        store.close()

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

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldtech.domain.errors import FieldtechError
from fieldtech.store import open_store
from fieldtech.store.db import connect
from fieldtech.sync.client import REBUILD

KEPT_META = ("device_id", "user_id", "user_name", "role", "team", "hq_url", "hlc")
OUTBOX_COLS = (
    "id",
    "hlc",
    "device_id",
    "op",
    "entity",
    "entity_id",
    "payload",
    "priority",
    "created_at",
    "state",
    "reason",
    "attempts",
)


@dataclass
class Salvage:
    meta: dict[str, str] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0  # outbox rows that could not be read
    outbox_lost: bool = False  # the outbox table itself could not be read


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


def diagnose(path: Path) -> str | None:
    """None when the file is sound; otherwise what is wrong, in words."""
    if not path.exists():
        return "the data file is missing"
    try:
        db = connect(path)
        try:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check(20)").fetchall()]
            db.execute("SELECT count(*) FROM outbox").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        return f"the data file cannot be read ({exc})"
    if rows != ["ok"]:
        return "the data file is damaged (" + "; ".join(rows[:3]) + ")"
    return None


def salvage(path: Path) -> Salvage:
    """Whatever can be read from a damaged file, without writing to it."""
    out = Salvage()
    if not path.exists():
        out.outbox_lost = True
        return out
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        out.outbox_lost = True
        return out
    try:
        try:
            for key, value in conn.execute("SELECT key, value FROM meta"):
                if key in KEPT_META and value is not None:
                    out.meta[key] = value
        except sqlite3.Error:
            pass
        _salvage_outbox(conn, out)
    finally:
        conn.close()
    return out


def _salvage_outbox(conn: sqlite3.Connection, out: Salvage) -> None:
    cols = ", ".join(OUTBOX_COLS)
    try:
        out.outbox = [
            dict(zip(OUTBOX_COLS, r, strict=True))
            for r in conn.execute(f"SELECT {cols} FROM outbox ORDER BY rowid")
        ]
        return
    except sqlite3.Error:
        pass
    # The table scan broke on a bad page: read row by row and skip what cannot be read.
    try:
        top = conn.execute("SELECT max(rowid) FROM outbox").fetchone()[0] or 0
    except sqlite3.Error:
        out.outbox_lost = True
        return
    for rowid in range(1, top + 1):
        try:
            row = conn.execute(f"SELECT {cols} FROM outbox WHERE rowid = ?", [rowid]).fetchone()
        except sqlite3.Error:
            out.unreadable += 1
            continue
        if row is not None:
            out.outbox.append(dict(zip(OUTBOX_COLS, row, strict=True)))


def _readable(op: dict[str, Any]) -> bool:
    try:
        json.loads(op["payload"])
    except (TypeError, ValueError):
        return False
    return all(op.get(k) for k in ("id", "hlc", "op", "entity", "entity_id"))


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
        ops = [op for op in found.outbox if _readable(op)]
        # The clock never goes back: past every stamp this device handed out that survived.
        stamps = [s for s in (meta.get("hlc"), *(op["hlc"] for op in ops)) if s]
        if stamps:
            meta["hlc"] = max(stamps)
        report.unreadable += len(found.outbox) - len(ops)
        with store.transaction():
            for key, value in meta.items():
                store.db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", [key, value])
            store.db.execute("INSERT INTO meta (key, value) VALUES (?, '1')", [REBUILD])
            for op in ops:
                row = {c: op.get(c) for c in OUTBOX_COLS}
                row["state"] = row["state"] or "pending"
                row["attempts"] = row["attempts"] or 0
                row["priority"] = 5 if row["priority"] is None else row["priority"]
                store.db.execute(
                    f"INSERT OR IGNORE INTO outbox ({', '.join(OUTBOX_COLS)}) "
                    f"VALUES ({', '.join(':' + c for c in OUTBOX_COLS)})",
                    row,
                )
        report.kept_pending = sum(op["state"] in (None, "pending") for op in ops)
        report.kept_rejected = sum(op["state"] == "rejected" for op in ops)
    finally:
        store.close()
    return report


class RepairError(FieldtechError):
    pass

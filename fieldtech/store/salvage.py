"""Reading what is left of a damaged device file, without writing to it.

`fieldtech repair` (sync/repair.py) uses it: the device's identity and clock, and every
outbox entry, read row by row past bad pages so one of them costs only its own rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fieldtech.store.db import connect
from fieldtech.store.outbox import OUTBOX_COLS

KEPT_META = ("device_id", "user_id", "user_name", "role", "team", "hq_url", "hlc")


@dataclass
class Salvage:
    meta: dict[str, str] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0  # outbox rows that could not be read
    outbox_lost: bool = False  # the outbox table itself could not be read


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


def readable(op: dict[str, Any]) -> bool:
    try:
        json.loads(op["payload"])
    except (TypeError, ValueError):
        return False
    return all(op.get(k) for k in ("id", "hlc", "op", "entity", "entity_id"))


# What a device file holds, table by table, to compare a rebuilt file with the one it
# replaces: a repair never leaves the device with less than it found.
COUNTED = (
    "jobs",
    "customers",
    "sites",
    "appliances",
    "parts",
    "templates",
    "job_events",
    "readings",
    "stock_ledger",
    "part_requests",
)


def holdings(path: Path) -> dict[str, int]:
    """Rows per table of COUNTED, read-only; a table that cannot be read is left out."""
    out: dict[str, int] = {}
    if not path.exists():
        return out
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return out
    try:
        for table in COUNTED:
            try:
                out[table] = int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            except sqlite3.Error:
                continue
    finally:
        conn.close()
    return out

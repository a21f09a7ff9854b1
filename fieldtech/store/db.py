"""Opening the device file, transactions, and the small key/value table of device facts."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fieldtech.domain.errors import FieldtechError
from fieldtech.store.attachments import AttachmentRows
from fieldtech.store.carried import CarriedRows
from fieldtech.store.checklists import ChecklistRows
from fieldtech.store.database import Database
from fieldtech.store.jobs import JobRows
from fieldtech.store.migrations import LATEST, migrate
from fieldtech.store.outbox import OutboxRows
from fieldtech.store.parts import PartRows
from fieldtech.store.sync import SyncRows
from fieldtech.store.team import TeamRows

# Device facts (the meta table) that the store's own methods read and write.
CLOCK = "hlc"
PULL_CURSOR = "sync_cursor"
REBUILD_PENDING = "rebuild_pending"  # set by `fieldtech repair` until one full pull arrives


class StoreError(FieldtechError):
    pass


def plain_words(exc: sqlite3.Error) -> StoreError | None:
    """What a person should read when SQLite refuses a write; None for a programming error."""
    text = str(exc).lower()
    if "full" in text:  # SQLITE_FULL: disk or size limit
        return StoreError("the disk is full: nothing was saved; free some space and try again")
    if "locked" in text or "busy" in text:
        return StoreError(
            "the data file is busy in another fieldtech window: nothing was saved; try again"
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return StoreError(
            "the data file is damaged: nothing was saved; run `fieldtech repair` to rebuild it "
            "from HQ (changes not yet sent are kept)"
        )
    if "readonly" in text or "read-only" in text or "disk i/o" in text:
        return StoreError(f"the data file cannot be written ({exc}): nothing was saved")
    return None


def _private_file(path: Path) -> None:
    """Customer data lives here: readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(path.parent, 0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


class Store(
    JobRows, ChecklistRows, PartRows, OutboxRows, SyncRows, TeamRows, AttachmentRows, CarriedRows
):
    """One device's data. One connection, writes serialised by a lock; readers may use WAL."""

    def __init__(self, db: Database, path: Path | None):
        self.db = db
        self.path = path
        self._lock = threading.RLock()

    # -- transactions -------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """All or nothing. Nested calls join the outer transaction (as a savepoint)."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():
                    yield self
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise plain_words(exc) or exc from None
            try:
                yield self
            except sqlite3.Error as exc:
                self._rollback()
                raise plain_words(exc) or exc from None
            except BaseException:
                self._rollback()
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self._rollback()
                    raise plain_words(exc) or exc from None
                except BaseException:
                    self._rollback()
                    raise

    def _rollback(self) -> None:
        conn = self.db.conn
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        self.db.close()

    # -- device facts --------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction():
            self._put_meta(key, value)

    def _put_meta(self, key: str, value: str | None) -> None:
        """One device fact, written in the caller's transaction."""
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    def stored_clock(self) -> str | None:
        """The last clock stamp this file holds; another connection to it (the sync worker,
        the screens) may have stamped later than this one knows."""
        return self.meta(CLOCK)

    def save_clock(self, stamp: str) -> None:
        """Keep the device's clock with the changes stamped by it (caller's transaction)."""
        self._put_meta(CLOCK, stamp)

    def save_enrollment(self, user: dict[str, Any], hq_url: str) -> None:
        """Who this device belongs to and which HQ it syncs with, as HQ's enrollment said."""
        with self.transaction():
            for key, value in (
                ("user_id", user["id"]),
                ("user_name", user["name"]),
                ("role", user["role"]),
                ("team", user.get("team")),
                ("hq_url", hq_url),
            ):
                self._put_meta(key, value)

    # -- where the pull stands -----------------------------------------------------
    def pull_cursor(self) -> int:
        """HQ's change-feed position this device has applied up to (0: never pulled)."""
        return int(self.meta(PULL_CURSOR) or 0)

    def save_pull_cursor(self, cursor: int) -> None:
        """In the transaction that applied the page the cursor came with."""
        self._put_meta(PULL_CURSOR, str(int(cursor)))

    def rebuild_pending(self) -> bool:
        """A rebuilt file (`fieldtech repair`) that has not yet had one full pull."""
        return bool(self.meta(REBUILD_PENDING))

    def rebuild_arrived(self) -> None:
        """The full pull a rebuilt file waited for is in (caller's transaction)."""
        self.db.execute("DELETE FROM meta WHERE key = ?", [REBUILD_PENDING])

    @property
    def schema_version(self) -> int:
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def integrity_ok(self) -> bool:
        return bool(self.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


CACHE_KIB = 512


def connect(path: Path | str) -> Database:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    db = Database(conn)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA busy_timeout = 30000")
    # SQLite's default page cache is 2 MiB a connection, and the app holds two (the screen's
    # and the sync's). The file's pages stay in the OS's cache, so a smaller one costs the
    # queue's searches nothing measurable (benchmarks.tui_bench) and saves ~0.6 MiB a device.
    db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    if str(path) != ":memory:":
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    return db


def open_store(path: Path | str, *, upgrade: bool = True) -> Store:
    """Open (creating if needed) a device file and bring its schema up to date."""
    p = Path(path) if str(path) != ":memory:" else None
    try:
        if p is not None:
            _private_file(p)
        db = connect(path)
        if upgrade:
            migrate(db)
        elif db.execute("PRAGMA user_version").fetchone()[0] != LATEST:
            raise StoreError(f"{path}: schema is not current; open it with upgrade")
        store = Store(db, p)
        if upgrade and db.execute("SELECT 1 FROM search_waiting LIMIT 1").fetchone():
            with store.transaction():  # a sync stopped mid-stream, killed before its end
                store.index_waiting()
        if upgrade and p is not None and (p.parent / "files").exists():
            store.drop_unreferenced()  # bytes an attach killed before its commit left
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"the data file {path} cannot be read ({exc}); if it is damaged, "
            "`fieldtech repair` rebuilds it from HQ"
        ) from None
    return store

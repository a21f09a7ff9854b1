"""Attachments on the device: their references, their bytes, and their uploads to HQ.

The bytes live beside the device file, in `files/`, each under its SHA-256: the same photo
attached to two jobs is kept once. A file is written in full and renamed into place before
its reference is recorded, so a reference never names missing bytes; bytes a crash left
without a reference are removed when the store next looks (`drop_unreferenced`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from fieldtech.domain.attachments import size_words
from fieldtech.domain.errors import BadInput, FieldtechError
from fieldtech.paths import sync_folder

if TYPE_CHECKING:
    from fieldtech.store.database import Database
    from fieldtech.store.rows import AttachmentRow, UploadRow

READ = 1 << 16
SETTLED = 3600.0  # an attach takes seconds; bytes unnamed an hour on were left by a crash


class KeptFile:
    """A file copied into the device's file folder: its hash, size and first bytes."""

    def __init__(self, sha256: str, size: int, head: bytes):
        self.sha256, self.size, self.head = sha256, size, head


class AttachmentRows:
    db: Database
    path: Path | None

    # -- bytes ----------------------------------------------------------------------------
    @property
    def files_dir(self) -> Path:
        if self.path is None:
            raise FieldtechError("an in-memory store keeps no files")
        return self.path.parent / "files"

    def file_path(self, sha256: str) -> Path:
        return self.files_dir / sha256[:2] / sha256

    def thumbnail_path(self, sha256: str) -> Path:
        return self.files_dir / "thumbs" / f"{sha256}.jpg"

    def keep_thumbnail(self, sha256: str, data: bytes) -> None:
        """A small JPEG of a file HQ holds, fetched to look at (not proof: never sent)."""
        if not data.startswith(b"\xff\xd8\xff"):
            raise BadInput("HQ's thumbnail is not a JPEG")
        path = self.thumbnail_path(sha256)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)

    def keep_file(self, source: BinaryIO, limit: int) -> KeptFile:
        """Copy `source` into the file folder under its hash, durably (written, synced and
        renamed into place), refusing it past `limit` bytes without keeping any of it."""
        self.files_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest, size, head = hashlib.sha256(), 0, b""
        fd, tmp = tempfile.mkstemp(dir=self.files_dir, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := source.read(READ):
                    if not head:
                        head = chunk[:16]
                    size += len(chunk)
                    if size > limit:
                        raise BadInput(
                            f"the file is larger than the {size_words(limit)} an attachment may be"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            kept = KeptFile(digest.hexdigest(), size, head)
            final = self.file_path(kept.sha256)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            if final.exists():
                os.unlink(tmp)  # the same bytes are here already: newly named, not stale
                os.utime(final)
            else:
                os.replace(tmp, final)
                sync_folder(final.parent)
            return kept
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def forget_unnamed(self, sha256: str) -> None:
        """Remove the bytes under `sha256` at once if no attachment names them (an attach
        refused after its copy was made)."""
        named = self.db.execute(
            "SELECT 1 FROM attachments WHERE sha256 = ? OR original_sha256 = ? LIMIT 1",
            [sha256, sha256],
        ).fetchone()
        if named is None:
            with contextlib.suppress(FileNotFoundError):
                self.file_path(sha256).unlink()

    def drop_unreferenced(self, older_than: float = SETTLED) -> int:
        """Remove bytes no attachment names, and copies a crash left half-written. Only
        those older than `older_than` seconds: another process (the CLI beside the app) may
        be between writing a file and committing its reference."""
        if self.path is None or not self.files_dir.exists():
            return 0
        named = {
            r[0]
            for r in self.db.execute(
                "SELECT sha256 FROM attachments UNION SELECT original_sha256 FROM attachments"
            )
        }
        before = time.time() - older_than
        dropped = 0
        for f in self.files_dir.glob("**/*"):
            name = f.name.removesuffix(".jpg") if f.parent.name == "thumbs" else f.name
            if not f.is_file() or (not f.name.startswith(".incoming-") and name in named):
                continue
            with contextlib.suppress(FileNotFoundError):
                if f.stat().st_mtime < before:
                    f.unlink()
                    dropped += 1
        return dropped

    # -- references -------------------------------------------------------------------------
    def add_attachment(self, row: dict[str, Any]) -> None:
        """The reference (in the caller's transaction), and its upload if the hash is new."""
        self.db.execute(
            "INSERT OR IGNORE INTO attachments (id, job_id, sha256, size, media_type, name, "
            "caption, item_key, actor, hlc, at) VALUES (:id, :job_id, :sha256, :size, "
            ":media_type, :name, :caption, :item_key, :actor, :hlc, :at)",
            row,
        )
        self.db.execute(
            "INSERT OR IGNORE INTO uploads (sha256, size) VALUES (?, ?)",
            [row["sha256"], row["size"]],
        )

    def keep_original(self, attachment_id: str, sha256: str, size: int) -> None:
        """The picture as taken, kept beside its downscaled copy until that reached HQ."""
        self.db.execute(
            "UPDATE attachments SET original_sha256 = ?, original_size = ? WHERE id = ?",
            [sha256, size, attachment_id],
        )

    def release_originals(self, sent_sha256: str) -> int:
        """The downscaled copy `sent_sha256` is whole at HQ: drop the originals it stood for
        that nothing still waiting needs (another attachment's small copy on its way, or
        the same picture attached unscaled). Returns the files removed."""
        rows = self.db.execute(
            "SELECT DISTINCT original_sha256 FROM attachments "
            "WHERE sha256 = ? AND original_sha256 IS NOT NULL",
            [sent_sha256],
        ).fetchall()
        dropped = 0
        for (original,) in rows:
            needed = self.db.execute(
                "SELECT 1 FROM attachments a LEFT JOIN uploads u ON u.sha256 = a.sha256 "
                "WHERE (a.sha256 = ?) OR (a.original_sha256 = ? AND u.done_at IS NULL) LIMIT 1",
                [original, original],
            ).fetchone()
            if needed is None:
                with contextlib.suppress(FileNotFoundError):
                    self.file_path(original).unlink()
                    dropped += 1
        return dropped

    def attachments(self, job_id: str) -> list[AttachmentRow]:
        """A job's attachments as they were added, each with what of it HQ has."""
        cur = self.db.execute(
            "SELECT a.*, coalesce(u.sent, a.size) AS sent, u.problem, "
            "CASE WHEN u.sha256 IS NULL OR u.done_at IS NOT NULL THEN 1 ELSE 0 END AS at_hq "
            "FROM attachments a LEFT JOIN uploads u ON u.sha256 = a.sha256 "
            "WHERE a.job_id = ? ORDER BY a.hlc, a.id",
            [job_id],
        )
        cols = [d[0] for d in cur.description]
        return [cast("AttachmentRow", dict(zip(cols, r, strict=True))) for r in cur.fetchall()]

    def attached_items(self, job_id: str) -> frozenset[str]:
        """The keys of the job's checklist items that have a file attached."""
        rows = self.db.execute(
            "SELECT DISTINCT item_key FROM attachments WHERE job_id = ? AND item_key IS NOT NULL",
            [job_id],
        )
        return frozenset(r[0] for r in rows)

    def uploads_ready(self) -> list[UploadRow]:
        """Files whose bytes HQ still lacks and may take now: every operation that attached
        them has been acknowledged (HQ knows the reference, so it knows whom the bytes are
        for). In the order they were attached."""
        cur = self.db.execute(
            "SELECT u.sha256, u.size, u.sent FROM uploads u "
            "JOIN attachments a ON a.sha256 = u.sha256 "
            "WHERE u.done_at IS NULL AND u.problem IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = a.id) "
            "GROUP BY u.sha256 ORDER BY min(a.hlc)"
        )
        cols = [d[0] for d in cur.description]
        return [cast("UploadRow", dict(zip(cols, r, strict=True))) for r in cur.fetchall()]

    def upload_progress(self, sha256: str, sent: int, done_at: str | None = None) -> None:
        self.db.execute(
            "UPDATE uploads SET sent = ?, done_at = ? WHERE sha256 = ?", [sent, done_at, sha256]
        )
        if done_at is not None:
            self.release_originals(sha256)

    def upload_problem(self, sha256: str, words: str | None) -> None:
        """What stops a file going (None: nothing, it may go again)."""
        self.db.execute("UPDATE uploads SET problem = ? WHERE sha256 = ?", [words, sha256])

    def count_file_bytes(self, n: int) -> None:
        """File bytes this device has put on the wire, in all (`file_bytes_sent`): a cut
        chunk counts, so what a cut cost can be read against the files' sizes."""
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('file_bytes_sent', ?) ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
            [str(n)],
        )

    def uploads_waiting(self) -> tuple[int, int]:
        """(files, bytes) on their way to HQ (not those a problem stops: they are said
        with their attachment)."""
        n, size = self.db.execute(
            "SELECT count(*), coalesce(sum(size - sent), 0) FROM uploads "
            "WHERE done_at IS NULL AND problem IS NULL"
        ).fetchone()
        return int(n), int(size)

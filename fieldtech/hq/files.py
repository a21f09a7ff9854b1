"""Where HQ keeps attachments' bytes: one interface, and the disk that implements it.

A file is named by the SHA-256 of its bytes. While it arrives it is a part file that only
grows at the offset HQ's database says it has reached (`hq.uploads`); once all of it came
and hashed right it is promoted, read-only, under its hash. A bucket store for a scaled
deployment implements the same five methods.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

READ = 1 << 16


class FileStore(Protocol):
    def write_part(self, sha256: str, offset: int, data: bytes) -> None:
        """Put `data` at `offset` of the part file, dropping anything past `offset` first
        (bytes a crash wrote after the database's last commit)."""

    def promote(self, sha256: str) -> bool:
        """Check the whole part against its hash: True and kept under the hash if it
        matches; False and the part dropped if not."""

    def discard(self, sha256: str) -> None:
        """Forget the part file (a file that did not match its hash starts over)."""

    def has(self, sha256: str) -> bool:
        """The whole file is here."""

    def read(self, sha256: str) -> Iterator[bytes]:
        """The whole file, in chunks."""


class DiskFiles:
    """Files under one folder: `ab/abcdef…` when whole, `parts/abcdef…` while arriving."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _whole(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _part(self, sha256: str) -> Path:
        return self.root / "parts" / sha256

    def write_part(self, sha256: str, offset: int, data: bytes) -> None:
        part = self._part(sha256)
        part.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.ftruncate(fd, offset)
            os.pwrite(fd, data, offset)
            os.fsync(fd)  # durable before the database says HQ has these bytes
        finally:
            os.close(fd)

    def promote(self, sha256: str) -> bool:
        part = self._part(sha256)
        digest = hashlib.sha256()
        with part.open("rb") as f:
            while chunk := f.read(READ):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            self.discard(sha256)
            return False
        whole = self._whole(sha256)
        whole.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(part, 0o400)
        os.replace(part, whole)
        return True

    def discard(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._part(sha256).unlink()

    def has(self, sha256: str) -> bool:
        return self._whole(sha256).is_file()

    def read(self, sha256: str) -> Iterator[bytes]:
        with self._whole(sha256).open("rb") as f:
            while chunk := f.read(READ):
                yield chunk

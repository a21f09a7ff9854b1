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

from fieldtech.paths import sync_folder

READ = 1 << 16


class FileStore(Protocol):
    """`part`: one person's upload of a file in progress (several may send the same bytes:
    each proves they hold them); `sha256`: the whole file, kept once."""

    def write_part(self, part: str, offset: int, data: bytes) -> None:
        """Put `data` at `offset` of the part file, dropping anything past `offset` first
        (bytes a crash wrote after the database's last commit). FileNotFoundError when
        bytes before `offset` are gone."""

    def promote(self, part: str, sha256: str) -> bool:
        """Check the whole part against the hash: True and kept under it (once) if it
        matches; False and the part dropped if not."""

    def discard(self, part: str) -> None:
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

    def _part(self, part: str) -> Path:
        return self.root / "parts" / part

    def write_part(self, part: str, offset: int, data: bytes) -> None:
        path = self._part(part)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if offset and not path.exists():
            raise FileNotFoundError(path)  # what came before is lost: start again
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < offset:
                raise FileNotFoundError(path)
            os.ftruncate(fd, offset)
            os.pwrite(fd, data, offset)
            os.fsync(fd)  # durable before the database says HQ has these bytes
        finally:
            os.close(fd)

    def promote(self, part: str, sha256: str) -> bool:
        path = self._part(part)
        with path.open("rb") as f:
            matches = hashlib.file_digest(f, "sha256").hexdigest() == sha256
        if not matches:
            self.discard(part)
            return False
        whole = self._whole(sha256)
        whole.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if whole.is_file():
            self.discard(part)  # the same bytes, kept already
            return True
        os.chmod(path, 0o400)
        os.replace(path, whole)
        sync_folder(whole.parent)  # durable before the database says complete
        return True

    def discard(self, part: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._part(part).unlink()

    def has(self, sha256: str) -> bool:
        return self._whole(sha256).is_file()

    def read(self, sha256: str) -> Iterator[bytes]:
        with self._whole(sha256).open("rb") as f:
            while chunk := f.read(READ):
                yield chunk

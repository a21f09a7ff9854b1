"""The device's side of attachments' bytes: each file HQ lacks, chunk by chunk, resumably.

Files go at the end of a sync, after the operations: only a file whose attachment.add HQ
has acknowledged goes (HQ knows its hash, size and job, and the day's work is never behind
a photo). Each chunk HQ acknowledges is recorded at once, so a cut resumes at HQ's offset:
the device asks (HEAD) when it is unsure, and a file HQ already holds (the same photo on
another job, or from another device) is not sent again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fieldtech.domain.attachments import check_hash, size_words
from fieldtech.domain.errors import BadInput
from fieldtech.sync import protocol
from fieldtech.sync.client import _detail
from fieldtech.sync.http import httpx

if TYPE_CHECKING:
    from pathlib import Path

    from fieldtech.store import Store
    from fieldtech.store.rows import UploadRow

HEADERS = 260  # a PATCH's request line and headers, and its 204, on the wire (measured)
MISSING = "the file is no longer on this device: attach it again"
DAMAGED = "the file on this device no longer matches what was attached: attach it again"


class FilesUnreachable(Exception):
    """HQ went away mid-file: what it acknowledged is kept; the rest goes next sync."""


@dataclass
class FileReport:
    sent: int = 0  # files now whole at HQ
    known: int = 0  # files HQ already had
    bytes: int = 0  # file bytes that went up, this sync
    waiting: int = 0  # files still to go
    problems: list[str] = field(default_factory=list)


class FileSender:
    def __init__(self, store: Store, http: httpx.Client, at: str):
        self.store = store
        self.http = http
        self.at = at

    def send(self, left: int | None, report: FileReport) -> int:
        """Send what fits in `left` bytes (None: no cap). Returns the bytes spent."""
        spent = 0
        for up in self.store.uploads_ready():
            room = None if left is None else left - spent
            if room is not None and room < HEADERS * 2:
                break
            spent += self._one(up, room, report)
        report.waiting = self.store.uploads_waiting()[0]
        return spent

    def _one(self, up: UploadRow, room: int | None, report: FileReport) -> int:
        sha, size = up["sha256"], up["size"]
        path = self.store.file_path(sha)
        if not path.is_file():
            self._problem(sha, MISSING, report)
            return 0
        offset = self._offset(sha)
        spent = HEADERS
        if offset is None:  # HQ does not know the reference (yet): nothing to send to
            return spent
        if offset >= size:
            self._done(sha, size)
            report.known += 1
            return spent
        conflicts = restarts = 0  # bounded: an HQ that keeps refusing must not hold the sync
        with path.open("rb") as f:
            while offset < size:
                n = protocol.FILE_CHUNK
                if room is not None:
                    n = min(n, room - spent - HEADERS)
                    if n <= 0:
                        break
                f.seek(offset)
                data = f.read(n)
                if not data:
                    self._problem(sha, DAMAGED, report)
                    return spent
                with self.store.transaction():  # what went on the wire, answered or not
                    self.store.count_file_bytes(len(data))
                answer = self._patch(sha, offset, data)
                spent += len(data) + HEADERS
                report.bytes += len(data)
                if answer.status_code == 204:
                    offset = int(answer.headers.get("Upload-Offset", offset + len(data)))
                    self._progress(sha, offset, size)
                elif answer.status_code == 409 and conflicts < 3:  # HQ is elsewhere: ask
                    conflicts += 1
                    got = self._offset(sha)
                    if got is None:
                        return spent
                    offset = got
                elif answer.status_code == 400 and offset + len(data) >= size and not restarts:
                    # HQ found the whole did not match the hash and dropped it
                    if not self._intact(path, sha):
                        self._problem(sha, DAMAGED, report)
                        return spent
                    restarts += 1
                    offset = 0
                    self._progress(sha, 0, size)
                elif answer.status_code in (400, 409):  # again: try at the next sync
                    return spent
                else:
                    self._problem(sha, f"HQ refused the file: {_detail(answer)}", report)
                    return spent
        if offset >= size:
            report.sent += 1
        return spent

    def _offset(self, sha: str) -> int | None:
        r = self._call("HEAD", sha)
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise FilesUnreachable(f"HQ answered HTTP {r.status_code} about a file")
        return int(r.headers.get("Upload-Offset", 0))

    def _patch(self, sha: str, offset: int, data: bytes) -> httpx.Response:
        return self._call(
            "PATCH",
            sha,
            content=data,
            headers={
                "Tus-Resumable": protocol.TUS_VERSION,
                "Upload-Offset": str(offset),
                "Content-Type": protocol.OFFSET_TYPE,
            },
        )

    def _call(self, method: str, sha: str, **kw: object) -> httpx.Response:
        try:
            r = self.http.request(method, protocol.FILES_PATH + sha, **kw)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            raise FilesUnreachable(f"the link dropped while sending a file ({exc})") from None
        if r.status_code >= 500:
            raise FilesUnreachable(f"HQ had a problem with a file (HTTP {r.status_code})")
        return r

    def _progress(self, sha: str, offset: int, size: int) -> None:
        with self.store.transaction():
            self.store.upload_progress(sha, offset, self.at if offset >= size else None)

    def _done(self, sha: str, size: int) -> None:
        self._progress(sha, size, size)

    def _problem(self, sha: str, words: str, report: FileReport) -> None:
        with self.store.transaction():
            self.store.upload_problem(sha, words)
        report.problems.append(words)

    @staticmethod
    def _intact(path: Path, sha: str) -> bool:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest() == sha


def waiting_words(store: Store) -> str | None:
    """'3 files (1.2 MB) wait to go to HQ', or None."""
    n, size = store.uploads_waiting()
    if not n:
        return None
    return f"{n} file{'s' if n != 1 else ''} ({size_words(size)}) wait to go to HQ"


THUMB_EDGE = 320  # a thumbnail's long edge: ~15 KB, a few seconds over 2G


def fetch(store: Store, http: httpx.Client, job_id: str, *, whole: bool) -> list[tuple[str, str]]:
    """Bring a job's files from HQ that this device lacks: thumbnails of its pictures
    (`whole` False: what to look at first over a slow link), or the files themselves,
    each checked against its hash before it is kept. Returns (name, what happened)."""
    import io

    out: list[tuple[str, str]] = []
    for a in store.attachments(job_id):
        try:  # a name for a path on this device: only ever 64 hex digits
            sha = check_hash(a["sha256"])
        except BadInput:
            out.append((a["name"], "not fetched: HQ named it by no SHA-256"))
            continue
        kept = store.file_path(sha)
        if kept.is_file():
            out.append((a["name"], "on this device"))
            continue
        if not whole and a["media_type"] not in ("image/jpeg", "image/png"):
            out.append((a["name"], "no thumbnail (not a picture)"))
            continue
        if not whole and store.thumbnail_path(sha).is_file():
            out.append((a["name"], "thumbnail on this device"))
            continue
        params = {} if whole else {"thumb": THUMB_EDGE}
        r = _get(http, protocol.FILES_PATH + sha, params)
        if r.status_code != 200:
            out.append((a["name"], f"not fetched: {_detail(r)}"))
            continue
        if whole:
            if hashlib.sha256(r.content).hexdigest() != sha:
                out.append((a["name"], "not kept: what came does not match its hash"))
                continue
            store.keep_file(io.BytesIO(r.content), len(r.content))
            out.append((a["name"], f"fetched, {size_words(len(r.content))}"))
        else:
            store.keep_thumbnail(sha, r.content)
            out.append((a["name"], f"thumbnail fetched, {size_words(len(r.content))}"))
    return out


def _get(http: httpx.Client, path: str, params: dict[str, int]) -> httpx.Response:
    try:
        return http.get(path, params=params)
    except httpx.TransportError as exc:
        raise FilesUnreachable(f"HQ cannot be reached for the file ({exc})") from None

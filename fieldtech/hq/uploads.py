"""Attachments' bytes at HQ: how much of a file has arrived, the next chunk, the whole file.

A file may be sent, and fetched, only by someone who may see a job it is attached to (the
attachment.add operation came first, so HQ knows the hash, its size and its job). The
`files` row is the truth of what arrived: the part file is written and synced before the
row says so, and a chunk at any other offset than the row's is refused (409), so a device
that lost an answer asks again (HEAD) and goes on from there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from fieldtech.domain.errors import BadInput, NotFound, RuleBroken
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal, now_iso
from fieldtech.hq.db import HQ
from fieldtech.hq.files import FileStore
from fieldtech.hq.scope import job_filter

F = schema.files.c
A = schema.attachments.c


@dataclass(frozen=True)
class Progress:
    received: int
    size: int
    media_type: str


class NoFileStore(RuleBroken):
    """HQ was started without a folder for attachments."""


def _store(hq: HQ) -> FileStore:
    if hq.files is None:
        raise NoFileStore("this HQ keeps no attachments: start it with FIELDTECH_HQ_FILES set")
    return hq.files


def _announced(conn: Connection, p: Principal, sha256: str) -> tuple[int, str]:
    """The size and type an attachment of a job this person may see gave the hash."""
    row = conn.execute(
        select(A.size, A.media_type)
        .join(schema.jobs, schema.jobs.c.id == A.job_id)
        .where(A.sha256 == sha256, job_filter(p))
        .limit(1)
    ).first()
    if row is None:
        raise NotFound("no attachment with that hash on a job you can see")
    return int(row.size), str(row.media_type)


def progress(hq: HQ, p: Principal, sha256: str) -> Progress:
    """How much of the file HQ has (HEAD)."""
    with hq.snapshot() as conn:
        size, media_type = _announced(conn, p, sha256)
        row = conn.execute(select(F.received, F.complete).where(F.sha256 == sha256)).first()
    if row is None:
        return Progress(0, size, media_type)
    return Progress(size if row.complete else int(row.received), size, media_type)


def receive(hq: HQ, p: Principal, sha256: str, offset: int, data: bytes) -> Progress:
    """The chunk `data` at `offset` (PATCH): kept durably, then counted. The last chunk
    is checked against the hash; a file that does not match is dropped and starts over."""
    files = _store(hq)
    mismatch = False
    try:
        with hq.tx() as conn:
            size, media_type = _announced(conn, p, sha256)
            row = conn.execute(
                select(F.received, F.complete).where(F.sha256 == sha256).with_for_update()
            ).first()
            if row is None:
                conn.execute(
                    schema.files.insert().values(
                        sha256=sha256, size=size, received=0, complete=False, started_at=now_iso()
                    )
                )
                received, complete = 0, False
            else:
                received, complete = int(row.received), bool(row.complete)
            if complete:  # sent before (another job, another device): nothing more to take
                return Progress(size, size, media_type)
            if offset != received:
                raise RuleBroken(f"HQ has {received} bytes of this file: send from there")
            if received + len(data) > size:
                raise BadInput(f"more bytes than the file's {size} announced")
            files.write_part(sha256, offset, data)
            received += len(data)
            done = received == size
            if done and not files.promote(sha256):
                mismatch, received, done = True, 0, False
            conn.execute(
                update(schema.files)
                .where(F.sha256 == sha256)
                .values(received=received, complete=done, completed_at=now_iso() if done else None)
            )
    except IntegrityError:  # another request started the same file at the same moment
        raise RuleBroken("this file is arriving by another request: ask how much HQ has") from None
    if mismatch:
        raise BadInput("the file's bytes do not match its sha256; HQ dropped them: send it again")
    return Progress(received, size, media_type)


def fetch(hq: HQ, p: Principal, sha256: str) -> tuple[Progress, Iterator[bytes]]:
    """The whole file, for someone who may see a job it is attached to (GET)."""
    files = _store(hq)
    got = progress(hq, p, sha256)
    if got.received < got.size or not files.has(sha256):
        raise NotFound("HQ does not have that file's bytes yet")
    return got, files.read(sha256)


def arrived(conn: Connection, hashes: list[str]) -> set[str]:
    """Which of these files HQ holds whole (for the report)."""
    if not hashes:
        return set()
    rows = conn.execute(select(F.sha256).where(F.sha256.in_(hashes), F.complete.is_(True)))
    return {r.sha256 for r in rows}


def thumbnail(data: bytes, edge: int) -> bytes | None:
    """A small JPEG of a picture, its long edge `edge` px: what a device asks for first
    over a slow link. None when the bytes are no picture Pillow reads."""
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.size[0] * im.size[1] > 60_000_000:
                return None
            im.draft("RGB", (edge, edge))
            small = ImageOps.exif_transpose(im)
            small.thumbnail((edge, edge))
            out = io.BytesIO()
            small.convert("RGB").save(out, "JPEG", quality=75)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None

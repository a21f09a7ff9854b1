"""Attachments' bytes at HQ: how much of a file has arrived, the next chunk, the whole file.

A person sends the bytes of their own attachments (the attachment.add operation came first,
so HQ knows the hash, its size and its job). Knowing a hash is not having the file: the
bytes are served for an attachment only once its author sent them whole and they hashed
right, so a reference forged with another customer's photo's hash grants nothing. The same
person's photo on two jobs goes once. The `files` row is the truth of what arrived: a part
is written and synced before the row says so, and a chunk at any other offset than the
row's is refused (409), so a device that lost an answer asks again (HEAD) and goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.exc import IntegrityError

from fieldtech.domain.errors import BadInput, NotFound, RuleBroken
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal, now_iso
from fieldtech.hq.db import HQ
from fieldtech.hq.files import FileStore
from fieldtech.hq.scope import job_filter

F = schema.files.c
A = schema.attachments.c
THUMB_MAX_BYTES = 20_000_000  # a thumbnail is made of a picture up to this size


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


def part_name(sha256: str, uploader: str) -> str:
    """One person's upload of a file, as a file name (user ids are not path-safe)."""
    return f"{sha256}.{hashlib.sha256(uploader.encode()).hexdigest()[:16]}"


def _own(conn: Connection, p: Principal, sha256: str) -> tuple[int, str]:
    """The size and type this person's own attachment gave the hash, on a job they may
    see: only its author sends a file's bytes."""
    row = conn.execute(
        select(A.size, A.media_type)
        .join(schema.jobs, schema.jobs.c.id == A.job_id)
        .where(A.sha256 == sha256, A.actor == p.user_id, job_filter(p))
        .order_by(A.hlc)
        .limit(1)
    ).first()
    if row is None:
        raise NotFound("no attachment of yours with that hash on a job you can see")
    return int(row.size), str(row.media_type)


def progress(hq: HQ, p: Principal, sha256: str) -> Progress:
    """How much of their file HQ has from this person (HEAD)."""
    with hq.tx() as conn:
        size, media_type = _own(conn, p, sha256)
        row = conn.execute(
            select(F.received, F.complete).where(F.sha256 == sha256, F.uploader == p.user_id)
        ).first()
        if row is None:
            return Progress(0, size, media_type)
        if row.complete and not _store(hq).has(sha256):
            _lost(conn, sha256)  # the bytes went (a disk restored from backup): send again
            return Progress(0, size, media_type)
    return Progress(size if row.complete else int(row.received), size, media_type)


def receive(hq: HQ, p: Principal, sha256: str, offset: int, data: bytes) -> Progress:
    """The chunk `data` at `offset` (PATCH): kept durably, then counted. The last chunk
    is checked against the hash; a file that does not match is dropped and starts over."""
    files = _store(hq)
    part = part_name(sha256, p.user_id)
    mismatch = False
    try:
        with hq.tx() as conn:
            size, media_type = _own(conn, p, sha256)
            mine = and_(F.sha256 == sha256, F.uploader == p.user_id)
            row = conn.execute(select(F.received, F.complete).where(mine).with_for_update()).first()
            if row is None:
                conn.execute(
                    schema.files.insert().values(
                        sha256=sha256,
                        uploader=p.user_id,
                        size=size,
                        received=0,
                        complete=False,
                        started_at=now_iso(),
                    )
                )
                received, complete = 0, False
            else:
                received, complete = int(row.received), bool(row.complete)
            if complete and files.has(sha256):  # sent before (another job): nothing to take
                return Progress(size, size, media_type)
            if complete:  # the bytes went from the store: this upload starts over
                _lost(conn, sha256)
                received = 0
            if offset != received:
                raise RuleBroken(f"HQ has {received} bytes of this file: send from there")
            if received + len(data) > size:
                raise BadInput(f"more bytes than the file's {size} announced")
            try:
                files.write_part(part, offset, data)
            except FileNotFoundError:  # what came before is gone: from the start again
                received, data = 0, b""
                files.discard(part)
            received += len(data)
            done = received == size
            if done and not files.promote(part, sha256):
                mismatch, received, done = True, 0, False
            conn.execute(
                update(schema.files)
                .where(mine)
                .values(received=received, complete=done, completed_at=now_iso() if done else None)
            )
    except IntegrityError:  # another request started the same upload at the same moment
        raise RuleBroken("this file is arriving by another request: ask how much HQ has") from None
    if mismatch:
        raise BadInput("the file's bytes do not match its sha256; HQ dropped them: send it again")
    return Progress(received, size, media_type)


def _granted(conn: Connection, p: Principal, sha256: str) -> tuple[int, str] | None:
    """(size, type) when `p` may see a job with an attachment of this hash whose author
    sent the bytes whole; None otherwise."""
    held = schema.files.alias("held")
    row = conn.execute(
        select(held.c.size, A.media_type)
        .join(schema.jobs, schema.jobs.c.id == A.job_id)
        .join(
            held,
            and_(held.c.sha256 == A.sha256, held.c.uploader == A.actor, held.c.complete),
        )
        .where(A.sha256 == sha256, job_filter(p))
        .limit(1)
    ).first()
    return None if row is None else (int(row.size), str(row.media_type))


def fetch(hq: HQ, p: Principal, sha256: str) -> tuple[Progress, Iterator[bytes]]:
    """The whole file, for someone who may see a job it is attached to (GET)."""
    files = _store(hq)
    with hq.tx() as conn:
        got = _granted(conn, p, sha256)
        if got is not None and not files.has(sha256):
            _lost(conn, sha256)
            got = None
    if got is None:
        raise NotFound("HQ has no file with that hash on a job you can see")
    size, media_type = got
    return Progress(size, size, media_type), files.read(sha256)


def _lost(conn: Connection, sha256: str) -> None:
    """The database says whole, the store has no bytes: every upload of it starts over."""
    conn.execute(
        update(schema.files)
        .where(F.sha256 == sha256)
        .values(received=0, complete=False, completed_at=None)
    )


def holders(conn: Connection, hashes: list[str]) -> dict[tuple[str, str], int]:
    """(hash, uploader) -> size, for the uploads of these files that came whole."""
    if not hashes:
        return {}
    rows = conn.execute(
        select(F.sha256, F.uploader, F.size).where(F.sha256.in_(hashes), F.complete.is_(True))
    )
    return {(r.sha256, r.uploader): int(r.size) for r in rows}


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

"""A technician's first sync, prepared before their new device asks for it.

A new device's priming is every row in its technician's scope: for 10,000 jobs, HQ spent
~3 s reading, encoding and compressing the pages while the device waited. While an
enrollment code waits to be spent, a Preparer on the serving HQ makes those frames ahead,
as a live stream from cursor 0 would send them (zstd, for a device of this release), and
keeps them with the cursor they reach. The device's first sync is then streamed the
prepared bytes, and after them, by a writer of its own, whatever changed since
(fieldtech.hq.stream): what a device primed at that cursor would receive at its next sync,
so nothing is missed however old the preparation. A technician's scope only grows (they
keep the jobs once theirs, fieldtech.hq.scope), so the pages hold nothing they may not see.

Only a request exactly like a priming's is answered from them: cursor 0, nothing pushed,
no budget, the default page sizes, zstd frames, from that technician's own credential.
Anything else, or a preparation of an older release, goes live as before.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from fieldtech import __version__
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.change_watch import changed_in_scope
from fieldtech.hq.db import HQ
from fieldtech.hq.pages import pages
from fieldtech.hq.pull import ORDER
from fieldtech.sync import protocol, wire_models

log = logging.getLogger("fieldtech.hq")

# The form of the prepared pages: this HQ's release and protocol. Another HQ release may
# page, compact or compress differently, so it prepares afresh instead of serving these.
RELEASE = f"{__version__}/{protocol.PROTOCOL}"
PREPARE_EVERY = 10.0  # seconds between two looks for codes waiting
REFRESH_AFTER = timedelta(minutes=1)  # made again at most this often while the scope changes
KEEP_FOR = timedelta(hours=1)  # kept this long once no code waits (the device primes now)
# A stream stops at STREAM_BYTES and the device asks again from its cursor, which a
# preparation does not serve: it stops short of that, so it is always sent whole.
MOST = protocol.STREAM_BYTES - 2 * protocol.PAGE_BYTES
NOBODY = "priming"  # the credential a preparation is read as: none (no device wrote it)


@dataclass(frozen=True)
class Prepared:
    cursor: int  # the pages hold every change in scope up to here
    body: bytes  # the frames, their last one ending its zstd frame and saying "more"
    pages: int = 0


def ready(hq: HQ, p: Principal, req: wire_models.SyncRequest, coding: str) -> Prepared | None:
    """The prepared priming this request may be answered with, if it is a priming's."""
    like_priming = (
        coding == protocol.ZSTD
        and req.v >= 2
        and req.stream
        and req.cursor == 0
        and not req.ops
        and req.check is None
        and req.max_bytes is None
        and req.limit == protocol.MAX_PAGE  # what a device of this release asks to prime
        and (req.page_bytes or protocol.PAGE_BYTES) == protocol.PAGE_BYTES
        and p.role == "technician"
    )
    if not like_priming:
        return None
    P = schema.primings.c
    with hq.engine.connect() as conn:
        row = conn.execute(
            select(P.cursor, P.body).where(P.technician_id == p.user_id, P.release == RELEASE)
        ).first()
    return None if row is None else Prepared(int(row.cursor), bytes(row.body))


def prepare(hq: HQ, technician_id: str, now: datetime | None = None) -> Prepared | None:
    """Make and keep the technician's first sync as it is now (None: not an active
    technician). `now`: the time it is kept as made at."""
    U = schema.users.c
    with hq.engine.connect() as conn:
        user = conn.execute(
            select(U.id, U.name, U.role, U.team, U.active).where(U.id == technician_id)
        ).first()
    if user is None or user.role != "technician" or not user.active:
        return None
    p = Principal(user.id, user.name, user.role, user.team, None, NOBODY)
    writer = protocol.FrameWriter(protocol.ZSTD)
    body, held, count = bytearray(), None, 0
    for page in pages(
        hq,
        p,
        0,
        limit=protocol.MAX_PAGE,
        max_bytes=protocol.PAGE_BYTES,
        device_id=None,
        compact=True,
    ):
        if held is not None:  # a page goes once the next shows it was not the last
            body += writer.frame(held, bulk=True) or b""
            count += 1
        held = page
        if len(body) >= MOST:
            break
    if held is None:
        return None
    # The live stream goes on after the last page, which therefore always says "more".
    body += writer.frame({**held, "more": True}, bulk=True, last=True) or b""
    prepared = Prepared(int(held["cursor"]), bytes(body), count + 1)
    with hq.tx() as conn:
        conn.execute(delete(schema.primings).where(schema.primings.c.technician_id == user.id))
        conn.execute(
            insert(schema.primings).values(
                technician_id=user.id,
                release=RELEASE,
                cursor=prepared.cursor,
                pages=prepared.pages,
                built_at=_iso(now or datetime.now(UTC)),
                body=prepared.body,
            )
        )
    return prepared


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def waiting(hq: HQ, now: datetime) -> list[str]:
    """Active technicians with an enrollment code issued and not yet spent, withdrawn or
    expired: a new device of theirs is coming."""
    C, U = schema.credentials.c, schema.users.c
    with hq.engine.connect() as conn:
        return list(
            conn.execute(
                select(U.id)
                .distinct()
                .join_from(schema.credentials, schema.users, C.user_id == U.id)
                .where(
                    C.kind == "enrollment",
                    C.used_at.is_(None),
                    C.revoked_at.is_(None),
                    C.expires_at > _iso(now),
                    U.role == "technician",
                    U.active.is_(True),
                )
                .order_by(U.id)
            ).scalars()
        )


def prepare_due(hq: HQ, now: datetime | None = None) -> list[str]:
    """Prepare the first sync of each technician whose code waits, where it is missing,
    of another release, or (at most once a REFRESH_AFTER) behind their scope; forget the
    ones no code waits for any more after KEEP_FOR. The technicians prepared."""
    now = now or datetime.now(UTC)
    due = waiting(hq, now)
    P = schema.primings.c
    with hq.engine.connect() as conn:
        kept: dict[str, Any] = {
            r.technician_id: r
            for r in conn.execute(select(P.technician_id, P.release, P.cursor, P.built_at))
        }
    done = []
    for tech in due:
        have = kept.get(tech)
        if (
            have is not None
            and have.release == RELEASE
            and (have.built_at > _iso(now - REFRESH_AFTER) or not _behind(hq, tech, have.cursor))
        ):
            continue
        if prepare(hq, tech, now) is not None:
            done.append(tech)
    stale = [
        t
        for t, r in kept.items()
        if t not in done
        and (r.release != RELEASE or (t not in due and r.built_at < _iso(now - KEEP_FOR)))
    ]
    if stale:
        with hq.tx() as conn:
            conn.execute(delete(schema.primings).where(P.technician_id.in_(stale)))
    return done


def _behind(hq: HQ, technician_id: str, cursor: int) -> bool:
    """Whether anything in the technician's scope changed past `cursor`."""
    p = Principal(technician_id, "", "technician", None, None, NOBODY)
    with hq.snapshot() as conn:
        return changed_in_scope(conn, p, None, cursor, ORDER)


class Preparer:
    """prepare_due on a thread of the serving HQ, every PREPARE_EVERY seconds."""

    def __init__(self, hq: HQ, every: float = PREPARE_EVERY):
        self.hq = hq
        self.every = every
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hq-priming", daemon=True)

    def start(self) -> Preparer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                prepare_due(self.hq)
            except Exception:  # a failed look must not end the thread; the next may do
                log.exception("preparing first syncs failed; trying again in %g s", self.every)
            self._stop.wait(self.every)

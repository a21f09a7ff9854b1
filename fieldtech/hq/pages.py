"""A stream's pages: the changes past a cursor, page after page, each read in its own
snapshot (fieldtech.hq.pull), for a live answer (fieldtech.hq.stream) and for a prepared
priming (fieldtech.hq.priming) alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.pull import ReadAhead, pull
from fieldtech.sync import protocol, wire_models


def pages(
    hq: HQ,
    p: Principal,
    cursor: int,
    *,
    limit: int,
    max_bytes: int | None,
    device_id: str | None,
    compact: bool,
) -> Iterator[dict[str, Any]]:
    """Pages from `cursor` on, each read in its own snapshot, until one says there is no
    more; the caller stops earlier at its own cap. One stream carries each row once, as it
    is (pull's `carried`), and reads each table on from where it had read it (`ahead`)."""
    carried: dict[tuple[str, Any], bytes] = {}
    ahead: ReadAhead = {}
    first = cursor
    while True:
        # Urgent jobs jump the queue once a stream, in its first page, not again in each.
        page = pull(
            hq,
            p,
            cursor,
            limit,
            device_id=device_id,
            max_bytes=max_bytes,
            urgent=cursor == first,
            carried=carried,
            compact=compact,
            ahead=ahead,
        )
        yield page
        if not page["more"] or page["cursor"] == cursor:
            return
        cursor = page["cursor"]


def page_bytes(req: wire_models.SyncRequest) -> int | None:
    """JSON bytes of changes a page holds at most (version 1: a page is bounded by rows)."""
    return (req.page_bytes or protocol.PAGE_BYTES) if req.v >= 2 else None

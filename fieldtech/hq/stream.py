"""A streamed sync answer: the push's outcome, then pages of changes as frames
(fieldtech.sync.protocol), from a prepared priming where one is ready (fieldtech.hq.priming)
and live from HQ's tables after it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fieldtech.hq import priming
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.pages import page_bytes, pages
from fieldtech.sync import protocol, wire_models

log = logging.getLogger("fieldtech.hq")


def frames(
    hq: HQ, p: Principal, req: wire_models.SyncRequest, outcome: dict[str, Any], coding: str
) -> Iterator[bytes]:
    """The push's outcome, then pages until there are no more or the stream has carried
    about STREAM_BYTES (the device asks again)."""
    writer = protocol.FrameWriter(coding)
    cursor, sent = req.cursor, 0
    # With nothing pushed there is nothing to settle early: HQ's clock rides on the first
    # page (a routine sync with nothing to do is then one small frame).
    alone = bool(req.ops) or req.check is not None
    ready = None if alone else priming.ready(hq, p, req, coding)
    if alone or ready is not None:
        first = writer.frame(outcome, last=ready is not None)
        assert first is not None  # no `within`: always a frame
        yield first
        sent, alone = len(first), True
    if ready is not None:
        log.info("first sync of %s streamed from its preparation", p.user_id)
        # The prepared pages, then what changed since they were made, by a writer of its own.
        yield ready.body
        sent += len(ready.body)
        cursor, writer = ready.cursor, protocol.FrameWriter(coding)
    cap = protocol.STREAM_BYTES if req.max_bytes is None else req.max_bytes
    # Rows this device wrote are not echoed back, unless its file was rebuilt and lost them.
    device = None if req.rebuild else p.device_id
    for page in pages(
        hq,
        p,
        cursor,
        limit=req.limit,
        max_bytes=page_bytes(req),
        device_id=device,
        compact=coding == protocol.ZSTD,  # a device of this release: code hashes go compact
    ):
        if not alone:
            page, alone = {"clock": outcome["clock"], **page}, True
        within = None if req.max_bytes is None else req.max_bytes - sent
        data = writer.frame(page, within=within, bulk=page["more"])
        if data is None:
            # The device's budget ends before this page: say there is more, send none.
            yield writer.frame({"changes": {}, "cursor": cursor, "more": True}) or b""
            return
        sent += len(data)
        yield data
        if sent >= cap:
            return
        cursor = page["cursor"]

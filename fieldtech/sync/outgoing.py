"""What goes up next: the outbox's operations as one request, chosen by size and by what
is left of a byte budget, in the fixed order of fieldtech.domain.sending.

Kept apart from the client so a screen can show what fits and what waits from its own
connection to the device file, without a link or a credential.
"""

from __future__ import annotations

import json
from typing import Any

from fieldtech.domain import sending
from fieldtech.domain.hlc import node_of
from fieldtech.services import Device
from fieldtech.sync import protocol

JSON_PER_WIRE_BYTE = 3.0  # operations' JSON shrinks about this much gzip'd (first guess)


def request_body(
    device: Device,
    ops: list[dict[str, Any]],
    *,
    page: int = protocol.DEFAULT_PAGE,
    page_bytes: int = protocol.PAGE_BYTES,
) -> dict[str, Any]:
    """The sync request that carries `ops` from this device."""
    store = device.store
    cursor = store.pull_cursor()
    node = node_of(device.device_id)
    body: dict[str, Any] = {
        "v": protocol.PROTOCOL,
        "node": node,  # HQ refuses a credential copied here from another device
        "cursor": cursor,
        "stream": True,
        "clock": device.clock.last,
    }
    if ops:
        body["ops"] = [protocol.to_wire(o, node) for o in ops]
    # HQ's defaults are left out, and the device's id (its credential names it; `node`
    # checks it): a sync with nothing to do should cost next to nothing. A first sync
    # primes from a few large pages.
    limit = protocol.MAX_PAGE if cursor == 0 else page
    if limit != protocol.DEFAULT_PAGE:
        body["limit"] = limit
    if page_bytes != protocol.PAGE_BYTES:
        body["page_bytes"] = page_bytes
    if store.rebuild_pending():
        body["rebuild"] = True  # a rebuilt file: send this device's own rows back too
    return body


def waiting(device: Device, limit: int) -> tuple[list[dict[str, Any]], list[sending.Waiting]]:
    """The pending operations in the order they were made, and each as sending weighs it."""
    node = node_of(device.device_id)
    ops = sorted(device.store.outbox("pending", limit=limit), key=lambda o: o["id"])
    return ops, [
        sending.Waiting(
            o["op"],
            o["entity_id"],
            o["payload"],
            int(o["priority"]),
            len(json.dumps(protocol.to_wire(o, node), separators=(",", ":"))),
        )
        for o in ops
    ]


def next_batch(
    device: Device,
    *,
    limit: int,
    batch_bytes: int,
    left: int | None,
    page: int = protocol.DEFAULT_PAGE,
    page_bytes: int = protocol.PAGE_BYTES,
) -> list[dict[str, Any]]:
    """The next operations to go, in the order they were made: up to `limit` of them and
    about `batch_bytes` of JSON (a routine week goes in one request, a batch lost on the
    way costs a bounded resend), and within `left` bytes of budget (None: no budget); what
    goes first when not all fit is fixed (fieldtech.domain.sending)."""
    ops, weighed = waiting(device, limit)
    return _fitting(device, ops, weighed, batch_bytes, left, page, page_bytes)


def _fitting(
    device: Device,
    ops: list[dict[str, Any]],
    weighed: list[sending.Waiting],
    batch_bytes: int,
    left: int | None,
    page: int = protocol.DEFAULT_PAGE,
    page_bytes: int = protocol.PAGE_BYTES,
) -> list[dict[str, Any]]:
    room = batch_bytes
    for _ in range(6):
        if left is not None:
            room = min(room, int(left * JSON_PER_WIRE_BYTE))
        chosen = [ops[i] for i in sending.choose(weighed, room)]
        if left is None or not chosen:
            return chosen
        body = request_body(device, chosen, page=page, page_bytes=page_bytes)
        size = len(protocol.encode(body))
        if size <= left:
            return chosen
        room = int(room * left / size * 0.9)  # the guess was off: aim lower
    return []


def plan(
    device: Device,
    *,
    budget: int | None,
    limit: int = protocol.MAX_OPS,
    batch_bytes: int = protocol.BATCH_BYTES,
) -> dict[str, Any]:
    """What the next sync would send and what would wait, counted by class of change (for
    `sync --dry-run` and the sync screen). Without a budget everything goes."""
    ops, weighed = waiting(device, limit)
    batch = ops if budget is None else _fitting(device, ops, weighed, batch_bytes, budget)
    going = {o["id"] for o in batch}
    fits: dict[str, int] = {}
    waits: dict[str, int] = {}
    for o, w in zip(ops, weighed, strict=True):
        into = fits if o["id"] in going else waits
        name = sending.CLASSES[sending.rank(w)]
        into[name] = into.get(name, 0) + 1
    return {"fits": fits, "waits": waits, "budget": budget}

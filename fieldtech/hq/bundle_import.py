"""A device's bundle, carried to HQ by anyone: checked, applied as a sync, answered.

HQ trusts the signature, not the carrier: the bundle must be signed with the key HQ keeps
for the device it names, whose credential is not revoked, and then its operations are
applied exactly as a sync's are (fieldtech.hq.push: each once, however often the bundle is
imported, late or after a newer sync). The reply, signed by HQ, holds the push's outcome
and the changes in the device's scope since the cursor the bundle was made at, up to
REPLY_BYTES of them; the rest comes with the next reply or sync.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from fieldtech.domain.hlc import node_of
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.pages import pages
from fieldtech.hq.push import push_request
from fieldtech.hq.signing import BOX, KEY, hq_key
from fieldtech.sync import bundles, protocol, wire_models
from fieldtech.sync.bundles import BadBundle

log = logging.getLogger("fieldtech.hq")

REPLY_BYTES = protocol.STREAM_BYTES  # JSON of changes a reply carries at most (about)


@dataclass(frozen=True)
class Imported:
    device: str
    user: str  # whose operations they were
    operations: int
    rejected: int
    pages: int
    more: bool  # changes are left for the next reply or sync
    reply: bytes


def import_bundle(hq: HQ, data: bytes, carrier: str = "a file") -> Imported:
    """Apply a device's bundle and write its reply (BadBundle, and nothing applied, for a
    bundle that is not whole, not signed by its device's key, or not a device's)."""
    try:
        return _import(hq, data, carrier)
    except BadBundle as exc:
        log.warning("bundle refused (from %s): %s", carrier, exc.message)
        raise


def _import(hq: HQ, data: bytes, carrier: str) -> Imported:
    bundle = bundles.read(data)
    if bundle.kind != bundles.OUTGOING:
        raise BadBundle("this is HQ's reply to a device: import it on that device")
    device = bundle.manifest["device"]
    p, public, box = _device(hq, device)
    bundles.verify(bundle, public, f"device {device}")
    req = _request(bundle.body(hq_key(hq, BOX)[0]), device)
    outcome = push_request(hq, p, req)
    changes, cursor, more = _changes(hq, p, req.cursor)
    reply_manifest = {
        "kind": bundles.REPLY,
        "device": device,
        "answers": bundle.manifest["payload"],  # the bundle this replies to
        "from_cursor": req.cursor,
        "cursor": cursor,
        "more": more,
        "operations": len(req.ops),
        "made_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body = {"outcome": {**outcome, "sent": [o.i for o in req.ops]}, "pages": changes}
    reply = bundles.pack(reply_manifest, body, hq_key(hq, KEY)[0], box)
    rejected = len(outcome.get("rejected") or [])
    log.info(
        "bundle of device %s (%s) imported from %s: %d operations, %d refused; reply of %d pages%s",
        device,
        p.user_id,
        carrier,
        len(req.ops),
        rejected,
        len(changes),
        ", more to come" if more else "",
    )
    return Imported(device, p.user_id, len(req.ops), rejected, len(changes), more, reply)


def _device(hq: HQ, device: str) -> tuple[Principal, str, str]:
    """Who the device's operations are applied as, the key its bundles are signed with, and
    the one its replies are sealed to."""
    C, U = schema.credentials.c, schema.users.c
    with hq.engine.connect() as conn:
        rows = conn.execute(
            select(C.id, C.revoked_at, C.public_key, C.box_key, U.id.label("user_id"), U.name)
            .add_columns(U.role)
            .add_columns(U.team, U.active)
            .join_from(schema.credentials, schema.users, C.user_id == U.id)
            .where(C.kind == "device", C.device_id == device)
            .order_by(C.created_at.desc())
        ).all()
    live = [r for r in rows if r.revoked_at is None]
    if not rows:
        raise BadBundle(f"HQ knows no device {device}: nothing applied")
    if not live:
        raise BadBundle(f"device {device} was revoked at HQ: nothing applied")
    row = live[0]
    if not row.active:
        raise BadBundle(f"the user of device {device} is deactivated at HQ: nothing applied")
    if not row.public_key or not row.box_key:
        raise BadBundle(
            f"HQ holds no key for device {device} yet (it sends one at its next sync): "
            "nothing applied"
        )
    p = Principal(row.user_id, row.name, row.role, row.team, device, row.id)
    return p, str(row.public_key), str(row.box_key)


def _request(body: Any, device: str) -> wire_models.SyncRequest:
    """The bundle's sync body, checked as /v1/sync checks one."""
    if not isinstance(body, dict):
        raise BadBundle("the bundle's contents are not a device's operations")
    try:
        req = wire_models.SyncRequest.model_validate({**body, "stream": False})
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(x) for x in e.get("loc", ()))
        what = str(e["msg"]).removeprefix("Value error, ")
        raise BadBundle(f"the bundle's operations are malformed: {where}: {what}") from None
    if req.v < 2 or req.check is not None:
        raise BadBundle("the bundle's contents are not a device's operations")
    if req.device not in (None, device) or req.node not in (None, node_of(device)):
        raise BadBundle("the bundle's operations name another device than its signature")
    req.device = device
    return req


def _changes(hq: HQ, p: Principal, cursor: int) -> tuple[list[dict[str, Any]], int, bool]:
    """Pages of changes in p's scope since `cursor`, up to REPLY_BYTES of JSON: the pages,
    the cursor they reach, and whether more are left."""
    out: list[dict[str, Any]] = []
    size, at, more = 0, cursor, False
    for page in pages(
        hq,
        p,
        cursor,
        limit=protocol.MAX_PAGE,
        max_bytes=protocol.PAGE_BYTES,
        device_id=p.device_id,  # the device's own writes are not sent back (as a sync)
        compact=False,
    ):
        out.append(page)
        size += len(json.dumps(page, separators=(",", ":")))
        at, more = int(page["cursor"]), bool(page["more"])
        if more and size >= REPLY_BYTES:
            break
    return out, at, more

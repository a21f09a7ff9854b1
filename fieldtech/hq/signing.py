"""HQ's own signing key (Ed25519): the replies it writes to bundles are signed with it, and a
device is given its public half at enrollment (or at its next sync), so a reply carried back
by anyone is known to be HQ's. Kept in HQ's database, made once, the same for every HQ
process serving it."""

from __future__ import annotations

from sqlalchemy import select

from fieldtech.hq import schema
from fieldtech.hq.auth import now_iso
from fieldtech.hq.db import HQ
from fieldtech.hq.rows import insert_absent
from fieldtech.sync import bundles

KEY = "bundles"  # Ed25519: signs HQ's replies
BOX = "box"  # X25519: opens what devices seal to HQ


def hq_key(hq: HQ, which: str = KEY) -> tuple[str, str]:
    """(private, public) of one of HQ's keys, made at first use."""
    K = schema.hq_keys.c
    with hq.engine.connect() as conn:
        row = conn.execute(select(K.private, K.public).where(K.id == which)).first()
    if row is None:
        private, public = bundles.new_key() if which == KEY else bundles.new_box_key()
        with hq.tx() as conn:  # two processes at once: the first one's key is the key
            insert_absent(
                conn,
                schema.hq_keys,
                {"id": which, "private": private, "public": public, "created_at": now_iso()},
            )
        with hq.engine.connect() as conn:
            row = conn.execute(select(K.private, K.public).where(K.id == which)).one()
    return str(row.private), str(row.public)


def public_keys(hq: HQ) -> dict[str, str]:
    """What a device is told of HQ's keys (at enrollment, and when it offers its own)."""
    return {"hq_key": hq_key(hq, KEY)[1], "hq_box_key": hq_key(hq, BOX)[1]}

"""Users, enrollment codes and device credentials. HQ keeps only hashes of secrets."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from fieldtech.domain.errors import BadInput, FieldtechError, NotFound, RuleBroken
from fieldtech.domain.ids import new_id
from fieldtech.hq import schema
from fieldtech.hq.db import HQ, Seq

ROLES = ("technician", "supervisor", "admin")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
ENROLL_DAYS = 7


class Unauthorized(FieldtechError):
    pass


class Forbidden(FieldtechError):
    pass


@dataclass(frozen=True)
class Principal:
    user_id: str
    name: str
    role: str
    team: str | None
    device_id: str | None
    credential_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def digest(secret: str) -> str:
    # Secrets are random (≥ 60 bits for codes, 256 for tokens): a fast hash is enough.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return "ft_" + secrets.token_urlsafe(32)


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def normalise_code(code: str) -> str:
    raw = re.sub(r"[^A-Za-z0-9]", "", code or "").upper()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def check_user_fields(name: str, role: str, team: str | None) -> None:
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name or not name.strip() or len(name) > 200:
        raise BadInput("a user needs a name (at most 200 characters)")
    if role in ("technician", "supervisor") and not (team and team.strip()):
        raise BadInput(f"a {role} belongs to a team: give --team")


def add_user(
    hq: HQ, *, name: str, role: str, team: str | None = None, user_id: str | None = None
) -> tuple[dict[str, Any], str]:
    """Create a user; returns the user and a one-time enrollment code (shown once)."""
    check_user_fields(name, role, team)
    uid = user_id or slug(name)
    with hq.tx() as conn:
        if conn.execute(select(schema.users.c.id).where(schema.users.c.id == uid)).first():
            uid = f"{uid}-{secrets.token_hex(2)}"
        user = {
            "id": uid,
            "name": name.strip(),
            "role": role,
            "team": team.strip() if team else None,
            "active": True,
            "created_at": now_iso(),
        }
        conn.execute(schema.users.insert().values(**user, seq=Seq(conn)()))
        code = _enrollment(conn, uid)
    return user, code


def slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s[:40] or "user"


def _enrollment(conn: Connection, user_id: str) -> str:
    code = new_code()
    conn.execute(
        schema.credentials.insert().values(
            id=new_id(),
            user_id=user_id,
            kind="enrollment",
            secret_hash=digest(code),
            created_at=now_iso(),
            expires_at=(datetime.now(UTC) + timedelta(days=ENROLL_DAYS)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        )
    )
    return code


def new_enrollment(hq: HQ, user_id: str) -> str:
    with hq.tx() as conn:
        user = conn.execute(select(schema.users).where(schema.users.c.id == user_id)).first()
        if user is None:
            raise NotFound(f"no user {user_id!r}")
        return _enrollment(conn, user_id)


def admin_token(hq: HQ, user_id: str, label: str = "admin console") -> str:
    token = new_token()
    with hq.tx() as conn:
        conn.execute(
            schema.credentials.insert().values(
                id=new_id(),
                user_id=user_id,
                kind="admin",
                secret_hash=digest(token),
                device_name=label,
                created_at=now_iso(),
            )
        )
    return token


def enroll(
    hq: HQ,
    code: str,
    device_id: str,
    device_name: str | None,
    keys: tuple[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """Exchange a one-time code for a device credential. Returns (user, token).

    Idempotent for the device that spent the code: when HQ's answer was lost, the same code
    from the same device id is answered again with a fresh token for the same credential
    (HQ keeps only hashes, so the lost token cannot be sent again: it is replaced, and is
    worthless from then on). Only while that credential has never been used: after its
    first sync the answer plainly arrived. Any other device is refused a spent code.
    `keys`: the public halves of the device's own keys, which sign its bundles and open
    HQ's replies to them (fieldtech.sync.bundles)."""
    if not device_id or len(device_id) > 64:
        raise BadInput("enrollment needs the device id")
    with hq.tx() as conn:
        enrollment = _valid_enrollment(conn, code)
        user = (
            conn.execute(select(schema.users).where(schema.users.c.id == enrollment["user_id"]))
            .mappings()
            .one()
        )
        if not user["active"]:
            raise Unauthorized("this user has been deactivated at HQ")
        token = new_token()
        if enrollment["used_at"]:
            _answer_again(conn, enrollment, device_id, device_name, token)
        else:
            _spend(conn, enrollment, user["id"], device_id, device_name, token)
        if keys is not None:
            c = schema.credentials.c
            conn.execute(
                update(schema.credentials)
                .where(c.secret_hash == digest(token))
                .values(public_key=keys[0], box_key=keys[1])
            )
    return dict(user), token


def keep_device_key(hq: HQ, p: Principal, public_key: str, box_key: str) -> None:
    """Keep the key a device offers (an enrolled device of an earlier release, which had
    none): the first one only. Another is refused: a stolen token must not swap the key
    that HQ checks the device's bundles with; enrolling again gives the device a new one."""
    c = schema.credentials.c
    with hq.tx() as conn:
        have = conn.execute(select(c.public_key, c.box_key).where(c.id == p.credential_id)).first()
        if have is None or have.public_key is None:
            conn.execute(
                update(schema.credentials)
                .where(c.id == p.credential_id, c.public_key.is_(None))
                .values(public_key=public_key, box_key=box_key)
            )
        elif (have.public_key, have.box_key) != (public_key, box_key):
            raise RuleBroken(
                "this device already has another key at HQ: enroll it again to change it"
            )


NOT_VALID = "that enrollment code is not valid (used, revoked or mistyped)"


def _valid_enrollment(conn: Connection, code: str) -> RowMapping:
    """The enrollment this code is, unless it is unknown, revoked or expired."""
    c = schema.credentials.c
    row = (
        conn.execute(
            select(schema.credentials).where(
                c.secret_hash == digest(normalise_code(code)), c.kind == "enrollment"
            )
        )
        .mappings()
        .first()
    )
    if row is None or row["revoked_at"]:
        raise Unauthorized(NOT_VALID)
    if row["expires_at"] and row["expires_at"] < now_iso():
        raise Unauthorized("that enrollment code has expired; ask HQ for a new one")
    return row


def _answer_again(
    conn: Connection,
    enrollment: RowMapping,
    device_id: str,
    device_name: str | None,
    token: str,
) -> None:
    """A spent code from the device that spent it, its answer lost: the credential it got,
    never used since, takes the new token."""
    issued = _unused_credential(conn, enrollment, device_id)
    if issued is None:
        raise Unauthorized(NOT_VALID)
    c = schema.credentials.c
    conn.execute(
        update(schema.credentials)
        .where(c.id == issued)
        .values(secret_hash=digest(token), device_name=_name(device_name))
    )


def _spend(
    conn: Connection,
    enrollment: RowMapping,
    user_id: str,
    device_id: str,
    device_name: str | None,
    token: str,
) -> None:
    """The code's first use: spent by this device, which gets its own credential."""
    c = schema.credentials.c
    conn.execute(
        update(schema.credentials)
        .where(c.id == enrollment["id"])
        .values(used_at=now_iso(), device_id=device_id)
    )
    conn.execute(
        schema.credentials.insert().values(
            id=new_id(),
            user_id=user_id,
            kind="device",
            secret_hash=digest(token),
            device_id=device_id,
            device_name=_name(device_name),
            created_at=now_iso(),
            enrollment_id=enrollment["id"],
        )
    )


def _name(device_name: str | None) -> str | None:
    return (device_name or "")[:200] or None


def _unused_credential(conn: Connection, enrollment: RowMapping, device_id: str) -> str | None:
    """The credential a spent code gave this very device, if it was never used."""
    if enrollment["device_id"] != device_id:
        return None
    c = schema.credentials.c
    found = conn.execute(
        select(c.id).where(
            c.enrollment_id == enrollment["id"],
            c.kind == "device",
            c.device_id == device_id,
            c.revoked_at.is_(None),
            c.last_seen.is_(None),
        )
    ).first()
    return found[0] if found else None


def authenticate(hq: HQ, token: str | None) -> Principal:
    if not token:
        raise Unauthorized("no credential: enroll this device first")
    c = schema.credentials.c
    u = schema.users.c
    with hq.engine.connect() as conn:
        row = (
            conn.execute(
                select(
                    c.id,
                    c.kind,
                    c.device_id,
                    c.revoked_at,
                    u.id.label("user_id"),
                    u.name,
                    u.role,
                    u.team,
                    u.active,
                )
                .join_from(schema.credentials, schema.users, c.user_id == u.id)
                .where(c.secret_hash == digest(token), c.kind.in_(("device", "admin")))
            )
            .mappings()
            .first()
        )
    if row is None:
        raise Unauthorized("credential not recognised: enroll this device again")
    if row["revoked_at"]:
        raise Unauthorized("this device's credential was revoked at HQ: enroll it again")
    if not row["active"]:
        raise Unauthorized("this user has been deactivated at HQ")
    return Principal(
        row["user_id"], row["name"], row["role"], row["team"], row["device_id"], row["id"]
    )


def revoke(hq: HQ, credential_or_device_id: str) -> int:
    c = schema.credentials.c
    with hq.tx() as conn:
        res = conn.execute(
            update(schema.credentials)
            .where((c.id == credential_or_device_id) | (c.device_id == credential_or_device_id))
            .where(c.revoked_at.is_(None))
            .values(revoked_at=now_iso())
        )
    if res.rowcount == 0:
        raise NotFound(f"no active credential or device {credential_or_device_id!r}")
    return res.rowcount


def devices(hq: HQ) -> list[dict[str, Any]]:
    c = schema.credentials.c
    with hq.engine.connect() as conn:
        rows = (
            conn.execute(
                select(
                    c.id,
                    c.user_id,
                    c.kind,
                    c.device_id,
                    c.device_name,
                    c.created_at,
                    c.revoked_at,
                    c.last_seen,
                )
                .where(c.kind != "enrollment")
                .order_by(c.created_at)
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


def users(hq: HQ, team: str | None = None) -> list[dict[str, Any]]:
    q = select(schema.users).order_by(schema.users.c.id)
    if team:
        q = q.where(schema.users.c.team == team)
    with hq.engine.connect() as conn:
        return [dict(r) for r in conn.execute(q).mappings().all()]


def touch(hq: HQ, p: Principal) -> None:
    """Remember when a device last synced (for the supervisor's 'last seen')."""
    with hq.tx() as conn:
        conn.execute(
            update(schema.credentials)
            .where(schema.credentials.c.id == p.credential_id)
            .values(last_seen=now_iso())
        )

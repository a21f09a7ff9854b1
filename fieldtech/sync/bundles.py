"""Bundles: a sync carried as a file, for sites with no link at all.

A device writes what its next sync would send into a file (`fieldtech bundle export`);
anyone may carry it to HQ, which applies it as it applies a sync and writes a reply with
what the device's sync would have received. Both are signed (Ed25519): a device's bundle
by the device's own key, whose public half HQ keeps with the device's credential; a reply
by HQ's key, whose public half the device was given at enrollment. Its contents are sealed
to the one who reads them (X25519 with a key of its own for each bundle, then
ChaCha20-Poly1305): a device's to HQ, a reply to its device. The carrier learns only what
the manifest says (whose bundle, how many operations, when, how large) and can change
nothing unnoticed.

The file, in order:
    MAGIC                      9 bytes, "FTBUNDLE1"
    manifest length, manifest  4 bytes big-endian, then JSON (what it is, for whom, counts)
    payload length, payload    4 bytes big-endian, then the sealed contents: a one-time
                               X25519 public key (32 bytes), then gzip'd JSON (the sync
                               body or the reply), encrypted and authenticated
    signature                  64 bytes, Ed25519 over SIGNED + manifest + payload
The manifest names the payload's SHA-256, so a reader can say what a bundle holds before
it has checked the signature, and checks that too.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fieldtech.domain.errors import BadInput
from fieldtech.sync import protocol

MAGIC = b"FTBUNDLE1"
SIGNED = b"fieldtech bundle 1\x00"  # what a signature is over begins so: never another use
FORMAT = 1
OUTGOING = "outgoing"  # a device's operations, for HQ
REPLY = "reply"  # HQ's answer, for one device
MAX_MANIFEST = 64 * 1024
MAX_PAYLOAD = protocol.MAX_BODY  # what HQ takes in one sync, once compressed
SIGNATURE = 64


class BadBundle(BadInput):
    """A bundle that is not whole, not ours, not signed by whom it says, or not for here."""


@dataclass(frozen=True)
class Bundle:
    manifest: dict[str, Any]
    payload: bytes  # gzip'd JSON, as it is in the file
    signature: bytes

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind"))

    def signed_part(self) -> bytes:
        return SIGNED + _manifest_bytes(self.manifest) + self.payload

    def body(self, box_private: str) -> Any:
        """The payload's JSON, opened with the reader's box key and inflated with a ceiling."""
        plain = _open(self.payload, box_private)
        try:
            return json.loads(protocol.inflate(plain))
        except protocol.TooLargeInflated:
            raise BadBundle("the bundle's contents are larger than HQ accepts") from None
        except (ValueError, OSError, EOFError):
            raise BadBundle("the bundle's contents are damaged") from None


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def new_box_key() -> tuple[str, str]:
    """A fresh X25519 key pair, which bundles for its holder are sealed to: (private,
    public), each its raw bytes in base64url."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    key = X25519PrivateKey.generate()
    return _b64(key.private_bytes_raw()), _b64(key.public_key().public_bytes_raw())


def box_public_of(private: str) -> str:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    key = X25519PrivateKey.from_private_bytes(_unb64(private))
    return _b64(key.public_key().public_bytes_raw())


def _seal(plain: bytes, to_public: str) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    one_time = X25519PrivateKey.generate()
    them = X25519PublicKey.from_public_bytes(_unb64(to_public))
    mine = one_time.public_key().public_bytes_raw()
    key = _box(one_time.exchange(them), mine, _unb64(to_public))
    return mine + ChaCha20Poly1305(key).encrypt(NONCE, plain, None)


def _open(sealed: bytes, box_private: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    if len(sealed) < 32 + 16:
        raise BadBundle("the bundle's contents are damaged")
    me = X25519PrivateKey.from_private_bytes(_unb64(box_private))
    theirs = sealed[:32]
    try:
        key = _box(me.exchange(X25519PublicKey.from_public_bytes(theirs)), theirs, _mine(me))
        return ChaCha20Poly1305(key).decrypt(NONCE, sealed[32:], None)
    except (InvalidTag, ValueError):
        raise BadBundle("the bundle is sealed for someone else, or damaged") from None


def _mine(me: Any) -> bytes:
    return bytes(me.public_key().public_bytes_raw())


def _box(shared: bytes, one_time: bytes, recipient: bytes) -> bytes:
    """The bundle's own key: its one-time key is new for each bundle, so a fixed nonce is
    never used twice with it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    info = SIGNED + one_time + recipient
    return bytes(HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(shared))


NONCE = bytes(12)


def new_key() -> tuple[str, str]:
    """A fresh Ed25519 key pair: (private, public), each its raw bytes in base64url."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _b64(private), _b64(public)


def public_of(private: str) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = _private(private)
    return _b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def check_public(public: str) -> str:
    """`public` if it is an Ed25519 public key in base64url (BadInput if not)."""
    try:
        raw = _unb64(public)
    except ValueError:
        raise BadInput("a device key must be 32 bytes in base64url") from None
    if len(raw) != 32:
        raise BadInput("a device key must be 32 bytes in base64url")
    return public


def pack(manifest: dict[str, Any], body: Any, private: str, to_box: str) -> bytes:
    """The bundle file for `manifest` and `body`: the body sealed to the reader's box key
    `to_box`, the whole signed with the writer's `private` key."""
    plain = gzip.compress(json.dumps(body, separators=(",", ":")).encode(), 9, mtime=0)
    payload = _seal(plain, to_box)
    if len(payload) > MAX_PAYLOAD:
        raise BadInput(
            f"a bundle may hold {MAX_PAYLOAD // (1024 * 1024)} MB compressed; this one is "
            f"{len(payload) / (1024 * 1024):.1f} MB"
        )
    manifest = {
        **manifest,
        "format": FORMAT,
        "payload": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
    }
    head = _manifest_bytes(manifest)
    signature: bytes = _private(private).sign(SIGNED + head + payload)
    return (
        b"".join(
            (MAGIC, len(head).to_bytes(4, "big"), head, len(payload).to_bytes(4, "big"), payload)
        )
        + signature
    )


def read(data: bytes) -> Bundle:
    """The bundle in `data`, checked to be whole and self-consistent (not yet who signed it:
    `verify`)."""
    if not data.startswith(MAGIC):
        raise BadBundle("this file is not a fieldtech bundle")
    at = len(MAGIC)
    head, at = _part(data, at, MAX_MANIFEST, "description")
    payload, at = _part(data, at, MAX_PAYLOAD, "contents")
    signature = data[at:]
    if len(signature) != SIGNATURE:
        raise BadBundle("the bundle is cut short or has bytes past its end")
    try:
        manifest = json.loads(head)
    except ValueError:
        raise BadBundle("the bundle's description is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadBundle("the bundle is of another format than this release reads")
    if manifest.get("kind") not in (OUTGOING, REPLY) or not isinstance(manifest.get("device"), str):
        raise BadBundle("the bundle's description is damaged")
    if hashlib.sha256(payload).hexdigest() != manifest.get("payload"):
        raise BadBundle("the bundle's contents were changed after it was signed")
    if _manifest_bytes(manifest) != head:
        raise BadBundle("the bundle's description was changed after it was signed")
    return Bundle(manifest, payload, signature)


def verify(bundle: Bundle, public: str, whose: str) -> None:
    """That `bundle` was signed with the private half of `public` (`whose`: in the message)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(_unb64(public)).verify(
            bundle.signature, bundle.signed_part()
        )
    except (InvalidSignature, ValueError):
        raise BadBundle(f"the bundle's signature is not {whose}'s") from None


def _part(data: bytes, at: int, most: int, what: str) -> tuple[bytes, int]:
    if len(data) < at + 4:
        raise BadBundle("the bundle is cut short")
    size = int.from_bytes(data[at : at + 4], "big")
    if size > most:
        raise BadBundle(f"the bundle's {what} is larger than a bundle may be")
    end = at + 4 + size
    if len(data) < end:
        raise BadBundle("the bundle is cut short")
    return data[at + 4 : end], end


def _private(private: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(_unb64(private))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise ValueError("not base64url") from None

"""This device's own keys, which sign the bundles it writes for HQ (Ed25519) and open the
replies sealed to it (X25519) (fieldtech.sync.bundles), and HQ's public keys, which its
replies are checked against and this device's bundles are sealed to.

Both live in the credential file, readable by its owner only, beside the token. A device
makes its key at enrollment and sends the public half with the code; a device enrolled
before keys existed makes one at its next sync and offers it then (`offer`). HQ keeps the
first key a device offers; revoking the device's credential revokes the key with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldtech.sync import bundles, credentials

DEVICE_KEY = "device_key"  # this device's private signing key
DEVICE_BOX = "device_box_key"  # this device's private key that replies are sealed to
HQ_KEY = "hq_key"  # HQ's public signing key
HQ_BOX = "hq_box_key"  # HQ's public key that bundles for HQ are sealed to
KEY_AT_HQ = "key_at_hq"  # HQ said it holds this device's public key
KEY_PATH = "/v1/devices/key"


def with_key(cred: dict[str, Any]) -> dict[str, Any]:
    """The credential with the device's keys in it (made now if it had none)."""
    if not cred.get(DEVICE_KEY) or not cred.get(DEVICE_BOX):
        signing, _ = bundles.new_key()
        box, _ = bundles.new_box_key()
        cred = {**cred, DEVICE_KEY: signing, DEVICE_BOX: box, KEY_AT_HQ: False}
    return cred


def public(cred: dict[str, Any]) -> str:
    return bundles.public_of(str(cred[DEVICE_KEY]))


def box_public(cred: dict[str, Any]) -> str:
    return bundles.box_public_of(str(cred[DEVICE_BOX]))


def offered(cred: dict[str, Any]) -> dict[str, str]:
    """The public halves, as HQ is told them (at enrollment, or by `offer`)."""
    return {"public_key": public(cred), "box_key": box_public(cred)}


def held(cred: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The credential once HQ answered with its own public keys (an HQ of an earlier
    release has none: the device offers its own at a sync)."""
    if not answer.get("hq_key") or not answer.get("hq_box_key"):
        return cred
    return {
        **cred,
        HQ_KEY: answer["hq_key"],
        HQ_BOX: answer["hq_box_key"],
        KEY_AT_HQ: True,
    }


def offer(path: Path, http: Any) -> str | None:
    """Make sure HQ holds this device's public key and the device holds HQ's: one small
    request, once per device. None when done (or already), else why not (the sync goes on
    without it, and the next one tries again)."""
    cred = credentials.load(path)
    if cred.get(KEY_AT_HQ) and cred.get(HQ_KEY) and cred.get(HQ_BOX):
        return None
    cred = with_key(cred)
    credentials.save(path, cred)  # the key is kept before HQ learns of it
    try:
        r = http.put(KEY_PATH, json=offered(cred))
    except Exception as exc:  # any failed link: the next sync offers it again
        return f"HQ was not reached ({type(exc).__name__})"
    if r.status_code != 200:
        try:
            return str(r.json().get("detail") or r.status_code)
        except ValueError:
            return f"HTTP {r.status_code}"
    credentials.save(path, held(cred, r.json()))
    return None

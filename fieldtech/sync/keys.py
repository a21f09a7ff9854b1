"""This device's own key (Ed25519), which signs the bundles it writes for HQ
(fieldtech.sync.bundles), and HQ's public key, which its replies are checked against.

Both live in the credential file, readable by its owner only, beside the token. A device
makes its key at enrollment and sends the public half with the code; a device enrolled
before keys existed makes one at its next sync and offers it then (`offer`). HQ keeps the
first key a device offers; revoking the device's credential revokes the key with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fieldtech.sync import bundles, credentials

DEVICE_KEY = "device_key"  # this device's private key
HQ_KEY = "hq_key"  # HQ's public key
KEY_AT_HQ = "key_at_hq"  # HQ said it holds this device's public key
KEY_PATH = "/v1/devices/key"


def with_key(cred: dict[str, Any]) -> dict[str, Any]:
    """The credential with a device key in it (made now if it had none)."""
    if not cred.get(DEVICE_KEY):
        private, _ = bundles.new_key()
        cred = {**cred, DEVICE_KEY: private, KEY_AT_HQ: False}
    return cred


def public(cred: dict[str, Any]) -> str:
    return bundles.public_of(str(cred[DEVICE_KEY]))


def offer(path: Path, http: Any) -> str | None:
    """Make sure HQ holds this device's public key and the device holds HQ's: one small
    request, once per device. None when done (or already), else why not (the sync goes on
    without it, and the next one tries again)."""
    cred = credentials.load(path)
    if cred.get(KEY_AT_HQ) and cred.get(HQ_KEY):
        return None
    cred = with_key(cred)
    credentials.save(path, cred)  # the key is kept before HQ learns of it
    try:
        r = http.put(KEY_PATH, json={"public_key": public(cred)})
    except Exception as exc:  # any failed link: the next sync offers it again
        return f"HQ was not reached ({type(exc).__name__})"
    if r.status_code != 200:
        try:
            return str(r.json().get("detail") or r.status_code)
        except ValueError:
            return f"HTTP {r.status_code}"
    credentials.save(path, {**cred, KEY_AT_HQ: True, HQ_KEY: r.json()["hq_key"]})
    return None

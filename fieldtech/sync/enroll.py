"""Enrolling a device: a one-time code from HQ becomes this device's own credential."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from fieldtech.domain.errors import BadInput
from fieldtech.services import Device
from fieldtech.sync import credentials, keys
from fieldtech.sync.client import SyncError, _detail, _short
from fieldtech.sync.http import httpx

ATTEMPTS = 3


def enroll(
    device: Device,
    credential_path: Path,
    url: str,
    code: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BadInput(f"HQ's address must start with http:// or https://, not {url!r}")
    # The device's own key, made now and kept with the token: it signs the bundles this
    # device writes where there is no link (fieldtech.sync.bundles), and HQ learns its public
    # half with the code.
    cred = keys.with_key({})
    body = {
        "code": code,
        "device_id": device.device_id,
        "device_name": socket.gethostname(),
        **keys.offered(cred),
    }
    r = None
    with httpx.Client(base_url=url, transport=transport, timeout=20) as http:
        # HQ answers the same code from this same device again (a fresh token), so an answer
        # lost on the way back is simply asked for once more.
        for attempt in range(ATTEMPTS):
            try:
                r = http.post("/v1/enroll", json=body)
                break
            except httpx.TransportError as exc:
                if attempt == ATTEMPTS - 1:
                    raise SyncError(f"HQ cannot be reached at {url} ({_short(exc)})") from None
                time.sleep(0.2 * (attempt + 1))
    assert r is not None
    if r.status_code != 200:
        raise SyncError(f"HQ refused the enrollment: {_detail(r)}")
    answer = r.json()
    user: dict[str, Any] = answer["user"]
    cred.update(hq_url=url, token=answer["token"], device_id=device.device_id, user=user)
    credentials.save(credential_path, keys.held(cred, answer))
    device.store.save_enrollment(user, url)
    device.actor = user["id"]
    return user

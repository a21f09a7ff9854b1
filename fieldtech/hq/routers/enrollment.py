"""Enrollment: a one-time code becomes a device's own credential."""

from typing import Any

from fastapi import APIRouter

from fieldtech.hq import auth, signing
from fieldtech.hq.api_models import EnrolledOut, EnrollIn
from fieldtech.hq.deps import Store, refusals
from fieldtech.sync import bundles

router = APIRouter(prefix="/v1", tags=["devices"])


@router.post("/enroll", response_model=EnrolledOut, responses=refusals(400, 422))
def enroll(body: EnrollIn, hq: Store) -> dict[str, Any]:
    """Exchange a one-time enrollment code for this device's credential.

    Authenticated by the code itself, which is good for one use."""
    keys = None
    if body.public_key and body.box_key:
        keys = (bundles.check_public(body.public_key), bundles.check_public(body.box_key))
    user, token = auth.enroll(hq, body.code, body.device_id, body.device_name, keys)
    return {
        "token": token,
        "user": {k: user[k] for k in ("id", "name", "role", "team")},
        **signing.public_keys(hq),
    }

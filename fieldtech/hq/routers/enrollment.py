"""Enrollment: a one-time code becomes a device's own credential."""

from typing import Any

from fastapi import APIRouter

from fieldtech.hq import auth
from fieldtech.hq.api_models import EnrolledOut, EnrollIn
from fieldtech.hq.deps import Store, refusals
from fieldtech.hq.signing import public_key
from fieldtech.sync import bundles

router = APIRouter(prefix="/v1", tags=["devices"])


@router.post("/enroll", response_model=EnrolledOut, responses=refusals(400, 422))
def enroll(body: EnrollIn, hq: Store) -> dict[str, Any]:
    """Exchange a one-time enrollment code for this device's credential.

    Authenticated by the code itself, which is good for one use."""
    key = bundles.check_public(body.public_key) if body.public_key else None
    user, token = auth.enroll(hq, body.code, body.device_id, body.device_name, key)
    return {
        "token": token,
        "user": {k: user[k] for k in ("id", "name", "role", "team")},
        "hq_key": public_key(hq),
    }

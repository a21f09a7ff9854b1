"""Bundles (fieldtech.sync.bundles): a device's sync carried as a file, and the keys that
sign them."""

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from fieldtech.hq import auth
from fieldtech.hq.api_models import TooLarge
from fieldtech.hq.auth import Forbidden
from fieldtech.hq.bundle_import import import_bundle
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.signing import public_keys
from fieldtech.sync import bundles

router = APIRouter(prefix="/v1", tags=["bundles"])

BUNDLE_TYPE = "application/vnd.fieldtech.bundle"
MAX_BUNDLE = bundles.MAX_PAYLOAD + bundles.MAX_MANIFEST + 1024


class DeviceKeyIn(BaseModel):
    public_key: str = Field(min_length=40, max_length=64, description="Ed25519, base64url")
    box_key: str = Field(min_length=40, max_length=64, description="X25519, base64url")


@router.put("/devices/key", responses=refusals(400, 403, 409, 422))
def offer_key(body: DeviceKeyIn, p: Who, hq: Store) -> dict[str, str]:
    """This device's public keys, kept with its credential (the first ones offered; others
    are refused: enroll the device again to change them). The answer is HQ's public keys:
    the one HQ's replies to bundles are signed with, the one bundles for HQ are sealed to."""
    if p.device_id is None:
        raise Forbidden("only a device's own credential offers a device key")
    check = bundles.check_public
    auth.keep_device_key(hq, p, check(body.public_key), check(body.box_key))
    return public_keys(hq)


@router.post(
    "/bundles",
    responses={
        **refusals(400, 413),
        200: {
            "description": "HQ's reply for the bundle's device, signed by HQ",
            "content": {BUNDLE_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {BUNDLE_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def carry_bundle(request: Request, p: Who, hq: Store) -> Response:
    """A device's bundle, brought by anyone signed in (the carrier): applied exactly once as
    its device's sync, whoever carries it, if it is signed with that device's key."""
    body = await request.body()
    if len(body) > MAX_BUNDLE:
        raise TooLarge("a bundle may be at most 8 MB")
    done = await run_in_threadpool(import_bundle, hq, body, f"{p.user_id} over the API")
    return Response(done.reply, media_type=BUNDLE_TYPE)

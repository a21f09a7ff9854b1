"""Sync: the outbox batch in, the changes since the cursor out, in one round trip."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from fieldtech.domain.hlc import node_of
from fieldtech.hq import pages, stream
from fieldtech.hq.auth import Forbidden, Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.pull import checksum, pull
from fieldtech.hq.push import push_request
from fieldtech.sync import protocol, wire_models

router = APIRouter(prefix="/v1", tags=["sync"])

SYNC_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": wire_models.SyncRequest.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            }
        },
    }
}
TOO_LARGE = "sync body too large: send fewer operations"


@router.post(
    "/sync",
    response_model=wire_models.SyncResponse,
    response_model_exclude_none=True,
    responses={
        **refusals(400, 403, 413, 422),
        200: {
            "description": "The push's outcome and the changes since the cursor: one JSON "
            'body, or with "stream": true a stream of frames (see fieldtech.sync.protocol)',
            "content": {protocol.FRAMES_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
    openapi_extra=SYNC_BODY,
)
async def sync(
    request: Request, p: Who, hq: Store
) -> dict[str, Any] | JSONResponse | StreamingResponse:
    """Push the outbox batch and pull the changes since the cursor, in one round trip.

    The body may be gzip'd (Content-Encoding: gzip)."""
    size = int(request.headers.get("content-length") or 0)
    if size > protocol.MAX_BODY:
        return JSONResponse({"detail": TOO_LARGE}, 413)
    body = await request.body()
    if len(body) > protocol.MAX_BODY:
        return JSONResponse({"detail": TOO_LARGE}, 413)
    try:
        data = protocol.decode(body, request.headers.get("content-encoding"))
        req = wire_models.SyncRequest.model_validate(data)
    except protocol.TooLargeInflated as exc:
        return JSONResponse({"detail": f"sync body too large: {exc}"}, 413)
    except (ValueError, OSError, EOFError) as exc:
        if isinstance(exc, ValidationError):
            e = exc.errors()[0]
            where = ".".join(str(x) for x in e.get("loc", ()))
            what = str(e["msg"]).removeprefix("Value error, ")
            return JSONResponse({"detail": f"sync refused: {where}: {what}"}, 422)
        return JSONResponse({"detail": f"sync body unreadable: {exc}"}, 400)
    if p.device_id and (
        req.device not in (None, p.device_id) or req.node not in (None, node_of(p.device_id))
    ):
        raise Forbidden("this credential belongs to another device")
    req.device = req.device or p.device_id
    if req.device is None:
        return JSONResponse({"detail": "sync refused: device: name the device"}, 422)
    if req.check is not None and req.ops:
        return JSONResponse({"detail": "sync refused: check: goes in a request without ops"}, 422)
    if req.v >= 2 and req.stream:
        outcome = await run_in_threadpool(push_request, hq, p, req)
        # zstd where the device reads it and sets no budget (a zstd frame can't be tried and
        # taken back), else gzip.
        asked = protocol.accepted_codings(request.headers.get("accept-encoding", ""))
        coding = protocol.ZSTD if protocol.ZSTD in asked and req.max_bytes is None else "gzip"
        # Frames are compressed one by one; "identity" keeps HQ's gzip layer off the stream,
        # which would hold frames back until its buffer fills.
        return StreamingResponse(
            stream.frames(hq, p, req, outcome, coding),
            media_type=protocol.FRAMES_TYPE + ("+zstd" if coding == protocol.ZSTD else ""),
            headers={"Content-Encoding": "identity"},
        )
    return await run_in_threadpool(_sync, hq, p, req)


@router.get("/sync/checksum", responses=refusals())
def sync_checksum(p: Who, hq: Store) -> dict[str, int]:
    """Counts per table in your scope, to detect drift without a full download."""
    return checksum(hq, p)


def _sync(hq: HQ, p: Principal, req: wire_models.SyncRequest) -> dict[str, Any]:
    outcome = push_request(hq, p, req)
    # Rows this device wrote are not echoed back, unless its file was rebuilt and lost them.
    device = None if req.rebuild else p.device_id
    page = pull(hq, p, req.cursor, req.limit, device_id=device, max_bytes=pages.page_bytes(req))
    return {**outcome, **page, "clock": outcome["clock"]}

"""Sync: the outbox batch in, the changes since the cursor out, in one round trip."""

from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from fieldtech.domain.errors import FieldtechError
from fieldtech.hq import auth
from fieldtech.hq.auth import Forbidden, Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.pull import checksum, pull
from fieldtech.hq.push import WireOp, bounded_stamp, push
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
    responses=refusals(400, 403, 413, 422),
    openapi_extra=SYNC_BODY,
)
async def sync(request: Request, p: Who, hq: Store) -> dict[str, Any] | JSONResponse:
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
    if p.device_id and req.device != p.device_id:
        raise Forbidden("this credential belongs to another device")
    return await run_in_threadpool(_sync, hq, p, req)


@router.get("/sync/checksum", responses=refusals())
def sync_checksum(p: Who, hq: Store) -> dict[str, int]:
    """Counts per table in your scope, to detect drift without a full download."""
    return checksum(hq, p)


def _sync(hq: HQ, p: Principal, req: wire_models.SyncRequest) -> dict[str, Any]:
    if req.clock:
        with suppress(FieldtechError):  # a bad clock is judged per operation, by push
            bounded_stamp(hq, req.clock)
    result = push(hq, p, [WireOp(o.i, o.h, o.o, o.e, o.p) for o in req.ops], cursor=req.cursor)
    # Rows this device wrote are not echoed back, unless its file was rebuilt and lost them.
    page = pull(hq, p, req.cursor, req.limit, device_id=None if req.rebuild else p.device_id)
    auth.touch(hq, p)
    return {"acks": result.acks, "rejected": result.rejected, **page, "clock": hq.stamp()}

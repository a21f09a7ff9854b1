"""Waiting for work: a device holds one request and hears within seconds that something in
its scope changed at HQ; then it syncs as it always does (the pull stays the truth).

A long poll rather than server-sent events: every answer is a single hint after which the
device syncs anyway, so a stream of events would carry nothing more, yet would need a
heartbeat per connection (CPU for every idle device) and a new library on both sides.
Each wait ends within MAX_HOLD seconds, under the idle limits of the proxies in between,
and is authenticated afresh, so a revoked device stops hearing at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from fieldtech.hq.change_watch import ChangeWatch
from fieldtech.hq.deps import Store, Who, refusals

router = APIRouter(prefix="/v1", tags=["sync"])
log = logging.getLogger("fieldtech.hq")

MAX_HOLD = 30.0
HOLD = 25.0
LAST_SEQ = 2**63 - 1  # a cursor is a signed 64-bit seq


class WaitOut(BaseModel):
    changes: bool = Field(
        description="true: something in your scope changed after your cursor (sync now); "
        "false: nothing did before the timeout (wait again)"
    )


@router.get("/wait", response_model=WaitOut, responses=refusals(422))
async def wait(
    request: Request,
    p: Who,
    hq: Store,
    cursor: Annotated[int, Query(ge=0, le=LAST_SEQ, description="your pull cursor")] = 0,
    timeout: Annotated[
        float, Query(ge=0, le=MAX_HOLD, description="seconds to hold the request at most")
    ] = HOLD,
) -> dict[str, bool] | Response:
    """Answer as soon as something in your scope changed after `cursor`, or at `timeout`.

    The answer's headers come at once and its body when there is something to say, so a
    device may drop a held wait whenever it likes."""
    watch = _watch_of(request, hq)
    changed, mark = await watch.look_now(p, p.device_id, cursor)
    if changed or timeout == 0:
        return {"changes": changed}
    return HeldAnswer(lambda: watch.hold(p, p.device_id, mark, timeout))


def _watch_of(request: Request, hq: Store) -> ChangeWatch:
    """The process's one watcher, made with the first wait (the app factory knows nothing
    of it, and HQ may run without lifespan events)."""
    state = request.app.state
    watch: ChangeWatch | None = getattr(state, "change_watch", None)
    if watch is None:
        watch = state.change_watch = ChangeWatch(hq)
    return watch


class HeldAnswer(Response):
    """Status and headers now, `{"changes": …}` when the hold ends. A device that goes
    away (link off, app closed) ends its wait here at once, not at the timeout."""

    media_type = "application/json"

    def __init__(self, outcome: Callable[[], Awaitable[bool]]):
        # Identity: HQ's gzip layer would hold the headers back until the body came.
        super().__init__(headers={"Content-Encoding": "identity", "Cache-Control": "no-store"})
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.outcome = outcome

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        answer = asyncio.ensure_future(self.outcome())
        gone = asyncio.ensure_future(_gone(receive))
        try:
            await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (answer, gone):
                task.cancel()
            await asyncio.gather(answer, gone, return_exceptions=True)
        if answer.cancelled():
            return  # the device went away: nobody to answer
        error = answer.exception()
        if error is not None:
            # The headers went already; "changes" is the safe hint: the device syncs.
            log.error("a held wait failed", exc_info=error)
        changes = True if error is not None else answer.result()
        body = json.dumps({"changes": changes}, separators=(",", ":")).encode()
        await send({"type": "http.response.body", "body": body})


async def _gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

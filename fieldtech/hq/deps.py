"""What every HQ router shares: who is asking, the HQ storage handle, the documented
refusals (one error schema) and the body cap."""

import json
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldtech.hq import auth
from fieldtech.hq.api_models import REASONS, bearer
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ
from fieldtech.sync import protocol

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}  # the app factory documents Problem


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented 4xx answers of a route (always 401: every route authenticates), each
    naming the one error schema."""
    problem = {"application/json": {"schema": PROBLEM_REF}}
    return {s: {"description": REASONS[s], "content": problem} for s in sorted({401, *statuses})}


async def storage(request: Request) -> HQ:
    hq: HQ = request.app.state.hq
    return hq


Store = Annotated[HQ, Depends(storage)]


def principal(
    hq: Store, credential: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    token = credential.credentials if credential else None
    return auth.authenticate(hq, token)


Who = Annotated[Principal, Depends(principal)]


class BodyLimit:
    """Memory per request stays bounded by the body cap, on every endpoint, signed in or not.

    A declared Content-Length past the cap is refused at once, unread. A body streamed
    without one (chunked) is counted as the app reads it and refused with 413 the moment it
    passes the cap, so no handler ever holds more than the cap in memory. (A gzip'd sync body
    is bounded again once inflated: protocol.inflate.)"""

    def __init__(self, app: ASGIApp, limit: int = protocol.MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0 or size > self.limit:
                await self._refuse(send, 400 if size < 0 else 413)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body") or b"")
                if seen > self.limit:
                    raise HTTPException(413, self.words(413))
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except HTTPException as exc:  # raised while reading, outside any handler
            if exc.status_code != 413 or started:
                raise
            await self._refuse(send, 413)

    def words(self, status: int) -> str:
        if status == 400:
            return "request refused: its Content-Length is not a number"
        return f"request body too large: at most {self.limit // (1024 * 1024)} MB; send less"

    async def _refuse(self, send: Send, status: int) -> None:
        body = json.dumps({"detail": self.words(status)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

"""A fault-injecting link between a device and a real HQ over HTTP on 127.0.0.1.

It forwards each request through a real HTTP transport, but plays a schedule of faults:
drop the request, drop the answer after HQ committed, send it twice, cut the answer in
half, or delay it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable

import httpx

FAULTS = ("ok", "drop_request", "drop_response", "duplicate", "truncate", "delay")


class FaultyLink(httpx.BaseTransport):
    def __init__(
        self,
        schedule: Iterable[str] = (),
        *,
        rng: random.Random | None = None,
        fault_rate: float = 0.0,
    ):
        self.inner = httpx.HTTPTransport()
        self.schedule = list(schedule)
        self.rng = rng
        self.fault_rate = fault_rate
        self.played: list[str] = []
        self.delivered = 0  # requests HQ actually received
        self.offline = False  # no signal: every request is lost until it comes back

    def _next(self) -> str:
        if self.offline:
            return "drop_request"
        if self.schedule:
            return self.schedule.pop(0)
        if self.rng and self.rng.random() < self.fault_rate:
            return self.rng.choice(FAULTS[1:])
        return "ok"

    def _forward(self, request: httpx.Request) -> httpx.Response:
        self.delivered += 1
        response = self.inner.handle_request(request)
        body = response.read()  # decoded: pass it on as plain bytes
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        }
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault = self._next()
        self.played.append(fault)
        request.read()
        if fault == "drop_request":
            raise httpx.ConnectError("request lost (injected)", request=request)
        if fault == "delay":
            time.sleep(0.02)  # the fault itself: a slow link, not a wait for something
        response = self._forward(request)
        if fault == "drop_response":
            raise httpx.ReadError("answer lost after HQ committed (injected)", request=request)
        if fault == "duplicate":
            response = self._forward(request)
        if fault == "truncate":
            raw = response.content
            headers = {
                k: v
                for k, v in response.headers.items()
                if k.lower() not in ("content-length", "content-encoding")
            }
            return httpx.Response(
                response.status_code, headers=headers, content=raw[: len(raw) // 2], request=request
            )
        return response

    def close(self) -> None:
        self.inner.close()

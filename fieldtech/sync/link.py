"""A link that can be cut: wraps the real HTTP transport, for the demo's 'lose signal' key."""

from __future__ import annotations

import threading

from fieldtech.sync.http import httpx


class SwitchableLink(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport | None = None):
        self.inner = inner or httpx.HTTPTransport()
        self._online = threading.Event()
        self._online.set()

    @property
    def online(self) -> bool:
        return self._online.is_set()

    def set_online(self, online: bool) -> None:
        if online:
            self._online.set()
        else:
            self._online.clear()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.online:
            raise httpx.ConnectError("no signal (link switched off)", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

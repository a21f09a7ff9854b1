"""A link that can be cut: wraps the real HTTP transport, for the demo's 'lose signal' key."""

from __future__ import annotations

import threading

from fieldtech.sync.http import httpx, tls_for


class SwitchableLink(httpx.BaseTransport):
    """`hq_url` picks the TLS context (`tls_for`): a client given a transport ignores its own
    `verify`, so the transport must carry the right one. httpx's default would load the CA
    bundle again (~1.2 MiB) even for a plain-HTTP HQ."""

    def __init__(self, hq_url: str, inner: httpx.BaseTransport | None = None):
        self.inner = inner or httpx.HTTPTransport(verify=tls_for(hq_url))
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

"""httpx, as the device uses it: without its command-line client.

httpx's package imports its own command-line tool whenever click, rich and pygments are
installed, and on a device they always are (the app's own dependencies). That tool pulls in
rich's progress bars, syntax highlighting and pygments' lexers: ~17 ms and ~3 MiB on the
sync agent's first import, which runs while a technician is already typing. httpx falls back
to a stub when the tool cannot be imported, so mark it as missing before httpx loads.
"""

from __future__ import annotations

import ssl
import sys
import threading

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "not there"

import httpx  # noqa: E402

__all__ = ["httpx", "tls_for"]

_lock = threading.Lock()
_verifying: ssl.SSLContext | None = None


def tls_for(base_url: str) -> ssl.SSLContext:
    """The TLS context a device client of `base_url` gets. httpx builds a fresh one per client
    and loads the CA bundle into each (~1.2 MiB apiece; the sync and the wait are two
    clients), so the device's clients share one. A plain-HTTP HQ is never spoken to over TLS
    (the clients follow no redirects), so it gets a context with no CA loaded: it verifies
    as strictly, and would refuse any certificate."""
    global _verifying
    if not base_url.lower().startswith("https:"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, hostnames checked
    with _lock:
        if _verifying is None:
            _verifying = httpx.create_ssl_context()  # httpx's own default: certifi, SSL_CERT_FILE
        return _verifying

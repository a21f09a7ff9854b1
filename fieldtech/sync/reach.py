"""Is anything listening at HQ's address? Asked before the device loads its HTTP stack.

A device spends most of its days without signal, and httpx with what it brings (its mail
and URL parsers, h11, httpcore, the TLS context) is ~6 MiB the app would carry all day only
to learn, every few minutes, that HQ is out of reach. A plain TCP connection says that
much with the standard library alone. The device's HTTP clients speak to HQ directly (their
own transport: no proxy from the environment), so a connection refused or timed out here is
the same answer the sync would have had. A connection made proves only that something
listens: the sync itself says the rest.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 10.0  # seconds: a 2G link's handshake can take several


def unreachable(base_url: str, timeout: float = CONNECT_TIMEOUT) -> str | None:
    """Why HQ at `base_url` cannot be reached (one line), or None when a connection to it
    was made (and closed at once)."""
    try:
        parts = urlsplit(base_url)
        host = parts.hostname
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:  # a port out of range, a malformed address
        return f"its address is not usable ({exc})"
    if not host:
        return "its address names no host"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        return "no answer in time"
    except UnicodeError as exc:  # a host name that cannot be encoded ("a..b")
        return f"its address is not usable ({exc})"
    except OSError as exc:  # refused, no route, a name that does not resolve
        text = exc.strerror or str(exc) or type(exc).__name__
        return text.splitlines()[0][:120]

"""httpx, as the device uses it: without its command-line client.

httpx's package imports its own command-line tool whenever click, rich and pygments are
installed, and on a device they always are (the app's own dependencies). That tool pulls in
rich's progress bars, syntax highlighting and pygments' lexers: ~17 ms and ~3 MiB on the
sync agent's first import, which runs while a technician is already typing. httpx falls back
to a stub when the tool cannot be imported, so mark it as missing before httpx loads.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: "not there"

import httpx  # noqa: E402

__all__ = ["httpx"]

"""The sync stack, in pieces small enough to import between two keystrokes.

A technician may start typing the moment the queue is up, and the sync agent's imports
(httpx, the mail and URL parsers it brings, the services that apply what HQ sends: ~60 ms
of work) would hold the interpreter in one piece while they do. Imported one module at a
time, on the app's own loop between frames, no keystroke waits more than one piece. The
order is the order imports finish (leaves first), so each piece runs only its own module.
A name that is not there (another httpx, another Python) only means a bigger next piece.

Two sets: what the agent needs to be built and to ask whether HQ is there (AGENT, light),
and the HTTP stack with what applies HQ's answers (HTTP), loaded once HQ has been found.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

AGENT = (
    "fieldtech.sync.credentials",
    "fieldtech.sync.summary",
    "fieldtech.sync.reach",
    "fieldtech.sync.agent",
)

HTTP = (
    # What httpx needs from the standard library and beyond, leaves first.
    "email.errors",
    "email.quoprimime",
    "email.base64mime",
    "quopri",
    "email.encoders",
    "email.charset",
    "email.header",
    "calendar",
    "email._parseaddr",
    "email.utils",
    "email._policybase",
    "email.feedparser",
    "email.parser",
    "email._encoded_words",
    "email.iterators",
    "email.message",
    "http.client",
    "urllib.response",
    "urllib.error",
    "urllib.request",
    "http.cookiejar",
    "idna.idnadata",
    "idna.intranges",
    "idna.core",
    "idna",
    "gzip",
    # The device's httpx (its package imports all its own modules at once).
    "fieldtech.sync.http",
    # What the first request's connection loads.
    "ssl",
    "certifi",
    "h11",
    "httpcore",
    # The device's side of sync and the services it applies HQ's answers with.
    "fieldtech.domain.hlc",
    "fieldtech.domain.ids",
    "fieldtech.domain.callbacks",
    "fieldtech.domain.ops",
    "fieldtech.services.context",
    "fieldtech.services",
    "fieldtech.domain.checklists",
    "fieldtech.domain.templates",
    "fieldtech.sync.protocol",
    "fieldtech.domain.sending",
    "fieldtech.sync.outgoing",
    "fieldtech.sync.client",
    "fieldtech.sync.link",
    "fieldtech.sync.waiter",
)


def pieces(names: tuple[str, ...]) -> Iterator[str]:
    """Import the next piece at each step; the last step has imported the last name."""
    for name in names:
        # Not here: whatever needs it imports it with the next piece.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
        yield name

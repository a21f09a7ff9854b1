"""The sync wire protocol (version 1): one request carries the outbox batch and the cursor.

Request  {"v": 1, "device": id, "cursor": n, "limit": rows, "clock": hlc,
          "ops": [{"i": op id, "h": hlc, "o": operation, "e": entity id, "p": payload}]}
Response {"acks": [op id], "rejected": [{"id", "reason"}], "changes": {table: {"cols", "rows"}},
          "cursor": n, "more": bool, "clock": hlc}

Bodies are gzip'd both ways. Keys are one letter in the op list because there are many ops.
The device speaks it with plain JSON; HQ checks what it receives against the models in
fieldtech.sync.wire_models (pydantic, which a device's sync never needs to load).
"""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

PROTOCOL = 1
MAX_OPS = 2000
DEFAULT_PAGE = 2000
MAX_PAGE = 20000
MAX_BODY = 8 * 1024 * 1024  # compressed bytes HQ accepts in one request
# What a gzip'd body may inflate to: the same order as the cap on the wire, so memory per
# request stays bounded once decompressed too (a sync batch of 2,000 long notes fits).
MAX_INFLATED = 2 * MAX_BODY
MAX_INT = 2**63 - 1  # the stores keep whole numbers in 64 bits


def fits_the_store(value: Any) -> bool:
    """Every number in a JSON value is finite and fits a 64-bit column, as a whole number
    (HQ may read a count from a float): walked without recursion."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, int) and not isinstance(v, bool):
            if not -MAX_INT - 1 <= v <= MAX_INT:
                return False
        elif isinstance(v, float):
            if not (math.isfinite(v) and -(2.0**63) <= v < 2.0**63):
                return False
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return True


def to_wire(outbox_row: dict[str, Any]) -> dict[str, Any]:
    return {
        "i": outbox_row["id"],
        "h": outbox_row["hlc"],
        "o": outbox_row["op"],
        "e": outbox_row["entity_id"],
        "p": outbox_row["payload"],
    }


def encode(obj: Any) -> bytes:
    return gzip.compress(json.dumps(obj, separators=(",", ":")).encode(), compresslevel=6)


def decode(body: bytes, encoding: str | None) -> Any:
    """The JSON of a request body; ValueError (with the reason) if it is not readable JSON."""
    if encoding and "gzip" in encoding:
        body = inflate(body)
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class TooLargeInflated(ValueError):
    """A gzip'd body that inflates past the ceiling."""


def inflate(body: bytes, limit: int = MAX_INFLATED) -> bytes:
    """Gunzip with a ceiling, so a small body cannot expand into gigabytes."""
    import zlib

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not a gzip body ({exc})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise TooLargeInflated(f"more than {limit // (1024 * 1024)} MB once decompressed")
    if not d.eof:
        raise ValueError("truncated gzip body")
    return out

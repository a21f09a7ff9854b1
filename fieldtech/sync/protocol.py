"""The sync wire protocol (version 1): one request carries the outbox batch and the cursor.

Request  {"v": 1, "device": id, "cursor": n, "limit": rows, "clock": hlc,
          "ops": [{"i": op id, "h": hlc, "o": operation, "e": entity id, "p": payload}]}
Response {"acks": [op id], "rejected": [{"id", "reason"}], "changes": {table: {"cols", "rows"}},
          "cursor": n, "more": bool, "clock": hlc}

Bodies are gzip'd both ways. Keys are one letter in the op list because there are many ops.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL = 1
MAX_OPS = 2000
DEFAULT_PAGE = 2000
MAX_PAGE = 20000
MAX_BODY = 8 * 1024 * 1024  # compressed bytes HQ accepts in one request
MAX_INFLATED = 64 * 1024 * 1024


class WireOpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    i: str = Field(min_length=1, max_length=64, description="operation id (UUIDv7)")
    h: str = Field(min_length=1, max_length=64, description="hybrid clock stamp")
    o: str = Field(min_length=1, max_length=32, description="operation, e.g. job.status")
    e: str = Field(min_length=1, max_length=64, description="entity id")
    p: dict[str, Any] = Field(description="payload: the fields it sets or the event it adds")


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: int = Field(PROTOCOL, ge=1, le=PROTOCOL)
    device: str = Field(min_length=1, max_length=64)
    cursor: int = Field(0, ge=0)
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    clock: str | None = Field(None, max_length=64)
    ops: list[WireOpIn] = Field(default_factory=list, max_length=MAX_OPS)


class Rejection(BaseModel):
    id: str
    reason: str


class SyncResponse(BaseModel):
    acks: list[str]
    rejected: list[Rejection]
    changes: dict[str, dict[str, Any]]
    cursor: int
    more: bool
    clock: str


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
    if encoding and "gzip" in encoding:
        body = inflate(body)
    return json.loads(body)


def inflate(body: bytes, limit: int = MAX_INFLATED) -> bytes:
    """Gunzip with a ceiling, so a small body cannot expand into gigabytes."""
    import zlib

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not a gzip body ({exc})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise ValueError("body too large once decompressed")
    if not d.eof:
        raise ValueError("truncated gzip body")
    return out

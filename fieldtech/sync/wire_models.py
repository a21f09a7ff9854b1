"""The sync protocol's messages as models: how HQ checks a request it receives and
documents the answer (OpenAPI). The device writes and reads the same JSON without them
(fieldtech.sync.protocol), so a technician's sync never loads pydantic."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fieldtech.sync.protocol import (
    DEFAULT_PAGE,
    MAX_INT,
    MAX_OPS,
    MAX_PAGE,
    MAX_PAGE_BYTES,
    MIN_PAGE_BYTES,
    PROTOCOL,
)


def printable(text: str) -> str:
    """An id is echoed in reasons shown to people: one line, no control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError("an id is printable text, without control characters")
    return text


Id = Annotated[
    str,
    Field(min_length=1, max_length=64, json_schema_extra={"pattern": r"^[^\x00-\x1F\x7F]+$"}),
    AfterValidator(printable),
]


class WireOpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    i: Id = Field(description="operation id (UUIDv7)")
    h: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="hybrid clock stamp; left out when the op's id gives it back "
        "(fieldtech.domain.ids.stamp_of on the sending device's clock)",
    )
    o: str = Field(min_length=1, max_length=32, description="operation, e.g. job.status")
    e: Id = Field(description="entity id")
    # Any JSON here: each payload is checked against its own operation's schema at HQ
    # (sync.payloads), numbers included, so one malformed payload is refused alone and the
    # rest of the batch applies.
    p: Any = Field(description="payload: the fields it sets or the event it adds (an object)")


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: int = Field(PROTOCOL, ge=1, le=PROTOCOL)
    device: Id | None = Field(
        None, description="the sending device; a device's own credential already names it"
    )
    node: str | None = Field(
        None,
        max_length=32,
        description="the sending device's clock name (node_of its id): a credential that "
        "belongs to another device is refused",
    )
    cursor: int = Field(0, ge=0, le=MAX_INT)
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    page_bytes: int | None = Field(
        None,
        ge=MIN_PAGE_BYTES,
        le=MAX_PAGE_BYTES,
        description="version 2: JSON bytes of changes per page at most",
    )
    max_bytes: int | None = Field(
        None, ge=0, le=MAX_INT, description="version 2: a stream stops before this many bytes"
    )
    stream: bool = Field(
        False, description="version 2: answer as a stream of frames, page after page"
    )
    clock: str | None = Field(None, max_length=64)
    ops: list[WireOpIn] = Field(default_factory=list, max_length=MAX_OPS)
    rebuild: bool = Field(
        False, description="a rebuilt device file: send this device's own rows back too"
    )
    check: Id | None = Field(
        None,
        description="version 2, with no ops: the key (protocol.request_key) of a request "
        "whose answer never came; the outcome is that request's, with `through` its last op, "
        "if HQ holds it (else `through` is null), so the device need not send it again",
    )


class Rejection(BaseModel):
    id: str
    reason: str


class SyncResponse(BaseModel):
    acks: list[str] | None = Field(None, description="version 1: every settled op's id")
    through: str | None = Field(
        None, description="version 2: every op of the request up to this one is settled"
    )
    rejected: list[Rejection]
    changes: dict[str, dict[str, Any]]
    cursor: int
    more: bool
    clock: str

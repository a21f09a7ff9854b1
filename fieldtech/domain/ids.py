"""Ids created on the device: UUIDv7, so they sort by creation time and never collide.

A record gets its id where it is born; a retried create therefore cannot duplicate it.
"""

import os
import time
import uuid


def new_id(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 64) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def short(record_id: str) -> str:
    """The form people read and type: the last 8 hex digits."""
    return record_id.replace("-", "")[-8:]

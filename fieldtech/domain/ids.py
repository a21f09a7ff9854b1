"""Ids created on the device: UUIDv7, so they sort by creation time and never collide.

A record gets its id where it is born; a retried create therefore cannot duplicate it.
Within one process ids also sort in the order they were made when several fall in the same
millisecond (the 74 random bits then count up, as RFC 9562 allows): the outbox relies on it
to send a device's operations in the order they happened.
"""

import os
import threading
import time
import uuid

_RANDOM_BITS = 74  # 12 bits of rand_a, 62 of rand_b
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _compose(ms: int, rand: int) -> str:
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b: 62 bits
    return str(uuid.UUID(int=value))


def _fresh() -> int:
    # Leave headroom so counting up within a millisecond never runs out.
    return int.from_bytes(os.urandom(10), "big") >> (80 - _RANDOM_BITS + 1)


def new_id(now_ms: int | None = None) -> str:
    """A new id; `now_ms` pins the time (tests, deterministic data) and skips the counter."""
    global _last_ms, _last_rand
    if now_ms is not None:
        return _compose(now_ms, _fresh())
    ms = int(time.time() * 1000)
    with _lock:
        if ms <= _last_ms and _last_rand + 1 < (1 << _RANDOM_BITS):
            ms, rand = _last_ms, _last_rand + 1  # same (or an earlier) millisecond: count up
        else:
            rand = _fresh()
        _last_ms, _last_rand = ms, rand
    return _compose(ms, rand)


def short(record_id: str) -> str:
    """The form people read and type: the last 8 hex digits."""
    return record_id.replace("-", "")[-8:]

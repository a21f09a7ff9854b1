"""Ids created on the device: UUIDv7, so they sort by creation time and never collide.

A record gets its id where it is born; a retried create therefore cannot duplicate it.
Within one process ids also sort in the order they were made when several fall in the same
millisecond (the 74 random bits then count up, as RFC 9562 allows): the outbox relies on it
to send a device's operations in the order they happened.

An operation's id is made from its clock stamp instead (`operation_id`): a week's thousands
of operations then share most of their digits and compress to a few bytes each, where
random ones cost ~10 bytes each (half a week's upload over 2G), and the stamp itself need
not travel beside it (`stamp_of`).
"""

import hashlib
import os
import threading
import time
import uuid

from fieldtech.domain.hlc import Stamp

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


# The stamp's counter: 12 bits of rand_a and the top 8 of rand_b, past any counter a clock
# reaches (five digits); the other 54 bits of rand_b are drawn per process and clock.
_COUNTER_BITS = 20
_COUNTER_LIMIT = 1 << _COUNTER_BITS
_DRAWN_BITS = _RANDOM_BITS - _COUNTER_BITS
_secret: bytes | None = None  # drawn once per process
_clocks: dict[str, tuple[int, tuple[int, int]]] = {}  # clock node -> (rand_b, last slot)


def _forget_node() -> None:
    global _secret
    _secret = None
    _clocks.clear()


os.register_at_fork(after_in_child=_forget_node)  # a forked process draws its own


def _clock_slot(node: str) -> tuple[int, tuple[int, int]]:
    global _secret
    if _secret is None:
        _secret = os.urandom(16)
    if node not in _clocks:
        digest = hashlib.blake2b(node.encode(), key=_secret, digest_size=8).digest()
        _clocks[node] = (int.from_bytes(digest, "big") >> (64 - _DRAWN_BITS), (-1, -1))
    return _clocks[node]


def operation_id(hlc: str) -> str:
    """The id of the operation stamped `hlc`: UUIDv7 with the stamp's millisecond, then its
    counter (RFC 9562's dedicated counter, 20 bits across rand_a and rand_b), then 54 bits
    drawn for this process and this clock. Unique as `new_id` is: those bits tell processes
    (and the devices a process serves) apart, and within them ids rise in the order they are
    made, as the outbox needs: a stamp that does not come after the clock's last one (a second
    connection's clock on the same device) takes the next free slot after it instead, and
    then travels beside its id. (Such a slot is not remembered past the process: should the
    process restart within that millisecond, a new id may sort beside it, not after.)"""
    s = Stamp.parse(hlc)
    with _lock:
        rand_b, last = _clock_slot(s.node)
        slot = (s.ms, s.counter)
        if s.counter >= _COUNTER_LIMIT or s.ms >> 48 or slot <= last:
            ms, counter = last
            slot = (ms, counter + 1) if counter + 1 < _COUNTER_LIMIT else (ms + 1, 0)
            slot = max(slot, (0, 0))
        _clocks[s.node] = (rand_b, slot)
        return _compose(slot[0], (slot[1] << _DRAWN_BITS) | rand_b)


def stamp_of(op_id: str, node: str) -> str:
    """The clock stamp `operation_id` made `op_id` from, on the clock named `node`. Only
    a guess for other ids: the wire leaves a stamp out only where this gives it back."""
    rand = _random_bits(uuid.UUID(op_id).int)
    return str(Stamp(uuid.UUID(op_id).int >> 80, rand >> _DRAWN_BITS, node))


def _random_bits(value: int) -> int:
    """The 74 random bits of a UUIDv7 (rand_a then rand_b), as `_compose` put them in."""
    return (((value >> 64) & 0xFFF) << 62) | (value & ((1 << 62) - 1))

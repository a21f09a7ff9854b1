"""Operation ids made from their clock stamps: unique, ordered, and giving the stamp back,
so the wire can leave the stamp out (and a week's ids compress to a few bytes each)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldtech.domain import ids
from fieldtech.domain.hlc import Clock, Stamp, node_of
from fieldtech.domain.ids import new_id, operation_id, stamp_of
from fieldtech.sync import protocol

NODE = "0123456789ab"
LATER = 4_000_000_000_000  # ms past any stamp the rest of the suite makes in this process


def stamps(start: int):
    """Distinct stamps in increasing order, counters across a stamp's whole range."""
    return st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 99_999)), min_size=1, max_size=60
    ).map(lambda xs: [str(Stamp(start + ms, c, NODE)) for ms, c in sorted(set(xs))])


_next_start = [LATER]


@pytest.fixture(autouse=True)
def _stamps_back():
    """These tests stamp far ahead; the rest of the suite's process must not inherit it."""
    before = dict(ids._clocks)
    yield
    ids._clocks.clear()
    ids._clocks.update(before)


def fresh_start() -> int:
    """Each example's stamps come after the last example's: stamps in a process only rise."""
    _next_start[0] += 2 * 10**6
    return _next_start[0]


@settings(max_examples=150)
@given(st.data())
def test_ids_from_increasing_stamps_are_unique_ordered_uuid7_and_give_the_stamp_back(data):
    hlcs = data.draw(stamps(fresh_start()))
    made = [operation_id(h) for h in hlcs]
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    for h, i in zip(hlcs, made, strict=True):
        u = uuid.UUID(i)
        assert u.version == 7 and u.variant == uuid.RFC_4122
        assert stamp_of(i, NODE) == h


def test_a_stamp_used_again_or_earlier_gets_the_next_slot_not_a_copy():
    start = fresh_start()
    first = operation_id(str(Stamp(start, 7, NODE)))
    again = operation_id(str(Stamp(start, 7, NODE)))  # a second clock of this device
    earlier = operation_id(str(Stamp(start - 5, 0, NODE)))
    top = str(Stamp(start + 1, 99_999, NODE))  # the largest counter a stamp holds
    made = [first, again, earlier, operation_id(top)]
    assert len(set(made)) == 4
    assert made == sorted(made)  # still in the order they were made
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in made)
    assert stamp_of(again, NODE) != str(Stamp(start, 7, NODE))  # so these stamps travel
    assert stamp_of(made[-1], NODE) == top  # and the largest counter still rides in the id


def test_two_processes_making_the_same_stamp_get_different_ids():
    code = (
        "from fieldtech.domain.ids import operation_id;"
        "print(operation_id('1796192767409-00002-697f23bcdbe6'))"
    )
    got = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(3)
    }
    assert len(got) == 3


def test_the_wire_leaves_a_stamp_out_only_where_the_id_gives_it_back():
    device_id = new_id()
    node = node_of(device_id)
    clock = Clock(node)
    hlc = clock.now()
    row = {"id": operation_id(hlc), "hlc": hlc, "op": "job.note", "entity_id": "e", "payload": {}}
    assert "h" not in protocol.to_wire(row, node)
    assert protocol.stamp_of_op(row["id"], device_id) == hlc  # what HQ rebuilds
    assert protocol.to_wire(row)["h"] == hlc  # a sender that names no clock
    assert protocol.to_wire(row, "ffffffffffff")["h"] == hlc  # another device's clock
    odd = {**row, "id": new_id()}  # a random id: the stamp travels
    assert protocol.to_wire(odd, node)["h"] == hlc
    assert protocol.stamp_of_op("not-a-uuid", device_id) is None


def test_a_week_of_operation_ids_compresses_to_a_fraction_of_random_ones():
    """What this is for: 3,000 ops' ids, gzip'd as the wire sends them."""
    clock = Clock(NODE)
    start = fresh_start()
    clock.wall = lambda: start + len(hlcs) // 3  # about three ops a millisecond
    hlcs: list[str] = []
    for _ in range(3000):
        hlcs.append(clock.now())
    ours = [{"i": operation_id(h)} for h in hlcs]
    random_ = [{"i": new_id(now_ms=start + n // 3)} for n in range(3000)]

    def size(x: list) -> int:
        return len(gzip.compress(json.dumps(x, separators=(",", ":")).encode()))

    assert size(ours) * 3 < size(random_), (size(ours), size(random_))


def test_a_forked_process_draws_its_own_bits():
    hlc = str(Stamp(fresh_start(), 0, NODE))
    first = operation_id(hlc)
    ids._forget_node()  # what os.register_at_fork runs in a child
    again = operation_id(hlc)
    assert first != again and first[:19] == again[:19]  # same stamp, other rand_b


def test_two_devices_in_one_process_keep_apart_and_each_keeps_its_stamps():
    """One device's clock days ahead does not push another's ids off their stamps."""
    start = fresh_start()
    ahead = [operation_id(str(Stamp(start + 10**9, c, "aaaaaaaaaaaa"))) for c in range(3)]
    mine = [str(Stamp(start, c, "bbbbbbbbbbbb")) for c in range(3)]
    made = [operation_id(h) for h in mine]
    assert [stamp_of(i, "bbbbbbbbbbbb") for i in made] == mine
    same = operation_id(str(Stamp(start, 5, "aaaaaaaaaaaa")))  # behind its own last: a slot
    assert len({*ahead, *made, same}) == 7

"""Streamed answers in zstd (protocol.FrameWriter / Frames): what a device of this release
reads, and what a bad or hostile stream gets."""

import json
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldtech.domain.jobs import (
    WIRE_DIGEST_HEX,
    code_matches,
    hash_code,
    hash_for_wire,
    hash_from_wire,
)
from fieldtech.sync import protocol

MAGIC = b"\x28\xb5\x2f\xfd"  # what starts a zstd frame


def test_a_routine_stream_stays_in_one_cheap_zstd_frame_and_a_longer_one_goes_bulk_at_once():
    outcome, page = {"through": "a", "rejected": []}, {"changes": {}, "cursor": 5, "more": False}
    w = protocol.FrameWriter(protocol.ZSTD)
    routine = (w.frame(outcome) or b"") + (w.frame(page) or b"")
    assert routine.count(MAGIC) == 1
    w = protocol.FrameWriter(protocol.ZSTD)
    first = {**page, "more": True}
    longer = (w.frame(outcome) or b"") + (w.frame(first, bulk=True) or b"") + (w.frame(page) or b"")
    assert longer.count(MAGIC) == 2  # the bulk compressor from the page that said "more"
    assert protocol.Frames().feed(longer) == [outcome, first, page]


def _page(rng: random.Random, n: int) -> dict:
    rows = [[f"{rng.getrandbits(64):016x}", f"note {i} " * rng.randint(1, 9)] for i in range(n)]
    return {"changes": {"jobs": {"cols": ["id", "summary"], "rows": rows}}, "more": True}


def test_frames_read_back_in_order_through_the_switch_to_the_bulk_compressor_at_any_cut():
    rng = random.Random(4)
    objs = [{"through": "a", "rejected": []}] + [_page(rng, 400) for _ in range(8)]
    w = protocol.FrameWriter(protocol.ZSTD)
    wire = b"".join(w.frame(o) or b"" for o in objs)
    assert wire.count(MAGIC) == 2  # past BULK_AFTER: later pages went in a second zstd frame
    assert sum(len(json.dumps(o)) for o in objs) > protocol.BULK_AFTER
    for cut in (1, 7, 1000, len(wire) // 3):
        reader, got = protocol.Frames(), []
        for at in range(0, len(wire), cut):
            got += reader.feed(wire[at : at + cut])
        assert got == objs and not reader.partial


def test_a_frame_cut_short_is_partial_and_nothing_of_it_is_read():
    w = protocol.FrameWriter(protocol.ZSTD)
    first, second = w.frame({"a": 1}), w.frame({"b": "x" * 5000})
    assert first and second
    reader = protocol.Frames()
    assert reader.feed(first + second[:-3]) == [{"a": 1}]
    assert reader.partial


def test_a_zstd_stream_beats_gzip_when_rows_refer_to_rows_sent_pages_before():
    rng = random.Random(9)
    customers = [f"{rng.getrandbits(128):032x}" for _ in range(3000)]
    pages = [{"changes": {"customers": {"cols": ["id"], "rows": [[c] for c in customers]}}}]
    for _ in range(6):  # jobs naming those customers, far past gzip's 32 KiB window
        refs = [[rng.choice(customers)] for _ in range(3000)]
        pages.append({"changes": {"jobs": {"cols": ["customer_id"], "rows": refs}}})
    zs, gz = protocol.FrameWriter(protocol.ZSTD), protocol.FrameWriter()
    z_bytes = sum(len(zs.frame(p) or b"") for p in pages)
    g_bytes = sum(len(gz.frame(p) or b"") for p in pages)
    assert z_bytes < 0.75 * g_bytes


def test_a_budgeted_stream_cannot_be_zstd():
    with pytest.raises(ValueError, match="budget"):
        protocol.FrameWriter(protocol.ZSTD).frame({"a": 1}, within=100)


def test_a_frame_that_inflates_past_the_limit_is_refused():
    w = protocol.FrameWriter(protocol.ZSTD)
    bomb = w.frame({"x": "0" * 3_000_000})
    assert bomb and len(bomb) < 10_000
    with pytest.raises(protocol.TooLargeInflated):
        protocol.Frames(limit=1_000_000).feed(bomb)


def test_garbage_after_a_zstd_magic_is_a_clear_error_not_a_crash():
    junk = b"\x28\xb5\x2f\xfd" + bytes(range(40))
    with pytest.raises(ValueError, match="zstd"):
        protocol.Frames().feed(len(junk).to_bytes(4, "big") + junk)


def test_gzip_frames_still_read_without_being_told_the_coding():
    w = protocol.FrameWriter()
    data = w.frame({"a": [1, 2]})
    assert data and data[4:6] == b"\x1f\x8b"
    assert protocol.Frames().feed(data) == [{"a": [1, 2]}]
    zlib.decompressobj(31).decompress(data[4:])  # a gzip stream, as devices before read


@settings(max_examples=200, deadline=None)
@given(
    code=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    job_id=st.text(
        st.characters(blacklist_characters="$", blacklist_categories=("Cs",)), max_size=40
    ),
)
def test_a_hash_sent_compact_comes_back_salted_and_still_checks_the_code(code, job_id):
    kept = hash_code(code, job_id)
    sent = hash_for_wire(kept, job_id)
    back = hash_from_wire(sent, job_id)
    scheme, rounds, salt, digest = back.split("$")
    assert [scheme, rounds, salt] == kept.split("$")[:3] and kept.split("$")[3].startswith(digest)
    assert len(digest) == WIRE_DIGEST_HEX
    assert code_matches(code, back)
    if job_id:
        assert job_id not in sent.split("$")  # the salt did not travel
    other = hash_code(code, "another-job")
    assert hash_for_wire(other, job_id or "x").split("$")[2] == "another-job"  # kept as it is


@pytest.mark.parametrize(
    ("header", "zstd"),
    [
        ("zstd", True),
        ("gzip, deflate, zstd", True),
        ("ZSTD;q=0.5, gzip", True),
        ("gzip, zstd;q=0", False),
        ("zstd; q=0.0", False),
        ("zstd;q=oops", False),
        ("", False),
        ("gzip", False),
    ],
)
def test_accept_encoding_is_read_with_its_q_values(header, zstd):
    assert ("zstd" in protocol.accepted_codings(header)) is zstd

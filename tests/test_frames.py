"""Streamed sync answers: frames written by HQ are read back whole however the bytes arrive,
a cut inside a frame is noticed, and a frame cannot inflate past its ceiling."""

from __future__ import annotations

import json
import random
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldtech.sync import protocol

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.lists(JSON, min_size=1, max_size=6), st.data())
def test_frames_come_back_whole_however_the_bytes_are_split(objs, data):
    w = protocol.FrameWriter()
    wire = b"".join(w.frame(o) or b"" for o in objs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    reader, got, at = protocol.Frames(), [], 0
    for cut in [*cuts, len(wire)]:
        got += reader.feed(wire[at:cut])
        at = cut
    assert got == objs
    assert not reader.partial


@given(st.lists(JSON, min_size=2, max_size=5), st.data())
def test_a_cut_inside_a_frame_keeps_the_frames_before_it_only(objs, data):
    w = protocol.FrameWriter()
    frames = [w.frame(o) or b"" for o in objs]
    ends = [sum(len(f) for f in frames[: i + 1]) for i in range(len(frames))]
    wire = b"".join(frames)
    cut = data.draw(st.integers(0, len(wire) - 1))
    reader = protocol.Frames()
    got = reader.feed(wire[:cut])
    whole = sum(1 for e in ends if e <= cut)
    assert got == objs[:whole]
    assert reader.partial == (cut not in (0, *ends))


def test_a_frame_larger_than_the_limit_is_refused_before_it_is_read():
    reader = protocol.Frames(limit=1000)
    with pytest.raises(ValueError, match="larger than"):
        reader.feed((5000).to_bytes(4, "big") + b"x" * 10)


def test_a_frame_that_inflates_past_the_limit_is_refused():
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = z.compress(json.dumps(["a" * 200_000]).encode()) + z.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 1000
    reader = protocol.Frames(limit=50_000)
    with pytest.raises(protocol.TooLargeInflated):
        reader.feed(len(bomb).to_bytes(4, "big") + bomb)


def test_garbage_is_a_clear_error():
    with pytest.raises(ValueError, match="gzip"):
        protocol.Frames().feed((4).to_bytes(4, "big") + b"\x00\x01\x02\x03")


def test_a_frame_that_would_not_fit_leaves_the_stream_as_it_was():
    w = protocol.FrameWriter()
    first = w.frame({"through": "a"}) or b""
    noise = random.Random(7).randbytes(3000).hex()  # does not compress below 100 bytes
    assert w.frame({"changes": noise}, within=100) is None  # not written
    last = w.frame({"more": False}) or b""
    assert protocol.Frames().feed(first + last) == [{"through": "a"}, {"more": False}]

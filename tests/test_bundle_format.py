"""The bundle file (fieldtech.sync.bundles): what one signs is what the other reads, and a
file cut, changed, signed by another key, or not a bundle at all is refused in words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldtech.sync import bundles
from fieldtech.sync.bundles import BadBundle

DEVICE_KEY = bundles.new_key()
OTHER_KEY = bundles.new_key()
HQ_BOX = bundles.new_box_key()  # what a device's bundle is sealed to
TEXT = st.text(st.characters(codec="utf-8"), max_size=60)  # markup, controls, CJK, RTL, emoji
BODIES = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)


def made(body, **manifest) -> bytes:
    head = {"kind": bundles.OUTGOING, "device": "dev-1", **manifest}
    return bundles.pack(head, body, DEVICE_KEY[0], HQ_BOX[1])


@given(BODIES, TEXT)
@settings(max_examples=60, deadline=None)
def test_what_is_signed_is_what_is_read(body, note):
    data = made(body, note=note)
    b = bundles.read(data)
    bundles.verify(b, DEVICE_KEY[1], "the device")
    assert b.body(HQ_BOX[0]) == body
    assert b.manifest["note"] == note and b.kind == bundles.OUTGOING
    assert b.manifest["device"] == "dev-1"


def test_the_public_half_is_the_one_made_with_the_private():
    private, public = bundles.new_key()
    assert bundles.public_of(private) == public
    assert bundles.check_public(public) == public
    for bad in ("", "not base64 !", "AAAA", public + "AAAA"):
        with pytest.raises(bundles.BadInput):
            bundles.check_public(bad)


@given(st.data())
@settings(max_examples=120, deadline=None)
def test_any_byte_changed_is_refused(data):
    raw = bytearray(made({"ops": [{"i": "op-1", "o": "job.note", "p": {"body": "x" * 50}}]}))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(BadBundle):
        bundles.verify(bundles.read(bytes(raw)), DEVICE_KEY[1], "the device")


@given(st.data())
@settings(max_examples=80, deadline=None)
def test_a_file_cut_anywhere_or_grown_is_refused(data):
    raw = made({"ops": ["a" * 200]})
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(BadBundle):
        bundles.read(raw[:cut])
    with pytest.raises(BadBundle, match="past its end"):
        bundles.read(raw + b"\x00")


def test_another_keys_signature_and_foreign_files_are_refused_in_words():
    forged = bundles.pack(
        {"kind": bundles.OUTGOING, "device": "dev-1"}, {}, OTHER_KEY[0], HQ_BOX[1]
    )
    with pytest.raises(BadBundle, match="signature is not the device's"):
        bundles.verify(bundles.read(forged), DEVICE_KEY[1], "the device")
    for junk, words in (
        (b"", "not a fieldtech bundle"),
        (b"PK\x03\x04 a zip file", "not a fieldtech bundle"),
        (bundles.MAGIC + (10**9).to_bytes(4, "big"), "larger than a bundle may be"),
    ):
        with pytest.raises(BadBundle, match=words):
            bundles.read(junk)
    with pytest.raises(BadBundle, match="another format"):
        # A manifest of a later format: refused before anything in it is trusted.
        import gzip
        import hashlib
        import json

        payload = gzip.compress(b"{}")
        head = json.dumps(
            {
                "device": "d",
                "format": 99,
                "kind": "outgoing",
                "payload": hashlib.sha256(payload).hexdigest(),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        bundles.read(
            bundles.MAGIC
            + len(head).to_bytes(4, "big")
            + head
            + len(payload).to_bytes(4, "big")
            + payload
            + b"\x00" * 64
        )


def test_contents_that_inflate_past_the_ceiling_are_refused():
    bomb = made({"pad": "0" * (bundles.protocol.MAX_INFLATED + 10)})
    assert len(bomb) < 100_000  # small on disk
    with pytest.raises(BadBundle, match="larger than HQ accepts"):
        bundles.read(bomb).body(HQ_BOX[0])


def test_only_the_one_it_is_sealed_to_reads_it():
    secret = {"note": "Secret Customer Name, 99 Hidden Lane, code ZX9Q7"}
    data = made(secret)
    for word in (b"Secret", b"Hidden", b"ZX9Q7"):
        assert word not in data
    assert bundles.read(data).body(HQ_BOX[0]) == secret
    with pytest.raises(BadBundle, match="sealed for someone else"):
        bundles.read(data).body(bundles.new_box_key()[0])
    assert bundles.box_public_of(HQ_BOX[0]) == HQ_BOX[1]
    # Each bundle its own one-time key: the same body twice is two different payloads.
    assert bundles.read(made(secret)).payload != bundles.read(data).payload

"""HQ's reason for refusing an operation is one line of text, whatever keys and values a
device made up (the fuzzer found a key holding a newline carried into the reason)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fieldtech.domain import ops as O
from fieldtech.sync.payloads import check

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(),
    st.none(),
    st.lists(st.integers(), max_size=3),
)


@given(
    op=st.sampled_from(sorted(O.OPS)),
    payload=st.dictionaries(st.text(max_size=40), values | st.dictionaries(st.text(), values)),
)
def test_a_refusal_is_one_printable_line(op, payload):
    why = check(op, payload)
    if why is not None:
        assert why.isprintable() and len(why) <= 300, why


def test_a_key_with_a_newline_is_named_without_it():
    why = check(O.REQUEST_STEP, {"from": {"\n": float("inf")}})
    assert (
        why == "malformed operation: from.?: a number is not finite or beyond ±9223372036854775807"
    )

"""Operations as a table: every operation kind the wire protocol knows has the function that
turns it into rows, and an operation nobody knows is refused in words, never guessed at."""

from __future__ import annotations

from typing import Any

import pytest

from fieldtech.domain import ops
from fieldtech.domain.errors import BadInput
from fieldtech.domain.hlc import Clock
from fieldtech.sync.payloads import SCHEMAS, check

STAMP = Clock("a1b2c3d4e5f6", None, wall=lambda: 1_760_000_000_000).now()

# A well-formed payload of each kind, and which rows it must stand for (written here, not
# read from the module under test).
WELL_FORMED = {
    "job.status": ({"from": "assigned", "to": "en_route"}, "event"),
    "job.close": ({"from": "in_progress", "to": "completed", "outcome": "repaired"}, "event"),
    "job.note": ({"body": "gate code 1234"}, "event"),
    "job.create": (
        {
            "job": {
                "ref": "J-9",
                "kind": "repair",
                "priority": "normal",
                "customer_id": "c1",
                "site_id": "s1",
                "summary": "follow-up",
                "window_start": "2026-01-05T08:00:00Z",
                "sla_due": "2026-01-06T08:00:00Z",
            }
        },
        "new_job",
    ),
    "reading.add": ({"key": "pressure", "value": "1.4", "verdict": "ok"}, "reading"),
    "stock.move": ({"sku": "P-1", "kind": "used", "qty": 1, "job": "j1"}, "movement"),
    "part_request.create": ({"sku": "P-1", "qty": 2, "status": "submitted"}, "request"),
    "part_request.step": ({"from": "submitted", "to": "approved"}, "request_step"),
    "escalation.raise": ({"note": "need a second pair of hands"}, "event"),
    "job.assign": ({"to": "bo", "name": "Bo"}, "event"),
    "escalation.ack": ({"level": 1}, "event"),
    "callback.record": (
        {"job": "j1", "skill": 5, "attitude": 4, "adherence": 5},
        "callback",
    ),
    "attachment.add": (
        {"sha256": "ab" * 32, "size": 412_000, "type": "image/jpeg", "name": "IMG_0412.jpg"},
        "attachment",
    ),
}


def expand(op: str, payload: Any) -> ops.Expanded:
    return ops.expand(op, "j1", payload, op_id="op-1", hlc=STAMP, actor="ana")


def test_every_operation_the_protocol_knows_has_an_expand_function():
    assert set(SCHEMAS) <= set(ops.EXPANDERS)
    assert set(ops.EXPANDERS) == set(ops.OPS)
    assert all(callable(fn) for fn in ops.EXPANDERS.values())


def test_this_test_names_every_operation_kind_with_a_payload_hq_accepts():
    assert set(WELL_FORMED) == set(SCHEMAS)
    for op, (payload, _rows) in WELL_FORMED.items():
        assert check(op, payload) is None, op


@pytest.mark.parametrize("op", sorted(WELL_FORMED))
def test_each_kind_expands_to_its_rows(op):
    payload, rows = WELL_FORMED[op]
    exp = expand(op, payload)
    assert getattr(exp, rows), f"{op} should write its {rows}"
    if exp.event is not None:
        # The history line is the operation's: its id, its author, its time.
        assert exp.event["id"] == "op-1"
        assert exp.event["actor"] == "ana"
        assert exp.event["hlc"] == STAMP
        assert exp.event["at"] == "2025-10-09T08:53:20Z"


@pytest.mark.parametrize("op", ["job.teleport", "", "JOB.STATUS", "job.status "])
def test_an_unknown_operation_is_refused_in_words(op):
    with pytest.raises(BadInput) as err:
        expand(op, {"from": "assigned", "to": "en_route"})
    assert str(err.value) == f"unknown operation {op!r}"


def test_a_payload_that_is_not_an_object_is_refused_before_the_kind_is_looked_up():
    for op in ("job.note", "job.teleport"):
        with pytest.raises(BadInput, match="payload must be an object"):
            expand(op, ["body"])


@pytest.mark.parametrize("op", sorted(set(WELL_FORMED) - {"escalation.raise"}))
def test_a_kind_missing_what_it_needs_says_what_is_missing(op):
    with pytest.raises(BadInput) as err:
        expand(op, {})
    words = str(err.value)
    assert "lacks" in words or "carries the job" in words

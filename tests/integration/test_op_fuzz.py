"""Every operation type, fuzzed against a real HQ over HTTP on 127.0.0.1.

For each operation a device can send, hypothesis takes a well-formed payload and breaks it
one way: a field of the wrong type, a required field missing, a nested object where a value
belongs, a string far past any bound, control characters in an identifier, an unknown field.
The broken operation travels in a batch with a valid note behind it. HQ must answer 200 (never
a 5xx, never refuse the whole batch), reject the broken operation with a reason that names
the field, and apply the note.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldtech.domain import ops as O
from fieldtech.domain.ids import new_id
from tests.integration.world import World

pytestmark = pytest.mark.integration

EXAMPLES = 30  # per operation type


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    world = World.start(tmp_path_factory.mktemp("opfuzz"))
    tech = world.phone("Dawa Sherpa", team="north")
    job = world.job(tech.user_id, customer_name="Mrs Fuzz", address="2 Fuzz Road")
    tech.client.sync()
    token = json.loads((world.root / tech.user_id / "credential.json").read_text())["token"]
    yield world, tech, job, token
    world.stop()


def valid_payloads(job: dict, tech_id: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """Per operation: its entity and a well-formed payload, as the device writes them."""
    jid = job["id"]
    new_job = {
        "ref": "J-FUZZ-F1",
        "kind": "repair",
        "priority": "normal",
        "priority_rank": 3,
        "customer_id": job["customer_id"],
        "site_id": job["site_id"],
        "summary": "Follow-up",
        "window_start": "2026-11-23T09:00:00Z",
        "sla_due": "2026-11-24T09:00:00Z",
        "parent_job_id": jid,
        "template_id": None,
        "note": "spawned from the fuzz job",
    }
    return {
        O.JOB_STATUS: (jid, {"from": "assigned", "to": "on_hold", "reason": "waiting"}),
        O.JOB_CLOSE: (
            jid,
            {
                "from": "in_progress",
                "to": "completed",
                "outcome": "repaired",
                "name": "K",
                "rating": 5,
            },
        ),
        O.JOB_NOTE: (jid, {"body": "checked the filter"}),
        O.JOB_CREATE: (new_id(), {"job": new_job}),
        O.READING_ADD: (jid, {"key": "diagnosis", "value": "d1", "verdict": "ok", "comment": "c"}),
        O.STOCK_MOVE: (
            "AC-CAP-35",
            {
                "sku": "AC-CAP-35",
                "kind": "used",
                "qty": 1,
                "job": jid,
                "reason": "r",
                "override": 1,
            },
        ),
        O.REQUEST_CREATE: (
            new_id(),
            {"sku": "AC-CAP-35", "qty": 1, "status": "submitted", "job": jid, "note": "n"},
        ),
        O.REQUEST_STEP: (new_id(), {"from": "draft", "to": "submitted", "reason": "r"}),
        O.ESCALATION_RAISE: (jid, {"note": "need help"}),
        O.JOB_ASSIGN: (jid, {"to": tech_id, "name": "Dawa", "from": "assigned", "reset": 1}),
        O.ESCALATION_ACK: (jid, {"level": 1, "note": "seen"}),
        O.CALLBACK_RECORD: (
            new_id(),
            {"job": jid, "skill": 5, "attitude": 4, "adherence": 5, "comment": "good"},
        ),
        O.ATTACHMENT_ADD: (
            jid,
            {
                "sha256": "ab" * 32,
                "size": 4000,
                "type": "image/jpeg",
                "name": "IMG_0412.jpg",
                "caption": "the unit",
                "item": "fault_photo",
            },
        ),
    }


# What each field of each payload is, as the device writes it: the fuzzer breaks a field by
# giving it something of another kind. `required` fields can also go missing.
TEXT_FIELDS = {"reason", "note", "comment", "body", "summary", "name", "value", "description"}
TEXT_FIELDS |= {"caption"}
IDENT_FIELDS = {
    "from", "to", "outcome", "key", "verdict", "sku", "kind", "job", "request", "status",
    "ref", "priority", "customer_id", "site_id", "parent_job_id", "template_id",
    "window_start", "sla_due", "sha256", "type", "item",
}  # fmt: skip
INT_FIELDS = {"qty", "rating", "level", "skill", "attitude", "adherence", "priority_rank", "size"}
FLAG_FIELDS = {"override", "reset"}
REQUIRED = {
    O.JOB_STATUS: {"from", "to"},
    O.JOB_CLOSE: {"from", "to"},
    O.JOB_NOTE: {"body"},
    O.JOB_CREATE: {"job"},
    O.READING_ADD: {"key", "value", "verdict"},
    O.STOCK_MOVE: {"sku", "kind", "qty"},
    O.REQUEST_CREATE: {"sku", "qty", "status"},
    O.REQUEST_STEP: {"from", "to"},
    O.ESCALATION_RAISE: set(),
    O.JOB_ASSIGN: {"to"},
    O.ESCALATION_ACK: {"level"},
    O.CALLBACK_RECORD: {"job", "skill", "attitude", "adherence"},
    O.ATTACHMENT_ADD: {"sha256", "size", "type", "name"},
}
NEW_JOB_REQUIRED = {
    "ref", "kind", "priority", "customer_id", "site_id", "summary", "window_start", "sla_due",
}  # fmt: skip

nested = st.recursive(
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    lambda inner: st.dictionaries(st.text(max_size=3), inner, min_size=1, max_size=2),
    max_leaves=20,
)
not_text = st.one_of(
    st.integers(-(2**53), 2**53),
    st.floats(-1e15, 1e15, allow_nan=False),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    nested,
)
not_int = st.one_of(
    st.text(max_size=8),
    st.floats(-1e15, 1e15, allow_nan=False).filter(lambda f: f != int(f)),
    st.lists(st.integers(), max_size=3),
    nested,
)
not_flag = st.one_of(st.text(min_size=1, max_size=8), st.lists(st.integers()), nested)
huge = st.integers(100_001, 400_000).map(lambda n: "x" * n)
controls = st.sampled_from(["\x00", "\x1b[2J", "\n", "\r", "\x07", "\x7f", "\x1b]0;pwned\x07"])


def wrong_value(name: str) -> st.SearchStrategy:
    if name in INT_FIELDS:
        return not_int
    if name in FLAG_FIELDS:
        return not_flag
    return not_text


def mutations(op: str, payload: dict[str, Any]) -> st.SearchStrategy:
    """(broken payload, the field its rejection must name)."""
    target = payload["job"] if op == O.JOB_CREATE else payload
    required = NEW_JOB_REQUIRED if op == O.JOB_CREATE else REQUIRED[op]
    fields = sorted(target)

    def put(name: str, value: Any) -> dict[str, Any]:
        broken = {**target, name: value}
        return {"job": broken} if op == O.JOB_CREATE else broken

    def drop(name: str) -> dict[str, Any]:
        broken = {k: v for k, v in target.items() if k != name}
        return {"job": broken} if op == O.JOB_CREATE else broken

    field = st.sampled_from(fields)
    kinds = [
        field.flatmap(lambda f: wrong_value(f).map(lambda v: (put(f, v), f))),
        field.flatmap(lambda f: nested.filter(bool).map(lambda v: (put(f, v), f))),
        st.sampled_from(fields).filter(lambda f: f in TEXT_FIELDS | IDENT_FIELDS)
        if any(f in TEXT_FIELDS | IDENT_FIELDS for f in fields)
        else st.nothing(),
        st.text(min_size=1, max_size=12)
        .filter(lambda k: k not in target and k.isprintable())
        .flatmap(lambda k: st.one_of(st.none(), st.text(max_size=5), nested).map(
            lambda v: (put(k, v), k)
        )),
    ]  # fmt: skip
    # A string far past any bound, in a text or identifier field.
    kinds[2] = kinds[2].flatmap(lambda f: huge.map(lambda v: (put(f, v), f)))
    ident = [f for f in fields if f in IDENT_FIELDS]
    if ident:
        kinds.append(
            st.tuples(st.sampled_from(ident), controls).map(
                lambda t: (put(t[0], f"{target[t[0]]}{t[1]}"), t[0])
            )
        )
    present = [f for f in fields if f in required]
    if present:
        kinds.append(st.sampled_from(present).map(lambda f: (drop(f), f)))
    if op != O.JOB_CREATE:
        kinds.append(st.sampled_from([[], "text", 7, None]).map(lambda v: (v, "payload")))
    return st.one_of(kinds)


def post(world: World, token: str, device: str, ops: list[dict]) -> httpx.Response:
    body = {"v": 1, "device": device, "cursor": 2**40, "limit": 1, "ops": ops}
    return httpx.post(
        world.server.url + "/v1/sync",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )


@pytest.mark.parametrize("op", O.OPS)
def test_a_malformed_payload_is_rejected_alone_and_the_batch_behind_it_applies(fuzz, op):
    world, tech, job, token = fuzz
    entity, payload = valid_payloads(job, tech.user_id)[op]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(mutations(op, payload))
    def check(case):
        broken, named = case
        bad = {"i": new_id(), "h": tech.device.clock.now(), "o": op, "e": entity, "p": broken}
        note = {
            "i": new_id(),
            "h": tech.device.clock.now(),
            "o": O.JOB_NOTE,
            "e": job["id"],
            "p": {"body": "behind the broken one"},
        }
        r = post(world, token, tech.device.device_id, [bad, note])
        assert r.status_code == 200, (r.status_code, r.text[:500], broken)
        answer = r.json()
        assert answer["acks"] == [note["i"]], (answer, broken)
        [rejection] = answer["rejected"]
        assert rejection["id"] == bad["i"]
        reason = rejection["reason"]
        assert reason and "\n" not in reason and len(reason) <= 300, reason
        assert named in reason, (named, reason)
        assert world.count("job_events", id=note["i"]) == 1
        assert world.count("applied_ops", id=bad["i"], outcome="rejected") == 1

    check()


def test_the_well_formed_payloads_themselves_get_past_the_schema(fuzz):
    """The fuzzer's starting points are what a device writes: none of them is refused as
    malformed (HQ may still refuse one by its rules, say a step the request cannot take)."""
    world, tech, job, token = fuzz
    batch = [
        {"i": new_id(), "h": tech.device.clock.now(), "o": op, "e": entity, "p": payload}
        for op, (entity, payload) in valid_payloads(job, tech.user_id).items()
    ]
    r = post(world, token, tech.device.device_id, batch)
    assert r.status_code == 200, r.text
    malformed = [x for x in r.json()["rejected"] if "malformed" in x["reason"]]
    assert malformed == [], malformed


def test_a_number_past_64_bits_or_infinity_is_refused_with_its_operation_alone(fuzz):
    """Found by the API fuzzer once: such a number used to refuse the whole batch (422), so
    every later sync of that device failed the same way."""
    world, tech, job, token = fuzz
    note = {"i": new_id(), "h": tech.device.clock.now(), "o": O.JOB_NOTE, "e": job["id"]}
    note["p"] = {"body": "after the numbers"}
    big = {"i": new_id(), "h": tech.device.clock.now(), "o": O.STOCK_MOVE, "e": "AC-CAP-35"}
    big["p"] = {"sku": "AC-CAP-35", "kind": "used", "qty": 10**30, "job": job["id"]}
    body = {"v": 1, "device": tech.device.device_id, "cursor": 2**40, "ops": [big, note]}
    text = json.dumps(body).replace(str(10**30), "Infinity")  # Python's json reads it
    r = httpx.post(
        world.server.url + "/v1/sync",
        content=text,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["acks"] == [note["i"]]
    [refused] = answer["rejected"]
    assert refused["id"] == big["i"] and "qty" in refused["reason"], refused

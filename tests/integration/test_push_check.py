"""Asking after a lost answer (`check`): HQ answers for exactly the request the device
lost, by the key of its op ids, with every refusal among them, or says it never got it."""

from __future__ import annotations

import json

import httpx
import pytest

from fieldtech.domain.hlc import node_of
from fieldtech.services import jobs
from fieldtech.sync import protocol

pytestmark = pytest.mark.integration


def poster(world, phone):
    token = json.loads((world.root / phone.user_id / "credential.json").read_text())["token"]

    def post(body: dict) -> dict:
        r = httpx.post(
            world.server.url + "/v1/sync",
            content=protocol.encode({"v": 2, "cursor": 0, **body}),
            headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return r.json()

    return post


def two_notes_and_a_refusal(world, phone):
    job = world.job(phone.user_id, ref="K-1")
    phone.client.sync()
    jobs.note(phone.device, job["id"], "first")
    jobs.note(phone.device, job["id"], "second")
    node = node_of(phone.device.device_id)
    a, b = (protocol.to_wire(o, node) for o in phone.store.outbox("pending"))
    bad = {"i": a["i"][:-4] + "ffff", "o": "job.note", "e": "no-such-job", "p": {"body": "x"}}
    return job, a, b, bad


def test_a_request_whose_last_op_went_earlier_is_not_taken_as_held(world):
    """The last op of the lost request reached HQ before, in another request: the check must
    not settle the ops before it, which HQ never got."""
    ana = world.phone("Ana Lima")
    post = poster(world, ana)
    _job, a, b, _bad = two_notes_and_a_refusal(world, ana)
    assert post({"ops": [b]})["through"] == b["i"]  # an earlier request carried b alone
    lost = [a["i"], b["i"]]  # then [a, b] went and was lost before HQ
    answer = post({"check": protocol.request_key(lost)})
    assert answer.get("through") is None and answer["rejected"] == []
    assert world.count("applied_ops", id=a["i"]) == 0


def test_a_check_brings_refusals_answered_again_with_the_request(world):
    ana = world.phone("Ana Lima")
    post = poster(world, ana)
    _job, a, _b, bad = two_notes_and_a_refusal(world, ana)
    first = post({"ops": [bad]})
    assert [r["id"] for r in first["rejected"]] == [bad["i"]]
    post({"ops": [bad, a]})  # HQ commits it; the answer is lost on the way
    answer = post({"check": protocol.request_key([bad["i"], a["i"]])})
    assert answer["through"] == a["i"]
    assert [r["id"] for r in answer["rejected"]] == [bad["i"]]  # answered again, still told
    assert answer["rejected"][0]["reason"] == first["rejected"][0]["reason"]


def test_only_the_devices_latest_push_is_kept_and_a_check_goes_alone(world):
    ana = world.phone("Ana Lima")
    post = poster(world, ana)
    _job, a, b, _bad = two_notes_and_a_refusal(world, ana)
    post({"ops": [a]})
    post({"ops": [b]})
    assert post({"check": protocol.request_key([a["i"]])}).get("through") is None  # superseded
    assert post({"check": protocol.request_key([b["i"]])})["through"] == b["i"]
    assert world.count("push_outcomes", device_id=ana.device.device_id) == 1
    assert post({"check": "not-a-key"}).get("through") is None
    token = json.loads((world.root / ana.user_id / "credential.json").read_text())["token"]
    r = httpx.post(
        world.server.url + "/v1/sync",
        content=json.dumps({"v": 2, "check": protocol.request_key([a["i"]]), "ops": [a]}),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 422 and "check" in r.json()["detail"]


def test_a_credential_copied_to_another_device_file_is_refused(world):
    ana = world.phone("Ana Lima")
    post_as = poster(world, ana)
    assert "cursor" in post_as({"node": node_of(ana.device.device_id)})
    token = json.loads((world.root / ana.user_id / "credential.json").read_text())["token"]
    r = httpx.post(
        world.server.url + "/v1/sync",
        content=json.dumps({"v": 2, "node": "0123456789ab"}),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403 and "another device" in r.json()["detail"]


def test_a_row_whose_cleared_reference_is_missing_is_not_marked_carried():
    """A device clears an appliance's site it lacks: that copy must not stop a later one."""
    from fieldtech.hq.pull import _whole_on_arrival

    appliance = {"id": "a1", "site_id": "s1", "customer_id": "c1"}
    assert not _whole_on_arrival("appliances", appliance, set(), {})
    assert _whole_on_arrival("appliances", appliance, {("sites", "s1")}, {})  # same page
    assert _whole_on_arrival("appliances", appliance, set(), {("sites", "s1"): b"x"})  # earlier
    assert _whole_on_arrival("appliances", {**appliance, "site_id": None}, set(), {})
    assert _whole_on_arrival("customers", {"id": "c1"}, set(), {})  # nothing it would clear

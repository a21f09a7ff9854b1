"""Ops go up without their clock stamps where the id gives them back: HQ rebuilds each
stamp exactly, and an op that lacks one it cannot rebuild is refused alone, with a reason."""

from __future__ import annotations

import json

import httpx
import pytest

from fieldtech.domain.hlc import node_of
from fieldtech.services import jobs
from fieldtech.sync import protocol

pytestmark = pytest.mark.integration


def test_hq_holds_the_stamp_each_op_was_made_with_though_none_travelled(world):
    ana = world.phone("Ana Lima")
    job = world.job(ana.user_id, ref="W-1")
    ana.client.sync()
    jobs.start(ana.device, job["id"])
    for n in range(40):
        jobs.note(ana.device, job["id"], f"note {n}")
    made = {o["id"]: o["hlc"] for o in ana.store.outbox("pending", limit=1000)}
    node = node_of(ana.device.device_id)
    wire = [protocol.to_wire(o, node) for o in ana.store.outbox("pending", limit=1000)]
    assert len(made) == 41 and not [w for w in wire if "h" in w]  # not one stamp goes up
    report = ana.client.sync()
    assert report.pending == 0 and not report.rejected
    held = {r["id"]: r["hlc"] for r in world.rows("applied_ops", device_id=ana.device.device_id)}
    assert held == made
    events = {e["id"]: e for e in world.rows("job_events", job_id=job["id"])}
    assert all(events[i]["hlc"] == h for i, h in made.items() if i in events)


def test_an_op_without_a_stamp_hq_cannot_rebuild_is_refused_alone(world):
    ana = world.phone("Ana Lima")
    job = world.job(ana.user_id, ref="W-2")
    ana.client.sync()
    jobs.note(ana.device, job["id"], "a note that goes as it should")
    good = protocol.to_wire(ana.store.outbox("pending")[0], node_of(ana.device.device_id))
    odd = {"i": "not-a-uuid-op", "o": "job.note", "e": job["id"], "p": {"body": "x"}}
    token = json.loads((world.root / ana.user_id / "credential.json").read_text())["token"]
    body = {"v": 2, "device": ana.device.device_id, "cursor": 0, "ops": [odd, good]}
    r = httpx.post(
        world.server.url + "/v1/sync",
        content=protocol.encode(body),
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["through"] == good["i"]
    assert [x["id"] for x in answer["rejected"]] == ["not-a-uuid-op"]
    assert "clock" in answer["rejected"][0]["reason"] or "stamp" in answer["rejected"][0]["reason"]
    assert world.count("job_events", id=good["i"]) == 1

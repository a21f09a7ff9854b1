"""Dispatch at HQ → device sync → work offline → sync → HQ and a second device see it."""

from __future__ import annotations

import pytest

from fieldtech.services import checklists, jobs, parts

pytestmark = pytest.mark.integration

SPLIT_AC_READINGS = {
    "service_card": "yes",
    "shoe_covers": "yes",
    "floor_cloth": "yes",
    "wall_type": "brick",
    "bracket_level": "yes",
    "supply_voltage": "231",
    "evacuation": "380",
    "vacuum_hold": "12",
    "leak_check": "yes",
    "drain_test": "yes",
    "delta_t": "9.5",
    "insulation": "40",
    "demo_given": "yes",
    "clean_up": "yes",
    "other_appliances": "yes",
    "customer_signature": "signed: M. Santos",
}


def dispatch(hq, tech_id: str, **extra) -> dict:
    args = [
        "dispatch",
        "--kind",
        "install",
        "--summary",
        "Install split AC",
        "--customer",
        "Maria Santos",
        "--phone",
        "+86 139 0000 1111",
        "--address",
        "12 Pine Ave",
        "--city",
        "Lhasa",
        "--technician",
        tech_id,
        "--appliance",
        "air conditioner",
        "--hazards",
        "altitude 3,650 m;crane needed",
        "--priority",
        "vip",
    ]
    for k, v in extra.items():
        args += [f"--{k}", v]
    return hq.cli_json(*args)


def test_job_travels_out_and_the_work_comes_back(hq, handset):
    tech = handset("Tenzin Dorje")
    job = dispatch(hq, "tenzin-dorje")
    report = tech.sync()
    assert report.requests == 1
    card = tech.store.job_card(job["id"])
    assert card["ref"] == job["ref"] and card["status"] == "assigned"
    assert "crane needed" in card["site"]["hazards"]
    assert card["appliance"]["category"] == "air conditioner"

    # A day without signal: all of it stays in the outbox.
    d = tech.device
    jobs.start(d, job["id"])
    jobs.arrive(d, job["id"])
    for key, value in SPLIT_AC_READINGS.items():
        checklists.record_reading(d, job["id"], key, value)
    jobs.note(d, job["id"], "Outdoor unit on the east wall, crane booked for 10:00")
    parts.use_part(d, job["id"], "AC-PIPE-14", 4, override_reason="bought locally")
    request = parts.request_part(d, "AC-PCB-IDU", 1, job_id=job["id"])
    code = job["confirmation_code"]  # HQ gave it to the customer; the device has its hash
    jobs.close(d, job["id"], outcome="installed", signoff_name="Maria Santos", code=code, rating=5)
    pending = len(tech.store.outbox("pending"))
    assert pending == 2 + 1 + len(SPLIT_AC_READINGS) + 1 + 1 + 1 + 1  # +1: on site → in progress

    report = tech.sync()
    assert report.acknowledged == pending and not report.rejected
    assert tech.store.outbox() == []
    assert report.requests == 1

    # HQ has the whole day.
    at_hq = hq.api().get(f"/v1/jobs/{job['id']}").json()
    assert at_hq["status"] == "completed" and at_hq["rating"] == 5
    assert at_hq["signoff_name"] == "Maria Santos" and at_hq["outcome"] == "installed"
    assert {r["item_key"] for r in at_hq["readings"]} == set(SPLIT_AC_READINGS)
    notes = [e["body"] for e in at_hq["history"] if e["kind"] == "note"]
    assert notes == ["Outdoor unit on the east wall, crane booked for 10:00"]
    reqs = hq.api().get("/v1/part-requests").json()
    assert [r["id"] for r in reqs] == [request["id"]] and reqs[0]["status"] == "submitted"

    # A supervisor's device on the same team sees the same result.
    boss = handset("Lhamo Supervisor", role="supervisor")
    boss.sync()
    seen = boss.store.job_card(job["id"])
    assert seen["status"] == "completed" and seen["rating"] == 5
    assert len(boss.store.reading_history(job["id"])) == len(SPLIT_AC_READINGS)
    assert [e["body"] for e in boss.store.job_events(job["id"]) if e["kind"] == "note"] == notes


def test_part_request_steps_reach_the_device(hq, handset):
    tech = handset("Tenzin Dorje")
    job = dispatch(hq, "tenzin-dorje")
    tech.sync()
    req = parts.request_part(tech.device, "WH-ELEM-2K", 2, job_id=job["id"])
    tech.sync()
    api = hq.api()
    assert api.post(f"/v1/part-requests/{req['id']}/approve", json={}).status_code == 200
    tech.sync()
    assert tech.store.part_request(req["id"])["status"] == "approved"
    assert api.post(f"/v1/part-requests/{req['id']}/ship", json={}).status_code == 200
    tech.sync()
    assert tech.store.part_request(req["id"])["status"] == "shipped"
    from fieldtech.domain.parts import RequestStatus

    parts.step_request(tech.device, req["id"], RequestStatus.RECEIVED)
    assert tech.store.on_hand("WH-ELEM-2K") == 2
    tech.sync()
    assert api.get("/v1/part-requests").json()[0]["status"] == "received"


def test_a_repeated_sync_applies_nothing_twice(hq, handset):
    tech = handset("Tenzin Dorje")
    job = dispatch(hq, "tenzin-dorje")
    tech.sync()
    jobs.note(tech.device, job["id"], "gate code 4411")
    ops = tech.store.outbox()
    # Send the same batch twice by hand, as a retry after a lost answer would.
    from fieldtech.sync import protocol

    body = protocol.encode(tech.client._body(ops))
    for _ in range(2):
        r = tech.client.http.post("/v1/sync", content=body, headers={"Content-Encoding": "gzip"})
        assert r.status_code == 200
        outcome = protocol.Frames().feed(r.content)[0]  # a streamed answer: its first frame
        assert outcome["through"] == ops[0]["id"] and outcome["rejected"] == []
    history = hq.api().get(f"/v1/jobs/{job['id']}").json()["history"]
    assert [e["body"] for e in history if e["kind"] == "note"] == ["gate code 4411"]


def test_an_escalation_goes_out_first_and_reaches_hq(hq, handset):
    from fieldtech.services.escalations import escalate

    tech = handset("Tenzin Dorje")
    job = dispatch(hq, "tenzin-dorje", priority="normal")
    tech.sync()
    jobs.note(tech.device, job["id"], "first note")
    escalate(tech.device, job["id"], "compressor seized, need HQ help")
    queue = [o["op"] for o in tech.store.outbox()]
    assert queue == ["escalation.raise", "job.note"]
    tech.sync()
    at_hq = hq.api().get(f"/v1/jobs/{job['id']}").json()
    assert at_hq["escalation_level"] == 2  # straight to the supervisor
    kinds = [e["kind"] for e in at_hq["history"]]
    assert "escalation" in kinds and "note" in kinds
    tech.sync()
    assert tech.store.job(job["id"])["escalation_level"] == 2

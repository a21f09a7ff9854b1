# ruff: noqa: E501 - the CSV below is data, one job per line
"""HQ's API with bad input, dispatch flows (import, reassign, cancel) and conflicts."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from fieldtech.hq import auth
from fieldtech.services import jobs

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(world):
    auth.add_user(world.hq, name="Admin", role="admin", user_id="admin")
    token = auth.admin_token(world.hq, "admin")
    with httpx.Client(
        base_url=world.server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        yield http


def sync_as(world, phone, body: bytes, encoding: str | None = "gzip") -> httpx.Response:
    token = json.loads((world.root / phone.user_id / "credential.json").read_text())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    if encoding:
        headers["Content-Encoding"] = encoding
    return httpx.post(world.server.url + "/v1/sync", content=body, headers=headers, timeout=30)


def test_bad_sync_bodies_get_4xx_with_a_reason(world):
    phone = world.phone("Tenzin Dorje")
    dev = phone.device.device_id
    cases = [
        (b"{not json", None, 400),
        (gzip.compress(b"{not json"), "gzip", 400),
        (b"\x1f\x8b\x08garbage", "gzip", 400),
        (gzip.compress(json.dumps({"v": 1, "device": dev, "cursor": -1}).encode()), "gzip", 422),
        (gzip.compress(json.dumps({"v": 9, "device": dev}).encode()), "gzip", 422),
        (gzip.compress(json.dumps({"v": 1, "device": dev, "extra": 1}).encode()), "gzip", 422),
        (
            gzip.compress(json.dumps({"v": 1, "device": dev, "ops": [{"i": "x"}]}).encode()),
            "gzip",
            422,
        ),
        (gzip.compress(json.dumps({"v": 1, "device": "someone-else"}).encode()), "gzip", 403),
        (gzip.compress(b" " * (70 * 1024 * 1024)), "gzip", 413),  # a zip bomb
        (b"x" * (9 * 1024 * 1024), None, 413),
    ]
    for body, enc, status in cases:
        r = sync_as(world, phone, body, enc)
        assert r.status_code == status, (status, r.text)
        assert r.json()["detail"] and "\n" not in r.json()["detail"]


def test_malformed_ops_are_rejected_one_by_one(world):
    phone = world.phone("Tenzin Dorje")
    job = world.job(phone.user_id)
    from fieldtech.domain.hlc import Clock
    from fieldtech.sync import protocol

    clock = Clock("d")
    ops = [
        {"i": "op-1", "h": clock.now(), "o": "job.teleport", "e": job["id"], "p": {}},
        {"i": "op-2", "h": "not-a-stamp", "o": "job.note", "e": job["id"], "p": {"body": "x"}},
        {
            "i": "op-3",
            "h": clock.now(),
            "o": "job.status",
            "e": job["id"],
            "p": {"from": "assigned", "to": "flying"},
        },
        {
            "i": "op-4",
            "h": clock.now(),
            "o": "stock.move",
            "e": "NO-SUCH-SKU",
            "p": {"sku": "NO-SUCH-SKU", "kind": "used", "qty": 1},
        },
        {"i": "op-5", "h": clock.now(), "o": "job.note", "e": job["id"], "p": {"body": "fine"}},
    ]
    body = protocol.encode({"v": 1, "device": phone.device.device_id, "ops": ops})
    r = sync_as(world, phone, body)
    assert r.status_code == 200
    answer = r.json()
    assert answer["acks"] == ["op-5"]
    reasons = {x["id"]: x["reason"] for x in answer["rejected"]}
    assert set(reasons) == {"op-1", "op-2", "op-3", "op-4"}
    assert "unknown operation" in reasons["op-1"] and "clock" in reasons["op-2"]
    assert "unknown job status" in reasons["op-3"] and "does not know" in reasons["op-4"]


CSV = """ref,kind,priority,summary,customer_name,customer_phone,address,city,hazards,appliance_category,technician,window_start,sla_due
IMP-1,install,vip,Install split AC,Maria Santos,+86 1,12 Pine Ave,Lhasa,crane needed;altitude 3650 m,air conditioner,tenzin-dorje,2026-11-24T09:00,2026-11-25T18:00
IMP-2,repair,normal,No hot water,Olga Berg,,3 Mill Lane,Dali,,water heater,Tenzin Dorje,,
IMP-3,teleport,normal,Bad kind,Someone,,1 Road,,,,tenzin-dorje,,
IMP-4,repair,urgent-ish,Bad priority,Someone,,1 Road,,,,tenzin-dorje,,
IMP-5,repair,normal,Bad date,Someone,,1 Road,,,,tenzin-dorje,tomorrow-ish,
IMP-6,repair,normal,Unknown tech,Someone,,1 Road,,,,nobody-here,,
,repair,normal,No ref,Someone,,1 Road,,,,tenzin-dorje,,
IMP-8,repair,normal,Too many,Someone,,1 Road,,,,tenzin-dorje,,,extra
"""


def test_csv_import_reports_every_rejected_row_and_reimport_adds_nothing(world, admin):
    tech = world.phone("Tenzin Dorje")
    r = admin.post("/v1/jobs/import", content=CSV.encode())
    report = r.json()
    assert r.status_code == 200 and report["created"] == 2
    lines = {x["line"]: x["reason"] for x in report["rejected"]}
    assert sorted(lines) == [4, 5, 6, 7, 8, 9]
    assert "unknown job kind" in lines[4] and "unknown priority" in lines[5]
    assert "not a date-time" in lines[6] and "no user" in lines[7]
    assert "missing ref" in lines[8] and "more values" in lines[9]
    again = admin.post("/v1/jobs/import", content=CSV.encode()).json()
    assert again["created"] == 0 and again["already_there"] == 2
    assert world.count("jobs") == 2
    tech.client.sync()
    card = tech.store.job_card("IMP-1")
    assert card["priority"] == "vip" and "crane needed" in card["site"]["hazards"]
    bad_header = admin.post("/v1/jobs/import", content=b"kind,summary\nrepair,x\n").json()
    assert "header lacks" in bad_header["rejected"][0]["reason"]


def test_catalogue_and_template_uploads(world, admin):
    ok = admin.post("/v1/parts", content=b"sku,name,unit\nNEW-1,New valve,pc\n")
    assert ok.json() == {"saved": 1}
    bad = admin.post("/v1/parts", content=b"sku,name\n,no sku\nX-2,\n")
    assert bad.status_code == 400 and "nothing saved" in bad.json()["detail"]
    as_json = admin.post("/v1/parts", json=[{"sku": "NEW-2", "name": "Seal"}])
    assert as_json.json() == {"saved": 1}
    t = {
        "id": "pump-install",
        "name": "Heat pump install",
        "job_kind": "install",
        "category": "heat pump",
        "items": [
            {"key": "v", "label": "Voltage", "type": "number", "min": 198, "max": 242, "unit": "V"}
        ],
    }
    assert admin.post("/v1/templates", json=t).json()["version"] == 1
    assert admin.post("/v1/templates", json=t).json()["version"] == 2
    broken = admin.post("/v1/templates", json={"id": "x", "items": []})
    assert broken.status_code == 400
    phone = world.phone("Tenzin Dorje")
    phone.client.sync()
    assert phone.store.part("NEW-1")["name"] == "New valve"
    assert phone.store.template("pump-install").version == 2


def test_reassign_moves_the_job_and_cancel_during_field_work_is_a_conflict(world, admin):
    a = world.phone("Tenzin Dorje")
    b = world.phone("Kofi Mensah")
    job = world.job(a.user_id)
    a.client.sync()
    jobs.note(a.device, job["id"], "customer prefers mornings")
    a.client.sync()
    r = admin.post(f"/v1/jobs/{job['id']}/assign", json={"technician": b.user_id})
    assert r.status_code == 200
    a.client.sync()
    b.client.sync()
    card = b.store.job_card(job["id"])
    assert card["customer"]["name"] and card["technician_id"] == b.user_id
    assert "customer prefers mornings" in [e["body"] for e in b.store.job_events(job["id"])]
    assert a.store.job(job["id"])["technician_id"] == b.user_id
    from fieldtech.store.jobs import QueueFilter

    assert a.store.queue(QueueFilter(technician_id=a.user_id)) == []

    # B works offline while HQ cancels the job.
    jobs.start(b.device, job["id"])
    jobs.arrive(b.device, job["id"])
    jobs.note(b.device, job["id"], "unit replaced anyway")
    assert (
        admin.post(
            f"/v1/jobs/{job['id']}/cancel", json={"reason": "customer called to cancel"}
        ).status_code
        == 200
    )
    b.client.sync()
    at_hq = admin.get(f"/v1/jobs/{job['id']}").json()
    assert at_hq["status"] == "on_site"  # the field work is kept
    kinds = [(e["kind"], e["to_status"]) for e in at_hq["history"]]
    assert ("status", "cancelled") in kinds and ("status", "on_site") in kinds
    assert [c["field"] for c in at_hq["conflicts"]] == ["status"]
    b.client.sync()
    mine = b.store.conflicts(job["id"])
    assert len(mine) == 1 and mine[0]["theirs"] == "cancelled"
    assert b.store.job(job["id"])["status"] == "on_site"


def test_openapi_lists_every_route(world, admin):
    doc = admin.get("/v1/openapi.json").json()
    assert "/v1/sync" in doc["paths"] and "/v1/jobs/import" in doc["paths"]
    assert httpx.get(world.server.url + "/v1/openapi.json").status_code == 401


def test_service_standard_endpoints(world, admin):
    from fieldtech.services import checklists
    from fieldtech.services import jobs as job_service

    tech = world.phone("Tenzin Dorje")
    job = world.job(tech.user_id, kind="repair", sla_due="2000-01-01T00:00")
    tech.client.sync()
    early = admin.post("/v1/escalations/run", json={"at": "2000-01-01T00:30"}).json()
    assert early == [{"job": job["ref"], "from": 0, "to": 1}]
    assert admin.post("/v1/escalations/run", json={"at": "soon"}).status_code == 400
    assert (
        admin.post(
            f"/v1/jobs/{job['id']}/callback", json={"skill": 5, "attitude": 5, "adherence": 5}
        ).status_code
        == 409
    )
    d = tech.device
    job_service.arrive(d, job["id"])
    for e in checklists.checklist(d, job["id"])["items"]:
        item = e["item"]
        if item.type.value == "photo":
            continue  # a photo item takes a file, not a reading (not required here)
        value = {"tick": "yes", "choice": item.choices[0] if item.choices else ""}.get(
            item.type.value, "done"
        )
        checklists.record_reading(d, job["id"], item.key, value)
    job_service.close(
        d,
        job["id"],
        outcome="repaired",
        signoff_name="C",
        code=job["confirmation_code"],  # the customer's, from HQ
        rating=4,
    )
    tech.client.sync()
    bad = admin.post(
        f"/v1/jobs/{job['id']}/callback", json={"skill": 9, "attitude": 5, "adherence": 5}
    )
    assert bad.status_code == 422 and "skill" in bad.json()["detail"]
    ok = admin.post(
        f"/v1/jobs/{job['id']}/callback",
        json={"skill": 5, "attitude": 4, "adherence": 5, "comment": "tidy"},
    )
    assert ok.status_code == 201
    kpis = admin.get("/v1/reports/kpis").json()
    assert kpis[0]["technician"] == tech.user_id and kpis[0]["avg_attitude"] == 4
    csv_text = admin.get("/v1/reports/kpis", params={"format": "csv"}).text
    assert csv_text.startswith("technician,name,team,closed")
    html = admin.get(f"/v1/jobs/{job['id']}/report", params={"format": "html"}).text
    assert f"Service report {job['ref']}" in html and "rating 4/5" in html
    md = admin.get(f"/v1/jobs/{job['id']}/report").text
    assert md.startswith(f"# Service report {job['ref']}")
    assert admin.post("/v1/plan/maintenance", json={"date": "nope"}).status_code == 400
    assert admin.post("/v1/plan/maintenance", json={}).status_code == 200
    day = admin.get(f"/v1/technicians/{tech.user_id}/day").json()
    assert isinstance(day, list)

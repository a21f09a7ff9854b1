"""Sync that survives real data: rows that refer outside the device's scope, a repair that
never leaves less than it found, reassignments a technician hears about, install dates."""

from __future__ import annotations

import pytest

from fieldtech.hq import dispatch
from fieldtech.services import jobs
from tests.integration.world import ADMIN

pytestmark = pytest.mark.integration


def follow_up_for(world, first, second) -> dict:
    """A job spawned on `first`'s device from their own job, then handed to `second` at HQ."""
    job = world.job(first.user_id, ref="S-1", kind="survey")
    first.client.sync()
    jobs.start(first.device, job["id"])
    done = jobs.cannot_complete(first.device, job["id"], "no access to the roof", follow_up=True)
    first.client.sync()
    spawned = done["spawned"]
    dispatch.assign(world.hq, ADMIN, spawned["id"], second.user_id)
    return spawned


def test_a_follow_up_of_another_technicians_job_syncs_to_its_new_technician(world):
    ana, bo = world.phone("Ana Lima"), world.phone("Bo Chen")
    bo.client.sync()
    spawned = follow_up_for(world, ana, bo)
    bo.client.sync()  # failed with FOREIGN KEY constraint failed: the parent is Ana's
    mine = bo.store.job(spawned["id"])
    assert mine["technician_id"] == bo.user_id
    assert mine["parent_job_id"] is None  # the parent is not Bo's to hold
    world.job(bo.user_id, ref="R-2")
    bo.client.sync()  # and every later sync goes on
    assert {j["ref"] for j in bo.store.queue(limit=10)} >= {spawned["ref"], "R-2"}


def test_history_that_comes_before_its_job_in_the_feed_arrives_with_it(world):
    """A job's row moves up the feed each time it changes, so its earlier events can reach a
    page before it does: one row a page, every event still arrives and nothing fails."""
    from datetime import UTC, datetime, timedelta

    from fieldtech.hq.escalation import run_escalations

    bo = world.phone("Bo Chen")
    bo.client.sync()
    job = world.job(bo.user_id, ref="R-9", priority="low")
    run_escalations(world.hq, datetime.now(UTC) + timedelta(days=30))
    hq_events = {e["id"] for e in world.rows("job_events", job_id=job["id"])}
    assert hq_events
    bo.client.page = 1
    bo.client.sync()
    assert {e["id"] for e in bo.store.job_events(job["id"])} == hq_events
    assert bo.store.job(job["id"])["escalation_level"] >= 1


def _put_down(world, phone):
    """Close a phone's file, as the app does before `fieldtech repair` runs."""
    phone.client.close()
    phone.store.close()
    world.phones.remove(phone)
    return phone.store.path


def test_a_forced_repair_rebuilds_from_hq_and_keeps_the_old_file_when_it_would_lose(world):
    from fieldtech.store import open_store
    from fieldtech.store.salvage import holdings
    from fieldtech.sync.repair import rebuild, sync_into

    ana, bo = world.phone("Ana Lima"), world.phone("Bo Chen")
    bo.client.sync()
    spawned = follow_up_for(world, ana, bo)
    world.job(bo.user_id, ref="R-3")
    bo.client.sync()
    token = bo.client.http.headers["Authorization"].split()[1]
    device_id = bo.device.device_id
    path = _put_down(world, bo)
    found = holdings(path)
    assert found["jobs"] == 2 and found["parts"] > 0 and found["templates"] > 0

    # HQ unreachable: the rebuilt file would hold nothing, so the old one stays in use.
    lost = rebuild(
        path, device_id=device_id, force=True, fill=sync_into("http://127.0.0.1:9", token)
    )
    assert lost.kept_old and lost.waiting and lost.short["jobs"] == (2, 0)
    assert holdings(path) == found
    assert lost.set_aside.exists() and ".rebuilt-" in lost.set_aside.name

    # HQ reachable: the rebuild holds everything the old file held, and takes its place.
    done = rebuild(path, device_id=device_id, force=True, fill=sync_into(world.server.url, token))
    assert not done.kept_old and done.waiting is None and done.short == {}
    now = holdings(path)
    assert all(now[t] >= n for t, n in found.items()), (found, now)
    st = open_store(path)
    assert {j["ref"] for j in st.queue(limit=10)} == {spawned["ref"], "R-3"}
    st.close()


def test_repair_force_from_the_command_line_with_hq_gone_keeps_the_device_working(hq, tmp_path):
    import json

    from tests.integration.conftest import run

    tech = hq.add_user("Tenzin Dorje")
    hq.cli(
        "dispatch", "--kind", "repair", "--summary", "Noisy", "--customer", "D",
        "--address", "A", "--technician", "tenzin-dorje", "--ref", "C-2",
    )  # fmt: skip
    dev = tmp_path / "tech"
    run(dev, "enroll", hq.url, tech["enrollment_code"])
    run(dev, "sync")
    hq.stop()
    broken = run(dev, "repair", "--force", check=False)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "nothing was replaced" in broken.stderr
    shown = json.loads(run(dev, "jobs", "--json").stdout)["jobs"]
    assert [j["ref"] for j in shown] == ["C-2"]
    assert json.loads(run(dev, "parts", "catalog", "--json").stdout)


def test_enrollment_is_idempotent_for_the_device_whose_answer_was_lost(world, tmp_path):
    import hashlib
    import json

    import httpx

    from fieldtech.hq import auth
    from fieldtech.services import Device
    from fieldtech.store import open_store
    from fieldtech.sync.enroll import enroll
    from tests.integration.faultproxy import FaultyLink

    user, code = auth.add_user(world.hq, name="Pema Lhamo", role="technician", team="north")
    url = world.server.url
    first = httpx.post(url + "/v1/enroll", json={"code": code, "device_id": "dev-1"})
    assert first.status_code == 200
    # The answer was lost on the way: the same device asks again with the same code.
    again = httpx.post(url + "/v1/enroll", json={"code": code, "device_id": "dev-1"})
    assert again.status_code == 200, again.text
    lost, kept = first.json()["token"], again.json()["token"]
    assert lost != kept

    def me(token):
        return httpx.get(url + "/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert me(kept).status_code == 200 and me(kept).json()["device_id"] == "dev-1"
    assert me(lost).status_code == 401  # the unused one was replaced, not kept
    devices = world.rows("credentials", user_id=user["id"], kind="device")
    assert len(devices) == 1
    # HQ holds only hashes of what it handed out.
    hashes = {r["secret_hash"] for r in world.rows("credentials")}
    assert hashlib.sha256(kept.encode()).hexdigest() in hashes
    assert not any(t in str(world.rows("credentials")) for t in (lost, kept, code))
    # Another device with the spent code is refused.
    other = httpx.post(url + "/v1/enroll", json={"code": code, "device_id": "dev-2"})
    assert other.status_code == 401

    # Through the device's own enroll, with the first answer dropped after HQ committed.
    user2, code2 = auth.add_user(world.hq, name="Nima Sherpa", role="technician", team="north")
    store = open_store(tmp_path / "nima" / "device.sqlite")
    device = Device.open(store)
    cred = tmp_path / "nima" / "credential.json"
    enroll(device, cred, url, code2, transport=FaultyLink(["drop_response"]))
    token = json.loads(cred.read_text())["token"]
    assert me(token).status_code == 200
    assert len(world.rows("credentials", user_id=user2["id"], kind="device")) == 1
    # Once the credential has been used, the code is spent for good, this device too.
    from fieldtech.sync.client import SyncClient

    client = SyncClient(device, url, token)
    client.sync()
    client.close()
    late = httpx.post(url + "/v1/enroll", json={"code": code2, "device_id": device.device_id})
    assert late.status_code == 401
    store.close()


def test_an_install_closed_in_the_field_puts_the_appliance_on_the_maintenance_plan(hq, handset):
    from datetime import UTC, date, datetime

    from fieldtech.services import checklists
    from tests.integration.test_dispatch_to_device import SPLIT_AC_READINGS, dispatch

    tech = handset("Tenzin Dorje")
    job = dispatch(hq, "tenzin-dorje")
    assert hq.cli_json("plan", "--days", "366") == []  # nothing installed yet: nothing due
    tech.sync()
    d = tech.device
    jobs.start(d, job["id"])
    jobs.arrive(d, job["id"])
    for key, value in SPLIT_AC_READINGS.items():
        checklists.record_reading(d, job["id"], key, value)
    code = job["confirmation_code"]
    jobs.close(d, job["id"], outcome="installed", signoff_name="Maria Santos", code=code, rating=5)
    tech.sync()
    closed_on = datetime.now(UTC).date()
    # The device learns the install date too (HQ sends the appliance back).
    assert tech.store.job_card(job["id"])["appliance"]["installed_on"] == closed_on.isoformat()
    year_on = date(closed_on.year + 1, closed_on.month, min(closed_on.day, 28))
    planned = hq.cli_json("plan", "--date", year_on.isoformat(), "--days", "60")
    assert len(planned) == 1, planned
    assert planned[0]["ref"].startswith("PM-") and planned[0]["technician"] == "tenzin-dorje"
    assert hq.api().get(f"/v1/jobs/{planned[0]['ref']}").json()["kind"] == "maintenance"
    assert hq.cli_json("plan", "--date", year_on.isoformat(), "--days", "60") == []  # once


def test_a_job_reassigned_away_is_told_and_unsent_work_on_it_is_kept(world, tmp_path):
    from fieldtech.services import checklists
    from fieldtech.sync.agent import SyncAgent

    ana, bo = world.phone("Ana Lima"), world.phone("Bo Chen")
    sup = world.phone("Lhamo Sup", role="supervisor")
    quiet = world.job(ana.user_id, ref="Q-1")
    busy = world.job(ana.user_id, ref="B-1")
    ana.client.sync()
    jobs.start(ana.device, busy["id"])
    jobs.arrive(ana.device, busy["id"])
    checklists.record_reading(ana.device, busy["id"], "diagnosis", "fan seized")
    jobs.note(ana.device, busy["id"], "ordered a fan motor")  # none of it sent yet
    dispatch.assign(world.hq, ADMIN, quiet["id"], bo.user_id)
    dispatch.assign(world.hq, ADMIN, busy["id"], bo.user_id)
    moved_at = {j: world.rows("jobs", id=j)[0]["updated_at"] for j in (quiet["id"], busy["id"])}

    token = ana.client.http.headers["Authorization"].split()[1]
    agent = SyncAgent(ana.store.path, world.server.url, token)
    summary = agent.sync_once()
    agent.close()
    assert summary["ok"], summary
    told = {r["ref"]: r for r in summary["reassigned"]}
    assert set(told) == {"Q-1", "B-1"}
    assert told["Q-1"]["to"] == "Bo Chen" and not told["Q-1"]["work_kept"]
    assert told["B-1"]["work_kept"]
    assert told["Q-1"]["at"][:16] == moved_at[quiet["id"]][:16]
    # The notice stays on the device, readable through the store.
    notices = {n["ref"]: n for n in ana.store.notices()}
    assert notices["Q-1"]["who"] == "Bo Chen" and notices["Q-1"]["kind"] == "reassigned"
    # The work on the moved job reached HQ (never discarded) ...
    assert world.count("readings", job_id=busy["id"]) == 1
    notes = [e["body"] for e in world.rows("job_events", job_id=busy["id"]) if e["kind"] == "note"]
    assert notes == ["ordered a fan motor"]
    assert ana.store.outbox("pending") == []
    # ... and both sides see one conflict: the technician whose work it is, and the team's
    # supervisor; the quiet job, with no work on it, is no conflict.
    [conflict] = world.rows("conflicts", entity_id=busy["id"], field="technician")
    assert (conflict["mine"], conflict["theirs"]) == (ana.user_id, bo.user_id)
    assert world.rows("conflicts", entity_id=quiet["id"]) == []
    ana.client.sync()
    assert [c["field"] for c in ana.store.conflicts(busy["id"])] == ["technician"]
    sup.client.sync()
    assert [c["field"] for c in sup.store.conflicts(busy["id"])] == ["technician"]
    # Told once: the next sync has nothing new to say.
    agent = SyncAgent(ana.store.path, world.server.url, token)
    assert agent.sync_once()["reassigned"] == []
    agent.close()


def test_fieldtech_sync_says_which_job_was_reassigned_to_whom(hq, tmp_path):
    from tests.integration.conftest import run

    tech = hq.add_user("Tenzin Dorje")
    hq.add_user("Bo Chen")
    hq.cli(
        "dispatch", "--kind", "repair", "--summary", "Noisy", "--customer", "D",
        "--address", "A", "--technician", "tenzin-dorje", "--ref", "C-7",
    )  # fmt: skip
    dev = tmp_path / "tech"
    run(dev, "enroll", hq.url, tech["enrollment_code"])
    run(dev, "sync")
    hq.cli("assign", "C-7", "bo-chen")
    out = run(dev, "sync").stdout
    assert "reassigned C-7 to Bo Chen" in out, out

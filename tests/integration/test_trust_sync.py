"""Sync that survives real data: rows that refer outside the device's scope, a repair that
never leaves less than it found, reassignments a technician hears about, install dates."""

from __future__ import annotations

import pytest

from fieldtech.services import jobs
from fieldtech.sync.hq import dispatch
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

    from fieldtech.sync.hq.escalation import run_escalations

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

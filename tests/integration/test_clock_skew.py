"""Devices whose clocks are days off: their work lands, and HQ's later changes still win."""

from __future__ import annotations

import json
import time

import pytest

from fieldtech.services import Device, jobs
from fieldtech.store import open_store
from fieldtech.sync.client import Backoff, SyncClient
from fieldtech.sync.enroll import enroll
from tests.integration.test_dispatch_to_device import dispatch

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


@pytest.mark.parametrize("skew_days", [3, -3])
def test_skewed_device_work_lands_and_hq_cancel_reaches_it(hq, tmp_path, skew_days):
    user = hq.add_user("Tenzin Dorje")
    home = tmp_path / "skewed"
    store = open_store(home / "data" / "device.sqlite")
    device = Device.open(store, wall=lambda: int(time.time() * 1000) + skew_days * DAY_MS)
    enroll(device, home / "config" / "credential.json", hq.url, user["enrollment_code"])
    token = json.loads((home / "config" / "credential.json").read_text())["token"]
    client = SyncClient(device, hq.url, token, backoff=Backoff(attempts=1))
    job = dispatch(hq, "tenzin-dorje")
    client.sync()

    jobs.start(device, job["id"])
    jobs.note(device, job["id"], "clock says another day")
    report = client.sync()
    assert report.acknowledged == 2 and not report.rejected
    at_hq = hq.api().get(f"/v1/jobs/{job['id']}").json()
    assert at_hq["status"] == "en_route"
    # HQ never keeps a stamp far ahead of its own clock.
    status_stamp_ms = int(json.loads(at_hq["stamps"])["status"].split("-")[0])
    assert status_stamp_ms <= time.time() * 1000 + 5 * 60 * 1000

    r = hq.api().post(f"/v1/jobs/{job['id']}/cancel", json={"reason": "customer cancelled"})
    assert r.status_code == 200, r.text
    client.sync()
    assert store.job(job["id"])["status"] == "cancelled"
    client.close()
    store.close()

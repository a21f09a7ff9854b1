"""Any request may be lost, repeated, cut off or delayed: the outcome is still exactly right."""

from __future__ import annotations

import pytest

from fieldtech.domain.parts import RequestStatus
from fieldtech.services import checklists, jobs, parts
from fieldtech.sync.client import SyncError
from tests.integration.world import World

pytestmark = pytest.mark.integration


def day_of_work(phone, job_id: str) -> list[str]:
    d = phone.device
    jobs.start(d, job_id)
    jobs.arrive(d, job_id)
    checklists.record_reading(d, job_id, "diagnosis", "blocked condensate drain")
    jobs.note(d, job_id, "cleared the drain")
    parts.use_part(d, job_id, "AC-DRAIN-16", 2, override_reason="van restock pending")
    parts.request_part(d, "AC-FAN-MTR", 1, job_id=job_id)
    return [o["id"] for o in phone.store.outbox()]


def assert_exactly_once(world: World, phone, job_id: str, op_ids: list[str]) -> None:
    assert phone.store.outbox() == []
    applied = world.rows("applied_ops", user_id=phone.user_id)
    assert sorted(r["id"] for r in applied) == sorted(op_ids)
    assert all(r["outcome"] == "applied" for r in applied)
    events = world.rows("job_events", job_id=job_id)
    assert len({e["id"] for e in events}) == len(events)
    assert sum(e["kind"] == "note" for e in events) == 1
    assert world.count("readings", job_id=job_id) == 1
    assert world.count("stock_ledger", job_id=job_id) == 1
    assert world.count("part_requests", technician_id=phone.user_id) == 1
    hq_job = world.rows("jobs", id=job_id)[0]
    local = phone.store.job(job_id)
    assert (hq_job["status"], hq_job["arrived_at"] is not None) == (local["status"], True)
    assert {e["id"] for e in events} >= {e["id"] for e in phone.store.job_events(job_id)}


@pytest.mark.parametrize("fault", ["drop_request", "drop_response", "truncate"])
def test_a_failed_sync_loses_nothing_and_the_retry_applies_once(world, fault):
    phone = world.phone("Tenzin Dorje")
    job = world.job(phone.user_id)
    phone.client.sync()
    ops = day_of_work(phone, job["id"])
    phone.link.schedule = [fault]
    with pytest.raises(SyncError) as exc:
        phone.client.sync()
    assert "\n" not in exc.value.message and "safe on this device" in exc.value.message
    assert len(phone.store.outbox()) == len(ops)  # nothing forgotten
    assert phone.store.meta("last_sync_error")
    expected_delivered = 0 if fault == "drop_request" else 1
    assert phone.link.delivered == expected_delivered + 1  # enrollment sync counted before
    phone.client.sync()
    assert_exactly_once(world, phone, job["id"], ops)


@pytest.mark.parametrize("fault", ["duplicate", "delay"])
def test_duplicated_or_slow_requests_apply_once(world, fault):
    phone = world.phone("Tenzin Dorje")
    job = world.job(phone.user_id)
    phone.client.sync()
    ops = day_of_work(phone, job["id"])
    phone.link.schedule = [fault]
    phone.client.sync()
    assert_exactly_once(world, phone, job["id"], ops)


def test_retry_with_backoff_gets_through_a_flaky_link(world):
    from fieldtech.sync.client import Backoff

    phone = world.phone("Tenzin Dorje")
    job = world.job(phone.user_id)
    phone.client.sync()
    ops = day_of_work(phone, job["id"])
    slept = []
    phone.client.backoff = Backoff(attempts=4, base=0.5, sleep=slept.append)
    phone.link.schedule = ["drop_request", "drop_response", "truncate", "ok"]
    phone.client.sync()
    assert len(slept) == 3 and all(0 <= s <= 0.5 * 2**i for i, s in enumerate(slept, 1))
    assert_exactly_once(world, phone, job["id"], ops)


def test_a_rejected_operation_does_not_block_the_ones_behind_it(world):
    tenzin = world.phone("Tenzin Dorje")
    kofi = world.phone("Kofi Mensah")
    mine = world.job(tenzin.user_id)
    theirs = world.job(kofi.user_id, ref="K-1")
    tenzin.client.sync()
    kofi.client.sync()
    # A request HQ approved meanwhile can no longer be cancelled from the field.
    req = parts.request_part(tenzin.device, "AC-FAN-MTR", 1, job_id=mine["id"])
    tenzin.client.sync()
    from fieldtech.hq import requests as hq_requests
    from tests.integration.world import ADMIN

    hq_requests.step(world.hq, ADMIN, req["id"], RequestStatus.APPROVED)
    hq_requests.step(world.hq, ADMIN, req["id"], RequestStatus.SHIPPED)
    parts.step_request(tenzin.device, req["id"], RequestStatus.CANCELLED)  # offline: allowed
    jobs.note(tenzin.device, mine["id"], "behind the rejected one")
    report = tenzin.client.sync()
    assert len(report.rejected) == 1 and "cannot become cancelled" in report.rejected[0]["reason"]
    rejected = tenzin.store.outbox("rejected")
    assert [r["op"] for r in rejected] == ["part_request.step"]
    assert rejected[0]["reason"] == report.rejected[0]["reason"]
    notes = [e["body"] for e in world.rows("job_events", job_id=mine["id"]) if e["kind"] == "note"]
    assert notes == ["behind the rejected one"]
    # The device learns HQ's truth about the request.
    assert tenzin.store.part_request(req["id"])["status"] == "shipped"
    # And kofi's job never reached tenzin.
    assert not tenzin.store.job_exists(theirs["id"])


def test_hq_down_gives_one_clear_line(world):
    phone = world.phone("Tenzin Dorje")
    job = world.job(phone.user_id)
    phone.client.sync()
    jobs.note(phone.device, job["id"], "waiting for signal")
    world.server.stop()
    with pytest.raises(SyncError) as exc:
        phone.client.sync()
    assert "cannot be reached" in exc.value.message and "\n" not in exc.value.message
    assert len(phone.store.outbox()) == 1

"""A supervisor's device against a real HQ over HTTP: the team picture after technicians
sync, decisions made offline on the supervisor's device flowing back to the technicians, and
a supervisor who cannot see another team."""

from __future__ import annotations

import pytest

from fieldtech.domain.errors import FieldtechError, RuleBroken
from fieldtech.hq import dispatch
from fieldtech.services import escalations, jobs, parts, supervision
from fieldtech.sync.client import SyncError

pytestmark = pytest.mark.integration

NOW = "2099-01-01T00:00:00Z"  # every open job is overdue by then


@pytest.fixture
def team(world):
    ana = world.phone("Ana Lima")
    ben = world.phone("Ben Okafor")
    sue = world.phone("Sue Park", role="supervisor")
    tom = world.phone("Tom South", team="south")
    sam = world.phone("Sam South", role="supervisor", team="south")
    jobs_ = {
        "a1": world.job(ana.user_id, ref="N-1")["id"],
        "a2": world.job(ana.user_id, ref="N-2")["id"],
        "b1": world.job(ben.user_id, ref="N-3")["id"],
        "t1": world.job(tom.user_id, ref="S-1")["id"],
    }
    for p in (ana, ben, tom):
        p.client.sync()
    return {"ana": ana, "ben": ben, "sue": sue, "tom": tom, "sam": sam, **jobs_}


def by_name(rows):
    return {r["name"]: r for r in rows}


def test_the_supervisor_sees_exactly_what_the_technicians_did_offline(world, team):
    ana, ben, sue = team["ana"], team["ben"], team["sue"]
    # Offline work on Ana's device: on hold for a part, a part request, a call for help.
    ana.link.offline = True
    jobs.start(ana.device, team["a1"])
    jobs.arrive(ana.device, team["a1"])
    jobs.hold(ana.device, team["a1"], "waiting for parts")
    parts.request_part(ana.device, "AC-CAP-35", 2, job_id=team["a1"])
    escalations.escalate(ana.device, team["a2"], "customer threatens to cancel")
    jobs.start(ben.device, team["b1"])
    with pytest.raises(SyncError):
        ana.client.sync()
    assert sue.client.sync().pulled > 0
    before = by_name(sue.store.team_status(NOW))
    assert before["Ana Lima"]["open"] == 2 and before["Ana Lima"]["on_hold_for_parts"] == 0

    ana.link.offline = False
    ana.client.sync()
    ben.client.sync()
    sue.client.sync()
    board = by_name(sue.store.team_status(NOW))
    assert set(board) == {"Ana Lima", "Ben Okafor"}  # the roster is the team, no one else
    assert board["Ana Lima"] | {"technician": None} == {
        "technician": None,
        "name": "Ana Lima",
        "open": 2,
        "in_progress": 0,
        "on_hold_for_parts": 1,
        "completed_today": 0,
        "overdue": 2,
        "escalated": 1,
        "avg_rating": None,
        "avg_callback": None,
        "callbacks": 0,
    }
    assert board["Ben Okafor"]["open"] == 1
    # Each job as HQ has it, field by field.
    for job_id in (team["a1"], team["a2"], team["b1"]):
        hq_job = world.rows("jobs", id=job_id)[0]
        mine = sue.store.job(job_id)
        for f in ("status", "technician_id", "hold_reason", "escalation_level"):
            assert mine[f] == hq_job[f], f
        assert {e["id"] for e in sue.store.job_events(job_id)} == {
            e["id"] for e in world.rows("job_events", job_id=job_id)
        }
    [req] = sue.store.team_requests()
    assert (req["technician"], req["qty"], req["status"]) == ("Ana Lima", 2, "submitted")
    [esc] = sue.store.escalations()
    assert esc["ref"] == "N-2" and esc["note"] == "customer threatens to cancel"


def test_decisions_made_offline_flow_back_to_the_technicians(world, team):
    ana, ben, sue = team["ana"], team["ben"], team["sue"]
    req = parts.request_part(ana.device, "AC-CAP-35", 1, job_id=team["a1"])
    escalations.escalate(ana.device, team["a2"], "need HQ help")
    ana.client.sync()
    sue.client.sync()

    sue.link.offline = True
    supervision.approve(sue.device, req["id"])
    supervision.reassign(sue.device, team["b1"], "Ana Lima")
    supervision.acknowledge(sue.device, team["a2"], "calling the customer now")
    assert len(sue.store.outbox("pending")) == 3
    with pytest.raises(SyncError):
        sue.client.sync()
    sue.link.offline = False
    report = sue.client.sync()
    assert report.acknowledged == 3 and not report.rejected

    [hq_req] = world.rows("part_requests", id=req["id"])
    assert hq_req["status"] == "approved"
    [b1] = world.rows("jobs", id=team["b1"])
    assert b1["technician_id"] == ana.user_id
    [a2] = world.rows("jobs", id=team["a2"])
    assert (a2["escalation_level"], a2["escalation_ack_level"]) == (2, 2)

    ana.client.sync()
    ben.client.sync()
    assert ana.store.part_request(req["id"])["status"] == "approved"
    assert ana.store.job(team["b1"])["technician_id"] == ana.user_id
    assert ana.store.job(team["b1"])["status"] == "assigned"
    assert ben.store.job(team["b1"])["technician_id"] == ana.user_id  # Ben learns it moved on
    assert ana.store.job(team["a2"])["escalation_ack_level"] == 2
    events = [e["kind"] for e in ana.store.job_events(team["a2"])]
    assert "escalation_ack" in events


def test_reassigning_work_in_progress_sends_it_back_to_assigned(world, team):
    ana, ben, sue = team["ana"], team["ben"], team["sue"]
    jobs.start(ben.device, team["b1"])
    ben.client.sync()
    sue.client.sync()
    job = supervision.reassign(sue.device, team["b1"], ana.user_id)
    assert (job["status"], job["technician_id"]) == ("assigned", ana.user_id)
    assert not sue.client.sync().rejected
    [b1] = world.rows("jobs", id=team["b1"])
    assert (b1["status"], b1["technician_id"]) == ("assigned", ana.user_id)
    ana.client.sync()
    assert ana.store.job(team["b1"])["status"] == "assigned"


def test_a_rejection_needs_a_reason_and_reaches_the_technician(world, team):
    ana, sue = team["ana"], team["sue"]
    req = parts.request_part(ana.device, "AC-CAP-35", 1)
    ana.client.sync()
    sue.client.sync()
    with pytest.raises(FieldtechError, match="say why"):
        supervision.reject(sue.device, req["id"], "  ")
    assert sue.store.outbox("pending") == []
    supervision.reject(sue.device, req["id"], "take one from the outlet")
    sue.client.sync()
    ana.client.sync()
    mine = ana.store.part_request(req["id"])
    assert (mine["status"], mine["decided_reason"]) == ("rejected", "take one from the outlet")


def test_callbacks_roll_up_on_the_board_and_at_hq(world, team):
    ana, sue = team["ana"], team["sue"]
    jobs.cannot_complete(ana.device, team["a1"], "no access to the roof")
    ana.client.sync()
    sue.client.sync()
    supervision.record_callback(
        sue.device, team["a1"], skill=5, attitude=4, adherence=3, comment="polite"
    )
    supervision.record_callback(sue.device, team["a1"], skill=3, attitude=3, adherence=3)
    # The board counts them at once, offline, and HQ after the sync.
    assert by_name(sue.store.team_status(NOW))["Ana Lima"]["avg_callback"] == 3.5
    sue.client.sync()
    rows = world.rows("callbacks", job_id=team["a1"])
    assert sorted((r["skill"], r["attitude"], r["adherence"]) for r in rows) == [
        (3, 3, 3),
        (5, 4, 3),
    ]
    assert {r["technician_id"] for r in rows} == {ana.user_id}
    # Another supervisor device of the team receives them too.
    sue2 = world.phone("Sue Deputy", role="supervisor")
    sue2.client.sync()
    assert by_name(sue2.store.team_status(NOW))["Ana Lima"]["avg_callback"] == 3.5
    # Open jobs get no call-back.
    with pytest.raises(RuleBroken, match="not closed yet"):
        supervision.record_callback(sue.device, team["a2"], skill=5, attitude=5, adherence=5)


def test_a_supervisor_cannot_see_or_change_another_team(world, team):
    sue, sam, tom = team["sue"], team["sam"], team["tom"]
    sue.client.sync()
    sam.client.sync()
    assert not sue.store.job_exists(team["t1"])
    assert {r["name"] for r in sue.store.team_status(NOW)} == {"Ana Lima", "Ben Okafor"}
    assert {r["name"] for r in sam.store.team_status(NOW)} == {"Tom South"}
    assert "Tom South" not in {r["name"] for r in sue.store.roster()}
    # Nor can her device reassign into another team: Tom is not on her roster.
    with pytest.raises(FieldtechError, match="not a technician of this team"):
        supervision.reassign(sue.device, team["a1"], "Tom South")
    tom_req = parts.request_part(tom.device, "AC-CAP-35", 1)
    tom.client.sync()
    assert sue.store.team_requests() == []
    # A forged operation naming the other team's records is refused at HQ.
    with sue.store.transaction():
        step = {"from": "submitted", "to": "approved"}
        d = sue.device
        d.record("part_request.step", "part_request", tom_req["id"], step, hlc=d.stamp())
    report = sue.client.sync()
    assert [r["id"] for r in report.rejected] == [o["id"] for o in sue.store.outbox("rejected")]
    assert world.rows("part_requests", id=tom_req["id"])[0]["status"] == "submitted"


def test_a_technician_device_cannot_make_supervisor_decisions(world, team):
    ana = team["ana"]
    with pytest.raises(RuleBroken, match="only a supervisor's device"):
        supervision.reassign(ana.device, team["a1"], "Ben Okafor")
    # Even a forged operation is refused at HQ, and the device takes HQ's copy back.
    with ana.store.transaction():
        ana.device.apply("job.assign", team["a2"], {"to": team["ben"].user_id})
    assert ana.store.job(team["a2"])["technician_id"] == team["ben"].user_id
    report = ana.client.sync()
    assert report.rejected and "supervisor" in report.rejected[0]["reason"]
    assert ana.store.job(team["a2"])["technician_id"] == ana.user_id
    assert world.rows("jobs", id=team["a2"])[0]["technician_id"] == ana.user_id


def test_hq_reassignment_reaches_the_supervisor_board(world, team):
    from tests.integration.world import ADMIN

    sue = team["sue"]
    sue.client.sync()
    dispatch.assign(world.hq, ADMIN, team["a1"], team["ben"].user_id)
    sue.client.sync()
    board = by_name(sue.store.team_status(NOW))
    assert (board["Ana Lima"]["open"], board["Ben Okafor"]["open"]) == (1, 2)

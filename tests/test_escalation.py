"""Escalation timing, with the clock injected: level by level as a job runs late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldtech.domain.escalation import due_level
from fieldtech.hq import auth, dispatch
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.escalation import run_escalations

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def level(hours_after: float, *, priority="normal", status="assigned", sla_hours=48, current=0):
    return due_level(
        priority=priority,
        status=status,
        created_at=iso(T0),
        sla_due=iso(T0 + timedelta(hours=sla_hours)),
        now=T0 + timedelta(hours=hours_after),
        current=current,
    )


@pytest.mark.parametrize(
    ("hours", "status", "expected"),
    [
        (1, "assigned", 0),  # within the response target
        (25, "assigned", 1),  # normal priority must be on the way within 24 h
        (25, "en_route", 0),  # responded: nothing due yet
        (49, "in_progress", 1),  # past the SLA: technician
        (48 + 24.5, "in_progress", 2),  # half the SLA span late: supervisor
        (48 + 48.5, "on_hold", 3),  # a whole span late: management
    ],
)
def test_levels_follow_lateness(hours, status, expected):
    assert level(hours, status=status) == expected


def test_emergency_escalates_within_the_hour():
    assert level(0.5, priority="emergency", sla_hours=4) == 0
    assert level(1.5, priority="emergency", sla_hours=4) == 1
    assert level(4 + 2.5, priority="emergency", status="in_progress", sla_hours=4) == 2


def test_levels_never_go_down_and_closed_jobs_stay():
    assert level(1, current=2) == 2
    assert level(500, status="completed") == 0
    assert level(500, status="completed", current=1) == 1


def test_hq_escalates_open_late_jobs_step_by_step(tmp_path):
    hq = HQ.open(sqlite_url(tmp_path / "hq.sqlite"))
    auth.add_user(hq, name="Tenzin Dorje", role="technician", team="north")
    admin = Principal("admin", "HQ", "admin", None, None, "console")
    base = {
        "kind": "repair",
        "summary": "No hot water",
        "customer_name": "Olga Berg",
        "address": "3 Mill Lane",
        "technician": "tenzin-dorje",
    }
    late = dispatch.create_job(hq, admin, {**base, "priority": "high"})
    calm = dispatch.create_job(hq, admin, {**base, "priority": "low", "ref": "LOW-1"})
    created = datetime.fromisoformat(late["created_at"].replace("Z", "+00:00"))

    assert run_escalations(hq, created + timedelta(hours=1)) == []
    first = run_escalations(hq, created + timedelta(hours=5))  # high: respond within 4 h
    assert first == [{"job": late["ref"], "from": 0, "to": 1}]
    assert run_escalations(hq, created + timedelta(hours=5)) == []  # idempotent
    second = run_escalations(hq, created + timedelta(hours=24 + 13))
    assert second == [{"job": late["ref"], "from": 1, "to": 2}]
    third = run_escalations(hq, created + timedelta(hours=24 + 25))
    assert {"job": late["ref"], "from": 2, "to": 3} in third
    job = dispatch.get_job(hq, admin, late["id"])
    assert job["escalation_level"] == 3
    assert [e["body"][:24] for e in job["history"] if e["kind"] == "escalation"] == [
        "escalated to level 1 (te",
        "escalated to level 2 (su",
        "escalated to level 3 (ma",
    ]
    assert dispatch.get_job(hq, admin, calm["id"])["escalation_level"] <= 1
    hq.dispose()

"""Call-backs, KPIs, the service report and planned maintenance at HQ (in-process HQ)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from fieldtech.domain.errors import BadInput, RuleBroken
from fieldtech.domain.hlc import Clock
from fieldtech.domain.ids import new_id
from fieldtech.hq import auth, callbacks, dispatch, plan, reports, schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.push import WireOp, push

ADMIN = Principal("admin", "HQ", "admin", None, None, "console")


@pytest.fixture
def hq(tmp_path):
    h = HQ.open(sqlite_url(tmp_path / "hq.sqlite"))
    yield h
    h.dispose()


def technician(hq: HQ, name: str, team: str = "north") -> Principal:
    user, code = auth.add_user(hq, name=name, role="technician", team=team)
    _, token = auth.enroll(hq, code, f"dev-{user['id']}", None)
    return auth.authenticate(hq, token)


def new_job(hq: HQ, tech: str, **extra) -> dict:
    spec = {
        "kind": "repair",
        "summary": "Not cooling",
        "customer_name": "Olga Berg",
        "address": "3 Mill Lane",
        "technician": tech,
        "appliance_category": "air conditioner",
        "appliance_serial": new_id()[-10:],
        **extra,
    }
    return dispatch.create_job(hq, ADMIN, spec)


def close_in_field(hq: HQ, p: Principal, job: dict, rating: int) -> None:
    clock = Clock(p.device_id)
    ops = [
        WireOp(
            new_id(), clock.now(), "job.status", job["id"], {"from": "assigned", "to": "on_site"}
        ),
        WireOp(
            new_id(),
            clock.now(),
            "reading.add",
            job["id"],
            {"key": "diagnosis", "value": "blocked filter", "verdict": "ok"},
        ),
        WireOp(
            new_id(),
            clock.now(),
            "job.close",
            job["id"],
            {
                "from": "on_site",
                "to": "completed",
                "outcome": "repaired",
                "name": "Olga Berg",
                "rating": rating,
            },
        ),
    ]
    result = push(hq, p, ops)
    assert not result.rejected, result.rejected


def test_callback_only_after_close_and_scores_are_checked(hq):
    tech = technician(hq, "Tenzin Dorje")
    job = new_job(hq, tech.user_id)
    with pytest.raises(RuleBroken, match="not closed yet"):
        callbacks.record_callback(hq, ADMIN, job["id"], skill=5, attitude=5, adherence=5)
    close_in_field(hq, tech, job, rating=5)
    with pytest.raises(BadInput, match="attitude must be from 1 to 5"):
        callbacks.record_callback(hq, ADMIN, job["id"], skill=5, attitude=9, adherence=5)
    row = callbacks.record_callback(
        hq, ADMIN, job["id"], skill=4, attitude=5, adherence=3, comment="left the site clean"
    )
    assert row["technician_id"] == tech.user_id
    assert [c["skill"] for c in callbacks.callbacks_for(hq, job["id"])] == [4]


def test_kpis_per_technician(hq):
    a = technician(hq, "Tenzin Dorje")
    b = technician(hq, "Kofi Mensah")
    a_jobs = [new_job(hq, a.user_id, ref=f"A-{i}") for i in range(4)]
    b_job = new_job(hq, b.user_id, ref="B-1")
    for job, rating in zip(a_jobs[:3], (5, 4, 4), strict=True):
        close_in_field(hq, a, job, rating)
    close_in_field(hq, b, b_job, 5)
    # One of A's jobs was closed after its promised time.
    with hq.tx() as conn:
        conn.execute(
            update(schema.jobs)
            .where(schema.jobs.c.id == a_jobs[0]["id"])
            .values(sla_due="2000-01-01T00:00:00Z")
        )
    # And one needed a follow-up visit.
    dispatch.create_job(
        hq,
        ADMIN,
        {
            "kind": "repair",
            "summary": "Follow-up",
            "customer_id": a_jobs[1]["customer_id"],
            "site_id": a_jobs[1]["site_id"],
            "ref": "A-1-F",
            "technician": a.user_id,
        },
    )
    with hq.tx() as conn:
        conn.execute(
            update(schema.jobs)
            .where(schema.jobs.c.ref == "A-1-F")
            .values(parent_job_id=a_jobs[1]["id"])
        )
    callbacks.record_callback(hq, ADMIN, a_jobs[0]["id"], skill=5, attitude=4, adherence=3)
    rows = {r["technician"]: r for r in reports.kpis(hq, ADMIN)}
    ra = rows[a.user_id]
    assert ra["closed"] == 3 and ra["completed"] == 3
    assert ra["first_time_fix_rate"] == round(2 / 3, 3)
    assert ra["sla_hit_rate"] == round(2 / 3, 3)
    assert ra["avg_rating"] == 4.33 and ra["warning"] == "rating below 4.7"
    assert (ra["avg_skill"], ra["avg_attitude"], ra["avg_adherence"]) == (5, 4, 3)
    assert rows[b.user_id]["avg_rating"] == 5 and rows[b.user_id]["warning"] == ""
    parsed = list(csv.DictReader(io.StringIO(reports.kpis_csv(list(rows.values())))))
    assert {r["technician"] for r in parsed} == {a.user_id, b.user_id}
    # A supervisor sees their own team only.
    other = Principal("sup", "S", "supervisor", "south", None, "x")
    assert reports.kpis(hq, other) == []


def test_service_report_markdown_and_html(hq):
    tech = technician(hq, "Tenzin Dorje")
    job = new_job(hq, tech.user_id, customer_name="Maria <Santos>")
    close_in_field(hq, tech, job, 5)
    md = reports.service_report_markdown(hq, ADMIN, job["id"])
    assert md.startswith(f"# Service report {job['ref']}")
    assert "| Diagnosis | blocked filter |" in md and "rating 5/5" in md
    assert "Maria &lt;Santos&gt;" in md
    page = reports.service_report_html(hq, ADMIN, job["id"])
    assert "Maria &lt;Santos&gt;" in page and "<Santos>" not in page
    assert "blocked filter" in page


def test_planned_maintenance_is_generated_ahead_and_only_once(hq):
    tech = technician(hq, "Tenzin Dorje")
    today = date(2026, 11, 23)
    job = new_job(hq, tech.user_id, kind="install", appliance_category="air conditioner")
    with hq.tx() as conn:
        conn.execute(
            update(schema.appliances)
            .where(schema.appliances.c.id == job["appliance_id"])
            .values(installed_on=(today - timedelta(days=350)).isoformat())
        )
    created = plan.plan_maintenance(hq, ADMIN, today, horizon_days=30)
    assert len(created) == 1
    assert created[0]["technician"] == tech.user_id  # the one who knows the customer
    assert created[0]["due"] == plan.add_months(today - timedelta(days=350), 12).isoformat()
    assert plan.plan_maintenance(hq, ADMIN, today, horizon_days=30) == []
    assert plan.plan_maintenance(hq, ADMIN, today + timedelta(days=3), horizon_days=30) == []
    day = plan.day_plan(hq, ADMIN, tech.user_id, date.fromisoformat(created[0]["due"]))
    assert [d["ref"] for d in day if d["kind"] == "maintenance"] == [created[0]["ref"]]
    assert [d["position"] for d in day] == list(range(1, len(day) + 1))


def test_add_months_clamps_to_month_end():
    assert plan.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert plan.add_months(date(2026, 11, 30), 12) == date(2027, 11, 30)

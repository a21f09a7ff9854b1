"""The row types the store and services declare (fieldtech/store/rows.py, and the services'
own results) name exactly the keys the rows carry: a column added by a migration, or a key
an operation stops writing, shows here before it surprises a screen or a command."""

from __future__ import annotations

from typing import Any

import pytest

from fieldtech.cli.status import COLUMNS
from fieldtech.domain.demo_data import demo_code
from fieldtech.domain.parts import RequestStatus
from fieldtech.services import checklists, escalations, jobs, parts, supervision
from fieldtech.services.checklists import Checklist, ChecklistItem, RecordedReading
from fieldtech.services.jobs import ClosedJob
from fieldtech.services.parts import RequestMade, StockCount, StockMoved
from fieldtech.services.supervision import RecordedCallback
from fieldtech.store import rows
from tests.conftest import job_with


def keys(shape: Any) -> set[str]:
    return set(shape.__required_keys__) | set(shape.__optional_keys__)


def columns(store, table: str) -> set[str]:
    return {r[1] for r in store.db.execute(f"PRAGMA table_info({table})").fetchall()}


def a_fitting_value(item) -> object:
    if item.type.value == "tick":
        return "yes"
    if item.type.value == "number":
        return item.min if item.min is not None else 1
    return item.choices[0] if item.choices else "ok"


def read_every_item(device, job_id: str) -> None:
    for entry in checklists.checklist(device, job_id)["items"]:
        item = entry["item"]
        checklists.record_reading(device, job_id, item.key, a_fitting_value(item))


@pytest.mark.parametrize(
    ("table", "shape"),
    [
        ("jobs", rows.JobRow),
        ("customers", rows.CustomerRow),
        ("sites", rows.SiteRow),
        ("appliances", rows.ApplianceRow),
        ("job_events", rows.JobEvent),
        ("readings", rows.ReadingRow),
        ("parts", rows.PartRow),
        ("stock_ledger", rows.StockMovement),
        ("part_requests", rows.PartRequestRow),
        ("callbacks", rows.CallbackRow),
        ("conflicts", rows.Conflict),
        ("notices", rows.Notice),
        ("outbox", rows.OutboxRow),
    ],
)
def test_a_table_row_type_names_every_column_of_its_table(store, table, shape):
    assert keys(shape) == columns(store, table)


def test_the_readers_hand_up_rows_of_their_declared_shape(device):
    st = device.store
    job = job_with(st, "in_progress")
    assert set(st.job(job["id"])) == keys(rows.JobRow)
    card = st.job_card(job["id"])
    assert set(card) == keys(rows.JobCard)
    assert set(card["customer"]) == keys(rows.CustomerRow)
    assert set(card["site"]) == keys(rows.SiteRow)
    assert isinstance(card["site"]["hazards"], list)
    with_appliance = next(
        r["id"] for r in st.queue(limit=10_000) if st.job(r["id"])["appliance_id"]
    )
    assert set(st.job_card(with_appliance)["appliance"]) == keys(rows.ApplianceRow)
    queue = st.queue(limit=3)
    assert queue and all(set(r) == keys(rows.QueueRow) for r in queue)
    file = st.customer_history(card["customer_id"])
    assert set(file) == keys(rows.CustomerFile)
    assert file["jobs"] and all(set(j) == keys(rows.PastJob) for j in file["jobs"])
    assert all(set(a) == keys(rows.ApplianceRow) for a in file["appliances"])
    heads = st.templates()
    assert heads and all(set(t) == keys(rows.TemplateHead) for t in heads)
    catalogue = st.catalog(limit=3)
    assert catalogue and all(set(p) == keys(rows.PartRow) for p in catalogue)
    assert set(st.part("AC-CAP-35")) == keys(rows.PartRow)
    ledger = st.ledger(sku="AC-CAP-35")
    assert ledger and all(set(m) == keys(rows.LedgerLine) for m in ledger)
    stock = st.van_stock()
    assert stock and all(set(s) == keys(rows.VanStockLine) for s in stock)


def test_what_a_technician_records_comes_back_in_its_declared_shape(device):
    st = device.store
    job = job_with(st, "on_site", kind="repair")
    event = jobs.note(device, job["id"], "the fan rattles")
    assert set(event) == keys(rows.JobEvent)
    assert set(escalations.escalate(device, job["id"], "need a second pair of hands")) == keys(
        rows.JobEvent
    )
    assert all(set(e) == keys(rows.JobEvent) for e in st.job_events(job["id"]))

    cl = checklists.checklist(device, job["id"])
    assert set(cl) == keys(Checklist)
    assert cl["items"] and all(set(e) == keys(ChecklistItem) for e in cl["items"])
    item = cl["items"][0]["item"]
    reading = checklists.record_reading(device, job["id"], item.key, a_fitting_value(item))
    assert set(reading) == keys(RecordedReading)
    assert set(reading) - {"message", "warning"} == keys(rows.ReadingRow)
    assert all(set(r) == keys(rows.ReadingRow) for r in st.reading_history(job["id"]))

    used = parts.use_part(device, job["id"], "AC-CAP-35", 1, "the customer's spare")
    assert set(used) == keys(StockMoved)
    same = parts.count_stock(device, "AC-CAP-35", used["on_hand"], "stock take")
    assert set(same) == keys(StockCount)
    made = parts.request_part(device, "AC-FAN-MTR", 1, job_id=job["id"], draft=True)
    assert set(made) == keys(RequestMade)
    assert set(made) - {"name"} == keys(rows.PartRequest)
    stepped = parts.step_request(device, made["id"], RequestStatus.SUBMITTED)
    assert set(stepped) == keys(rows.PartRequestRow)
    listed = st.part_requests(job["id"])
    assert listed and all(set(r) == keys(rows.PartRequestLine) for r in listed)

    waiting = st.outbox()
    assert waiting and all(set(o) == keys(rows.OutboxRow) for o in waiting)
    assert all(isinstance(o["payload"], dict) for o in waiting)


def test_what_a_supervisor_sees_and_records_comes_back_in_its_declared_shape(device):
    st = device.store
    job = job_with(st, "in_progress", kind="repair")
    st.db["users"].insert({"id": "u-ana", "name": "Ana", "role": "technician", "team": "north"})
    roster = st.roster()
    assert roster and all(set(p) == keys(rows.RosterRow) for p in roster)
    board = st.team_status(device.at())
    assert board and all(set(r) == keys(rows.TeamStatusRow) for r in board)
    st.update_job(job["id"], {"escalation_level": 1})
    escalations.escalate(device, job["id"], "the customer is upset")
    raised = st.escalations()
    assert raised and all(set(r) == keys(rows.EscalatedJob) for r in raised)

    parts.request_part(device, "AC-FAN-MTR", 1, job_id=job["id"])
    parts.request_part(device, "AC-CAP-35", 1, job_id=job["id"])
    waiting = st.team_requests()
    assert len(waiting) == 2 and all(set(r) == keys(rows.TeamRequest) for r in waiting)

    read_every_item(device, job["id"])
    jobs.close(
        device,
        job["id"],
        outcome="repaired",
        signoff_name="A Customer",
        code=demo_code(job["ref"]),
        rating=5,
    )
    st.set_meta("role", "supervisor")
    recorded = supervision.record_callback(device, job["id"], skill=5, attitude=4, adherence=5)
    assert set(recorded) == keys(RecordedCallback)
    assert set(recorded) - {"job"} == keys(rows.Callback)
    assert [set(c) for c in st.callbacks(job["id"])] == [keys(rows.CallbackRow)]

    first, second = (r["id"] for r in waiting)
    assert set(supervision.approve(device, first)) == keys(rows.PartRequestRow)
    assert set(supervision.reject(device, second, "use the van's")) == keys(rows.PartRequestRow)
    moving = job_with(st, "assigned")
    assert set(supervision.reassign(device, moving["id"], "Ana")) == keys(rows.JobRow)
    assert set(supervision.acknowledge(device, raised[0]["id"])) == keys(rows.JobRow)


def test_a_job_moved_through_its_day_comes_back_in_its_declared_shape(device):
    st = device.store
    job = job_with(st, "assigned", kind="survey")
    for step in (jobs.start, jobs.arrive):
        assert set(step(device, job["id"])) == keys(rows.JobRow)
    assert set(jobs.hold(device, job["id"], None, waits_for="customer")) == keys(rows.JobRow)
    assert set(jobs.resume(device, job["id"])) == keys(rows.JobRow)

    read_every_item(device, job["id"])
    closed = jobs.close(
        device,
        job["id"],
        outcome="surveyed",
        signoff_name="A Customer",
        code=demo_code(job["ref"]),
        rating=4,
        spawn_install=True,
    )
    assert set(closed) == keys(ClosedJob)
    assert set(closed["spawned"]) == keys(rows.JobRow)

    stuck = job_with(st, "on_site", kind="repair")
    alone = jobs.cannot_complete(device, stuck["id"], "no access")
    assert set(alone) == keys(ClosedJob) - {"spawned"} == keys(rows.JobRow)
    other = job_with(st, "in_progress", kind="repair")
    followed = jobs.cannot_complete(device, other["id"], "no access", follow_up=True)
    assert set(followed) == keys(ClosedJob)


def test_the_team_status_command_reads_the_columns_its_row_type_names():
    assert set(COLUMNS) <= keys(rows.TeamStatusRow)

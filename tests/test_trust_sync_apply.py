"""Applying a pulled page whose rows refer to rows this device does not hold: never a
failure, the job shows, nothing of the van's stock is lost."""

from __future__ import annotations

from fieldtech.store import open_store
from fieldtech.sync.client import apply_changes


def block(*rows: dict) -> dict:
    cols = list(rows[0])
    return {"cols": cols, "rows": [[r[c] for c in cols] for r in rows]}


JOB = {
    "id": "j-1",
    "ref": "J-1",
    "kind": "install",
    "priority": "normal",
    "priority_rank": 3,
    "status": "assigned",
    "customer_id": "c-elsewhere",
    "site_id": "s-elsewhere",
    "appliance_id": "a-later",
    "technician_id": "bo",
    "team": "north",
    "summary": "Install after survey",
    "window_start": "2026-11-23T09:00:00Z",
    "sla_due": "2026-11-24T09:00:00Z",
    "parent_job_id": "j-colleagues-survey",
    "created_at": "2026-11-22T09:00:00Z",
    "updated_at": "2026-11-22T09:00:00Z",
    "stamps": "{}",
}


def event(i: str, job: str) -> dict:
    return {
        "id": i,
        "job_id": job,
        "kind": "note",
        "from_status": None,
        "to_status": None,
        "body": "b",
        "actor": "hq",
        "hlc": "0001795000000000-00000-hq",
        "at": "2026-11-22T09:00:00Z",
    }


def test_rows_naming_what_the_device_lacks_apply_without_breaking_the_page(tmp_path):
    st = open_store(tmp_path / "device.sqlite")
    move = {
        "id": "m-1",
        "sku": "NEW-SKU",
        "kind": "received",
        "qty": 3,
        "job_id": "j-not-here",
        "request_id": None,
        "reason": None,
        "override": 0,
        "actor": "bo",
        "hlc": "0001795000000000-00000-bo",
        "at": "2026-11-22T09:00:00Z",
    }
    appliance = {
        "id": "a-other",
        "customer_id": "c-2",
        "site_id": "s-other",
        "category": "water heater",
    }
    changes = {
        "customers": block({"id": "c-2", "name": "Mrs Dolma"}),
        "appliances": block(appliance),
        "jobs": block(JOB),
        "job_events": block(event("e-1", "j-1"), event("e-2", "j-not-here")),
        "stock_ledger": block(move),
    }
    with st.transaction():
        apply_changes(st, changes)
    job = st.job("j-1")
    assert job["parent_job_id"] is None  # a colleague's job: not this device's to hold
    assert [j["ref"] for j in st.queue(limit=10)] == ["J-1"]  # shows, with stand-ins
    card = st.job_card("j-1")
    assert card["customer"]["name"] == "(not yet received from HQ)"
    assert {e["id"] for e in st.job_events("j-1")} == {"e-1"}
    assert st.db.execute("SELECT count(*) FROM job_events").fetchone()[0] == 1
    # The van's stock keeps the line; the job it was for is not on this device.
    assert st.db.execute("SELECT job_id, qty FROM stock_ledger").fetchall() == [(None, 3)]
    assert st.db.execute("SELECT site_id FROM appliances WHERE id = 'a-other'").fetchone() == (
        None,
    )
    # The customer file arrives later: the stand-in gives way to HQ's rows.
    later = {
        "customers": block({"id": "c-elsewhere", "name": "Mr Tashi"}),
        "sites": block({"id": "s-elsewhere", "customer_id": "c-elsewhere", "address": "Hill 4"}),
        "jobs": block(JOB),
    }
    with st.transaction():
        apply_changes(st, later)
    card = st.job_card("j-1")
    assert card["customer"]["name"] == "Mr Tashi"
    assert card["site"]["address"] == "Hill 4"
    assert st.db.execute("PRAGMA foreign_key_check").fetchall() == []
    st.close()

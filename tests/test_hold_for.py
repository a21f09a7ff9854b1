"""A job on hold waits for parts, the customer, or something else: a fixed set, beside free
text. The team board and `fieldtech status` count by the set, never by words in the reason."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.widgets import Input, Label, RadioButton

from fieldtech.domain import ops
from fieldtech.domain.errors import BadInput
from fieldtech.domain.hlc import Stamp
from fieldtech.domain.jobs import HoldFor, hold_for_reason, hold_words, parse_hold_for
from fieldtech.services import Device
from fieldtech.services import jobs as job_service
from fieldtech.store import open_store
from tests.app_support import NOW, SEED_DAY, first_ref, make_app, make_team_app


def on_site(dev: Device, ref: str) -> str:
    job_service.start(dev, ref)
    job_service.arrive(dev, ref)
    return dev.store.job(ref)["id"]


def parts_count(store, technician: str) -> int:
    rows = {r["technician"]: r for r in store.team_status("2026-11-23T09:00:00Z")}
    return rows[technician]["on_hold_for_parts"] or 0


def test_a_reason_that_merely_contains_part_is_not_a_parts_hold(tmp_path):
    app = make_team_app(tmp_path)
    dev = Device.open(app.store, now=lambda: NOW)
    ana = [r["ref"] for r in app.store.queue(limit=500) if r["technician_id"] == "ana"]
    assigned = [r for r in ana if app.store.job(r)["status"] == "assigned"][:3]
    before = parts_count(app.store, "ana")
    for ref, (why, waits_for) in zip(
        assigned,
        [("customer departed for the day", None), ("apartment locked", None), ("", "parts")],
        strict=True,
    ):
        on_site(dev, ref)
        job_service.hold(dev, ref, why, waits_for=waits_for)
    # Only the hold that said "parts" counts; "departed" and "apartment" are not parts.
    assert parts_count(app.store, "ana") == before + 1
    kinds = [app.store.job(r)["hold_for"] for r in assigned]
    assert kinds == ["other", "other", "parts"]
    assert app.store.job(assigned[2])["hold_reason"] == "waiting for parts"


def test_the_set_travels_in_the_operation_and_older_devices_are_read_by_the_words():
    stamp = str(Stamp(1_780_000_000_000, 0, "dev"))
    for payload, expected in (
        ({"from": "on_site", "to": "on_hold", "reason": "x", "hold_for": "customer"}, "customer"),
        ({"from": "on_site", "to": "on_hold", "reason": "waiting for parts"}, "parts"),
        ({"from": "on_site", "to": "on_hold", "reason": "customer departed"}, "other"),
    ):
        e = ops.expand(ops.JOB_STATUS, "j1", payload, op_id="o1", hlc=stamp, actor="ana")
        assert e.job_fields["hold_for"] == expected
    resumed = ops.expand(
        ops.JOB_STATUS,
        "j1",
        {"from": "on_hold", "to": "in_progress"},
        op_id="o2",
        hlc=stamp,
        actor="ana",
    )
    assert resumed.job_fields["hold_for"] is None


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_only_the_sets_own_words_name_a_kind(reason):
    words = {"waiting for parts", "parts", "waiting for customer", "customer"}
    words |= {"waiting for the customer", "other"}
    kind = hold_for_reason(reason)
    if " ".join(reason.lower().split()) not in words:
        assert kind is HoldFor.OTHER
    shown = hold_words(kind.value, reason)
    assert reason.strip() in shown or shown == kind.words


def test_an_unknown_kind_is_refused_in_words():
    with pytest.raises(BadInput, match="one of parts, customer, other"):
        parse_hold_for("weather")


def test_an_older_file_learns_the_set_from_its_reasons(tmp_path):
    path = tmp_path / "device.sqlite"
    store = open_store(path)
    from fieldtech.services.seed import seed

    seed(store, 40, now=SEED_DAY)
    held = [r for r in store.queue(limit=100) if r["status"] == "on_hold"]
    assert held
    store.close()
    from fieldtech.store.migrations import MIGRATIONS, m009_hold_for

    before = MIGRATIONS.index(m009_hold_for)  # the file as it was before hold_for came
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE jobs DROP COLUMN hold_for")
    db.execute("UPDATE jobs SET hold_reason = 'customer departed' WHERE id = ?", [held[0]["id"]])
    db.execute(f"PRAGMA user_version = {before}")
    db.execute("DELETE FROM schema_history WHERE version > ?", [before])
    db.commit()
    db.close()
    store = open_store(path)
    kinds = {r["id"]: store.job(r["id"])["hold_for"] for r in held}
    assert kinds[held[0]["id"]] == "other"
    for r in held[1:]:
        reason = store.job(r["id"])["hold_reason"]
        assert kinds[r["id"]] == {"waiting for parts": "parts"}.get(reason, "customer")
    store.close()


async def test_the_hold_dialog_asks_what_the_job_waits_for(tmp_path):
    app = make_app(tmp_path)
    ref = first_ref(app, "assigned")
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_job(app.store.job(ref)["id"])
        await pilot.pause()
        await pilot.press("t", "a", "h")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = "customer departed"
        await pilot.press("enter")
        await pilot.pause()
        error = str(app.screen.query_one("#error", Label).render())
        assert "Choose what the job waits for" in error
        assert app.store.job(ref)["status"] == "on_site"  # nothing saved yet
        app.screen.query_one("#for-customer", RadioButton).value = True
        await pilot.click("#ok")
        await pilot.pause()
        job = app.store.job(ref)
        assert (job["status"], job["hold_for"]) == ("on_hold", "customer")
        assert job["hold_reason"] == "customer departed"
        site = str(app.screen.query_one("#site").render())
        assert "On hold: waiting for the customer: customer departed" in site

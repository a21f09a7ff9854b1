"""Every flow of the technician's app, driven with Textual's Pilot."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Static

from fieldtech.domain.demo_data import demo_code
from fieldtech.screens.checklist import ChecklistScreen
from fieldtech.screens.close import CloseScreen
from fieldtech.screens.help import HelpScreen
from fieldtech.screens.job import JobScreen
from fieldtech.screens.job_table import JobTable
from fieldtech.screens.parts import PartsScreen
from fieldtech.screens.queue import QueueScreen
from fieldtech.screens.sync_status import SyncScreen
from tests.app_support import first_ref, make_app

SIZE = (110, 34)


async def open_job(pilot, app, ref: str) -> None:
    queue = app.screen
    assert isinstance(queue, QueueScreen)
    await pilot.press("slash")
    for ch in ref:
        await pilot.press(ch)
    await pilot.press("enter")  # leave the filter for the table
    await pilot.press("enter")  # open the first row
    await pilot.pause()
    assert isinstance(app.screen, JobScreen)


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def test_queue_orders_and_filters_as_you_type(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(JobTable)
        everything = table.row_count
        assert everything == app.store.count_jobs(app.screen.filter)
        city = app.store.queue(limit=1)[0]["city"]
        await pilot.press("slash")
        await type_text(pilot, city.lower())
        await pilot.pause()
        assert 0 < table.row_count < everything
        for key in table.keys:
            assert city.lower() in str(app.store.job_card(key)).lower()
        await pilot.press("escape")
        await pilot.press("s")  # assigned only
        await pilot.pause()
        statuses = {app.store.job(k)["status"] for k in table.keys}
        assert statuses == {"assigned"}


async def test_start_arrive_hold_resume_note(tmp_path):
    app = make_app(tmp_path)
    ref = first_ref(app, "assigned")
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, app, ref)
        await pilot.press("t")
        assert app.store.job(ref)["status"] == "en_route"
        await pilot.press("a")
        assert app.store.job(ref)["status"] == "on_site"
        await pilot.press("h")
        await pilot.pause()
        await type_text(pilot, "waiting for parts")
        await pilot.press("enter")
        await pilot.pause()
        job = app.store.job(ref)
        assert job["status"] == "on_hold" and job["hold_reason"] == "waiting for parts"
        await pilot.press("r")
        assert app.store.job(ref)["status"] == "in_progress"
        await pilot.press("n")
        await type_text(pilot, "dog friendly")
        await pilot.press("enter")
        await pilot.pause()
        assert any(e["body"] == "dog friendly" for e in app.store.job_events(job["id"]))
        history = str(app.screen.query_one("#history", Static).render())
        assert "on hold → in progress" in history
        # A refused move is shown, not raised: resume again is not allowed.
        await pilot.press("r")
        assert app.store.job(ref)["status"] == "in_progress"


async def test_checklist_readings_saved_at_once_with_warning_comment(tmp_path):
    app = make_app(tmp_path)
    ref = first_ref(app, "assigned", kind="install")
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, app, ref)
        await pilot.press("a")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistScreen)
        table = app.screen.query_one(DataTable)
        await pilot.press("space")  # first item is a tick
        await pilot.pause()
        first_key = next(iter(table.rows)).value
        assert app.store.current_readings(app.store.job(ref)["id"])[first_key].value == "yes"
        # A numeric item with a warn range: out of range asks for a comment.
        items = app.screen.items
        warn = next(
            k
            for k, e in items.items()
            if e["item"].type.value == "number"
            and e["item"].out_of_range.value == "warn"
            and (e["item"].min is not None or e["item"].max is not None)
        )
        item = items[warn]["item"]
        outside = item.min - 1 if item.min is not None else item.max + 1
        table.move_cursor(row=list(items).index(warn))
        await pilot.press("enter")
        await pilot.pause()
        await type_text(pilot, str(outside))
        await pilot.press("enter")
        await pilot.pause()
        await type_text(pilot, "old pipework")
        await pilot.press("enter")
        await pilot.pause()
        r = app.store.current_readings(app.store.job(ref)["id"])[warn]
        assert r.verdict == "warning" and r.comment == "old pipework"
        # Nonsense is refused with a visible message and nothing saved.
        await pilot.press("enter")
        await pilot.pause()
        input_ = app.screen.query_one(Input)
        input_.value = "lots"
        await pilot.press("enter")
        await pilot.pause()
        assert app.store.current_readings(app.store.job(ref)["id"])[warn].value != "lots"


async def test_parts_by_barcode_request_and_return(tmp_path):
    app = make_app(tmp_path)
    ref = first_ref(app, "assigned")
    barcode = app.store.part("AC-CAP-35")["barcode"]
    before = app.store.on_hand("AC-CAP-35")
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, app, ref)
        await pilot.press("a")
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PartsScreen)
        await type_text(pilot, barcode)  # a scanner types like a keyboard
        await pilot.press("enter")
        await pilot.pause()
        assert app.store.on_hand("AC-CAP-35") == before - 1
        await type_text(pilot, "NOT-A-PART")
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#scan", Input).value == "NOT-A-PART"  # kept, told why
        await pilot.press("ctrl+r")
        await pilot.pause()
        await type_text(pilot, "WH-ELEM-2K 2")
        await pilot.press("enter")
        await pilot.pause()
        reqs = app.store.part_requests()
        assert [(r["sku"], r["qty"], r["status"]) for r in reqs] == [("WH-ELEM-2K", 2, "submitted")]
        assert app.screen.query_one("#requests", DataTable).row_count == 1
        await pilot.press("ctrl+t")
        await pilot.pause()
        await type_text(pilot, "AC-CAP-35 1")
        await pilot.press("enter")
        await pilot.pause()
        assert app.store.on_hand("AC-CAP-35") == before - 2


async def test_close_refused_then_accepted(tmp_path):
    app = make_app(tmp_path)
    ref = first_ref(app, "assigned", kind="repair")
    job = app.store.job(ref)
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, app, ref)
        await pilot.press("a")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, CloseScreen)
        missing = str(app.screen.query_one("#missing", Static).render())
        assert "still missing" in missing and "not ticked" in missing
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.store.job(ref)["status"] == "on_site"  # refused
        # Do the checklist through the services, as the checklist screen would.
        from fieldtech.services import checklists

        for e in checklists.checklist(app.device, job["id"])["items"]:
            item = e["item"]
            if item.type.value == "photo":
                continue  # a photo item takes a file, not a reading
            value = {"tick": "yes", "choice": item.choices[0] if item.choices else ""}.get(
                item.type.value, "done"
            )
            checklists.record_reading(app.device, job["id"], item.key, value)
        screen = app.screen
        from textual.widgets import Select

        screen.query_one("#outcome", Select).value = "repaired"
        screen.query_one("#name", Input).value = "Olga Berg"
        screen.query_one("#code", Input).value = demo_code(job["ref"])
        screen.query_one("#rating", Input).value = "5"
        await pilot.pause()
        assert "ready to close" in str(screen.query_one("#missing", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        done = app.store.job(ref)
        assert done["status"] == "completed" and done["rating"] == 5
        assert isinstance(app.screen, JobScreen)


async def test_cannot_complete_with_follow_up(tmp_path):
    app = make_app(tmp_path)
    ref = first_ref(app, "assigned")
    async with app.run_test(size=SIZE) as pilot:
        await open_job(pilot, app, ref)
        await pilot.press("u")
        await pilot.pause()
        await type_text(pilot, "no access")
        await pilot.press("tab")
        await pilot.press("space")  # tick "create a follow-up job"
        await pilot.press("tab")
        await pilot.press("enter")
        await pilot.pause()
        job = app.store.job(ref)
        assert job["status"] == "cannot_complete" and job["cannot_complete_reason"] == "no access"
        assert app.store.job(ref + "-F0001")["parent_job_id"] == job["id"]


async def test_help_and_sync_screens(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one(Static).render())
        assert "on hold" in text and "waiting for parts or the customer" in text
        assert "Set off" in text and "Checklist" in text
        # Keys as the footer shows them, not by their names.
        assert "  /          Filter" in text and "slash" not in text, text
        await pilot.press("escape")
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, SyncScreen)
        assert "not enrolled" in str(app.screen.query_one("#link", Static).render())

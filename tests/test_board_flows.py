"""The supervisor's board and decisions, driven with Textual's Pilot on a supervisor device."""

from __future__ import annotations

import json

from textual.widgets import DataTable, Label, OptionList, Static

from fieldtech.screens.board import BoardScreen
from fieldtech.screens.escalations import EscalationsScreen
from fieldtech.screens.job import JobScreen
from fieldtech.screens.job_table import JobTable
from fieldtech.screens.queue import QueueScreen
from fieldtech.screens.team_dialogs import CallbackForm, PickTechnician
from fieldtech.screens.team_requests import RequestsScreen
from tests.app_support import make_app, make_team_app

SIZE = (110, 34)


def cells(table: DataTable | JobTable) -> list[list[str]]:
    if isinstance(table, JobTable):  # the queue's own table
        return [table.row_text(i) for i in range(table.row_count)]
    return [[str(c) for c in table.get_row(k)] for k in table.rows]


def pending(app, op: str) -> list[dict]:
    return [o for o in app.store.outbox("pending") if o["op"] == op]


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def test_a_supervisor_device_opens_on_the_team_board(tmp_path):
    app = make_team_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)
        rows = cells(app.screen.query_one(DataTable))
        status = {r["name"]: r for r in app.store.team_status(app.now_iso())}
        assert [r[0] for r in rows] == ["Ana Lima", "Ben Okafor", "Chen Wei"]
        ana = rows[0]
        assert ana[1] == str(status["Ana Lima"]["open"])
        assert ana[3] == str(status["Ana Lima"]["on_hold_for_parts"])
        assert ana[8] == "4.3 (1)"  # average call-back score, how many
        title = str(app.screen.query_one("#title", Static).render())
        assert "Team north · 3 technicians · as of the last sync: 20 min ago" in title
        waiting = str(app.screen.query_one("#waiting", Static).render())
        assert "2 part requests to decide" in waiting
        assert "1 escalation not acknowledged" in waiting


async def test_a_technician_device_still_opens_on_the_queue(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)


async def test_one_technicians_jobs_and_the_whole_team_with_filtering(tmp_path):
    app = make_team_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "enter")  # Ben Okafor
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)
        table = app.screen.query_one(JobTable)
        assert table.row_count > 0
        assert {app.store.job(k)["technician_id"] for k in table.keys} == {"ben"}
        assert "Ben Okafor" in str(app.screen.query_one("#filters", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)
        await pilot.press("j")
        await pilot.pause()
        table = app.screen.query_one(JobTable)
        assert {app.store.job(k)["technician_id"] for k in table.keys} == {
            "ana",
            "ben",
            "chen",
        }
        names = {r[4] for r in cells(table)}
        assert names == {"Ana Lima", "Ben Okafor", "Chen Wei"}
        # Same filter-as-you-type as the technician's queue.
        ref = app.store.job(table.keys[0])["ref"]
        await pilot.press("slash")
        await type_text(pilot, ref.lower())
        await pilot.pause()
        assert [r[2] for r in cells(table)] == [ref]


async def test_approve_and_reject_part_requests(tmp_path):
    app = make_team_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RequestsScreen)
        table = app.screen.query_one(DataTable)
        assert [r[0] for r in cells(table)] == ["Ana Lima", "Chen Wei"]
        await pilot.press("a")
        await pilot.pause()
        assert app.store.part_request("req-0")["status"] == "approved"
        [op] = pending(app, "part_request.step")
        payload = op["payload"] if isinstance(op["payload"], dict) else json.loads(op["payload"])
        assert (op["entity_id"], payload) == ("req-0", {"from": "submitted", "to": "approved"})
        assert [r[0] for r in cells(table)] == ["Chen Wei"]
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("enter")  # no reason: refused in the dialog, nothing written
        await pilot.pause()
        assert "Please type something" in str(app.screen.query_one("#error", Label).render())
        assert app.store.part_request("req-1")["status"] == "submitted"
        await type_text(pilot, "use the spare in the store")
        await pilot.press("enter")
        await pilot.pause()
        req = app.store.part_request("req-1")
        assert (req["status"], req["decided_reason"]) == ("rejected", "use the spare in the store")
        assert len(pending(app, "part_request.step")) == 2
        assert table.row_count == 0
        await pilot.press("w")  # every request, with its outcome
        await pilot.pause()
        assert [r[4] for r in cells(table)] == ["approved", "rejected"]


async def test_acknowledge_an_escalation(tmp_path):
    app = make_team_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, EscalationsScreen)
        [row] = cells(app.screen.query_one(DataTable))
        assert row[0] == "2 supervisor" and row[1] == "no"
        assert row[5] == "customer threatens to cancel"
        await pilot.press("y")
        await pilot.pause()
        await type_text(pilot, "calling them")
        await pilot.press("enter")
        await pilot.pause()
        [row] = cells(app.screen.query_one(DataTable))
        assert row[1] == "yes"
        [op] = pending(app, "escalation.ack")
        assert op["priority"] < 5  # ahead of ordinary work
        await pilot.press("y")  # already acknowledged: said so, nothing written
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert len(pending(app, "escalation.ack")) == 1


async def test_job_detail_is_read_only_with_supervisor_actions(tmp_path):
    app = make_team_app(tmp_path)
    row = app.store.db.execute(
        "SELECT id, ref, status FROM jobs WHERE technician_id = 'ana' AND status = 'assigned' "
        "ORDER BY ref LIMIT 1"
    ).fetchone()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.open_job(row[0])
        await pilot.pause()
        assert isinstance(app.screen, JobScreen)
        site = str(app.screen.query_one("#site", Static).render())
        assert "Technician: Ana Lima" in site
        await pilot.press("t")  # a technician's key: nothing happens on a supervisor's device
        await pilot.pause()
        assert app.store.job(row[0])["status"] == "assigned"
        assert app.screen.check_action("start", ()) is False
        assert app.screen.check_action("callback", ()) is False  # not closed
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, PickTechnician)
        options = app.screen.query_one(OptionList)
        names = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert names == ["Ben Okafor", "Chen Wei"]  # not the current one
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.store.job(row[0])["technician_id"] == "chen"
        [op] = pending(app, "job.assign")
        assert op["entity_id"] == row[0]
        assert "Technician: Chen Wei" in str(app.screen.query_one("#site", Static).render())


async def test_record_a_callback_with_checked_scores(tmp_path):
    app = make_team_app(tmp_path)
    row = app.store.db.execute(
        "SELECT id, technician_id FROM jobs WHERE status = 'completed' AND technician_id = 'ben' "
        "ORDER BY ref LIMIT 1"
    ).fetchone()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.open_job(row[0])
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, CallbackForm)
        await pilot.press("5", "enter")
        await pilot.pause()
        error = str(app.screen.query_one("#error", Label).render())
        assert error == "give a score for attitude, adherence"
        await pilot.press("tab", "4", "tab", "3", "tab")
        await type_text(pilot, "friendly")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, JobScreen)
        [cb] = app.store.callbacks(row[0])
        assert (cb["skill"], cb["attitude"], cb["adherence"], cb["comment"]) == (
            5,
            4,
            3,
            "friendly",
        )
        assert "Call-back 2026-11-23: skill 5, attitude 4, adherence 3 · friendly" in str(
            app.screen.query_one("#site", Static).render()
        )
        await pilot.press("escape")
        await pilot.pause()
        ben = [r for r in cells(app.screen.query_one(DataTable)) if r[0] == "Ben Okafor"][0]
        assert ben[8] == "4.0 (1)"

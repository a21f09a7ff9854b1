"""Sync by file from the app's sync screen (Pilot): export, import HQ's reply, a wrong file
said in the dialog, and the readiness check on the screen. The files are real; HQ's side of
a reply is made here with HQ's keys, as fieldtech.hq.bundle_import makes it (the round trip
through a real HQ is tests/integration/test_bundles.py)."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Label, Select, Static

from fieldtech.screens.bundle_dialog import BundleDialog
from fieldtech.screens.sync_status import SyncScreen
from fieldtech.services import jobs
from fieldtech.sync import bundles, keys
from tests.app_support import make_app

HQ_SIGN = bundles.new_key()
HQ_BOX = bundles.new_box_key()


def enrolled(tmp_path) -> dict:
    """A credential as enrollment leaves it, HQ's keys in it."""
    cred = keys.with_key({"hq_url": "http://127.0.0.1:9", "token": "t"})
    cred.update({keys.HQ_KEY: HQ_SIGN[1], keys.HQ_BOX: HQ_BOX[1], keys.KEY_AT_HQ: True})
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "credential.json").write_text(json.dumps(cred))
    return cred


async def run_dialog(pilot, app, action: str, path) -> str:
    await app.push_screen(SyncScreen())
    await pilot.pause()
    await pilot.press("b")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, BundleDialog)
    dialog.query_one("#action", Select).value = action
    dialog.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    for worker in list(app.workers):
        if worker.name == "bundle":
            await worker.wait()
    await pilot.pause()
    return str(dialog.query_one("#said", Label).render())


@pytest.mark.asyncio
async def test_export_then_import_hqs_reply_from_the_sync_screen(tmp_path):
    cred = enrolled(tmp_path)
    app = make_app(tmp_path, background_sync=False)
    job = app.store.queue(limit=1)[0]
    jobs.note(app.device, job["id"], "meter [/] reads 42 — ملاحظة")
    waiting = [o["id"] for o in app.store.outbox("pending")]
    out = tmp_path / "stick" / "mine.ftb"
    async with app.run_test(size=(80, 24)) as pilot:
        said = await run_dialog(pilot, app, "export", out)
        assert f"written {out}: {len(waiting)} change(s)" in said
        made = bundles.read(out.read_bytes())
        bundles.verify(made, keys.public(cred), "the device")
        assert [o["i"] for o in made.body(HQ_BOX[0])["ops"]] == waiting
        assert [o["id"] for o in app.store.outbox("pending")] == waiting  # still here
        # HQ's reply, acknowledging them, as HQ seals and signs it.
        reply = tmp_path / "stick" / "reply.ftb"
        outcome = {"through": waiting[-1], "rejected": [], "clock": None, "sent": waiting}
        reply.write_bytes(
            bundles.pack(
                {"kind": "reply", "device": app.device.device_id, "cursor": 0},
                {"outcome": outcome, "pages": []},
                HQ_SIGN[0],
                keys.box_public(cred),
            )
        )
        await pilot.press("escape")
        await pilot.pause()
        said = await run_dialog(pilot, app, "import", reply)
        assert f"{len(waiting)} change(s) settled" in said
    assert app.store.outbox("pending") == []


@pytest.mark.asyncio
async def test_a_wrong_file_is_said_in_the_dialog_and_changes_nothing(tmp_path):
    enrolled(tmp_path)
    app = make_app(tmp_path, background_sync=False)
    job = app.store.queue(limit=1)[0]
    jobs.note(app.device, job["id"], "kept")
    junk = tmp_path / "holiday.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not a bundle")
    async with app.run_test(size=(80, 24)) as pilot:
        for action, words in (
            ("import", "not a fieldtech bundle"),
            ("carry", "not a fieldtech bundle"),
        ):
            said = await run_dialog(pilot, app, action, junk)
            assert words in said
            assert app.screen.query_one("#said", Label).has_class("error")
            await pilot.press("escape")
            await pilot.pause()
        said = await run_dialog(pilot, app, "import", tmp_path / "nowhere.ftb")
        assert "cannot read" in said
    assert len(app.store.outbox("pending")) == 1


@pytest.mark.asyncio
async def test_the_sync_screen_says_what_the_next_days_jobs_lack(tmp_path):
    enrolled(tmp_path)
    app = make_app(tmp_path, background_sync=False)
    job = app.store.queue(limit=1)[0]
    jobs.note(app.device, job["id"], "not sent yet")
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(SyncScreen())
        for worker in list(app.workers):
            if worker.name == "ready":
                await worker.wait()
        await pilot.pause()
        shown = str(app.screen.query_one("#ready", Static).render())
        assert "Ready to leave coverage" in shown and "not yet" in shown
        assert "change(s) not yet at HQ" in shown


class OutOfReach:
    """An enrolled device's agent whose HQ cannot be reached."""

    online = True

    def sync_once(self):
        return {"ok": False, "error": "no signal", "unreachable": True, "reassigned": []}

    def set_online(self, online: bool) -> None:
        self.online = online


@pytest.mark.asyncio
async def test_once_the_link_drops_the_status_bar_says_what_is_missing(tmp_path):
    enrolled(tmp_path)
    app = make_app(tmp_path, sync_agent=OutOfReach(), background_sync=False)
    soon = [r for r in app.store.queue(limit=100) if r["status"] == "assigned"][0]
    with app.store.transaction():  # a checklist HQ made after the last sync
        app.store.db.execute(
            "UPDATE jobs SET template_id = 'boiler-2027', template_version = 1,"
            " window_start = '2000-01-01T00:00:00Z' WHERE id = ?",
            [soon["id"]],
        )
    async with app.run_test(size=(120, 24)) as pilot:
        bar = str(app.screen.query_one("#status-bar", Static).render())
        assert "not ready" not in bar  # in reach, or not yet tried: nothing said
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        bar = str(app.screen.query_one("#status-bar", Static).render())
        assert "not ready to leave: 1 missing (F2)" in bar, bar
        assert bar.endswith("0 conflicts"), bar
        await pilot.resize_terminal(80, 24)  # narrow: the counts still whole
        await pilot.pause()
        bar = str(app.screen.query_one("#status-bar", Static).render())
        assert bar.endswith("0 waiting to send · 0 conflicts") and len(bar) <= 78, bar


def test_a_reply_settles_what_is_still_here_when_a_sync_settled_the_last_one(tmp_path):
    from fieldtech.sync import offline

    cred = enrolled(tmp_path)
    app = make_app(tmp_path, background_sync=False)
    job = app.store.queue(limit=1)[0]
    for n in range(3):
        jobs.note(app.device, job["id"], f"note {n}")
    sent = sorted(o["id"] for o in app.store.outbox("pending"))
    offline.export_bundle(app.device, tmp_path / "config" / "credential.json", tmp_path / "b.ftb")
    with app.store.transaction():  # an online sync settled the bundle's last one meanwhile
        app.store.forget_acknowledged([sent[-1]])
    outcome = {"through": sent[-1], "rejected": [], "clock": None, "sent": sent}
    reply = bundles.pack(
        {"kind": "reply", "device": app.device.device_id, "cursor": 0},
        {"outcome": outcome, "pages": []},
        HQ_SIGN[0],
        keys.box_public(cred),
    )
    got = offline.import_reply(app.device, tmp_path / "config" / "credential.json", reply)
    assert got.settled == 2 and not got.stale
    assert app.store.outbox("pending") == []

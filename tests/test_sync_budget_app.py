"""A byte budget for the app's syncs: settings.toml's sync_budget reaches the app's sync
agent, and the sync screen shows what the next sync sends and what waits."""

from __future__ import annotations

import os

from fieldtech.services import jobs
from fieldtech.services.escalations import escalate
from fieldtech.sync import credentials
from tests.app_support import make_app, until
from tests.test_confirmation_code import screen_text


def budget_profile(tmp_path, value: str):
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "settings.toml").write_text(f'sync_budget = "{value}"\n')
    credentials.save(
        tmp_path / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "t"}
    )
    return make_app(tmp_path, sync_agent="profile", background_sync=False)


async def test_the_settings_budget_reaches_the_sync_agent_and_the_sync_screen(tmp_path):
    from fieldtech.screens.sync_status import SyncScreen

    app = budget_profile(tmp_path, "2KB")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: not app.agent_coming, "the sync agent")
        assert app.sync_budget == 2000
        assert app.sync_agent is not None and app.sync_agent.budget == 2000
        rows = app.store.queue(limit=100)
        # Jobs of normal urgency: all the work on an emergency's or a VIP's job goes first.
        open_jobs = [
            r["id"]
            for r in rows
            if r["status"] == "assigned" and r["priority"] in ("normal", "low")
        ]
        for n in range(40):  # notes that cannot all fit 2 kB: random words do not compress
            jobs.note(app.device, open_jobs[0], f"note {n} {os.urandom(60).hex()}")
        jobs.hold(app.device, open_jobs[1], "waiting for parts")
        escalate(app.device, open_jobs[2], "gas smell, need a supervisor")
        await app.push_screen(SyncScreen())
        await pilot.pause()
        text = screen_text(app)
        assert "Next sync: within its budget of 2,000 bytes" in text
        lines = {ln.strip() for ln in text.splitlines()}
        assert "1 go  escalations and emergencies" in lines, text
        assert "1 go  status changes and closes" in lines, text
        notes = [ln for ln in lines if ln.endswith("wait  notes")]
        assert notes, text  # some notes wait for a later sync
        going, waiting = notes[0].split(" go, ")
        assert int(going) + int(waiting.split()[0]) == 40 and int(waiting.split()[0]) > 0


async def test_without_a_budget_the_sync_screen_says_everything_goes(tmp_path):
    from fieldtech.screens.sync_status import SyncScreen

    credentials.save(
        tmp_path / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "t"}
    )
    app = make_app(tmp_path, sync_agent="profile", background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: not app.agent_coming, "the sync agent")
        assert app.sync_agent is not None and app.sync_agent.budget is None
        await app.push_screen(SyncScreen())
        await pilot.pause()
        assert "Next sync: nothing waits to go" in screen_text(app)  # a fresh device
        await app.pop_screen()
        rows = app.store.queue(limit=5)
        jobs.note(app.device, rows[0]["id"], "gate code 4471")
        await app.push_screen(SyncScreen())
        await pilot.pause()
        assert "Next sync: all that waits goes (no byte budget)" in screen_text(app)


async def test_a_budget_that_is_not_a_size_is_named_and_ignored(tmp_path):
    app = budget_profile(tmp_path, "lots")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: not app.agent_coming, "the sync agent")
        messages = [n.message for n in app._notifications]
        assert any(
            "settings.toml ignored: a sync budget is a size such as 50KB or 2MB, not 'lots'" in m
            for m in messages
        ), messages
        assert app.sync_budget is None and app.sync_agent.budget is None


async def test_a_bad_budget_does_not_drop_the_theme_beside_it(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text(
        'theme = "textual-light"\nsync_budget = "lots"\n'
    )
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.theme == "textual-light" and app.sync_budget is None
        messages = [n.message for n in app._notifications]
        assert any("sync budget is a size" in m for m in messages), messages

"""The app tells the truth and survives what it did not expect: a sync that breaks in a
way nobody planned, a full disk at close, HQ gone, time passing while nobody types."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

import fieldtech.app as app_module
from fieldtech.screens.close import CloseScreen
from fieldtech.screens.status_bar import StatusBar
from fieldtech.sync.agent import SyncAgent
from fieldtech.sync.client import SyncClient
from tests.app_support import NOW, first_ref, make_app, until

SIZE = (80, 24)


def bar_text(app) -> str:
    return str(app.screen.query_one(StatusBar).render())


def notes_shown(app) -> list[str]:
    # Textual has no public list of the notifications on show (its Toast is not exported).
    return [str(n.message) for n in app._notifications]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ExplodingAgent:
    """An agent whose sync breaks in a way no code expected (a bug, a broken disk)."""

    online = True

    def __init__(self) -> None:
        self.calls = 0

    def sync_once(self):
        self.calls += 1
        raise RuntimeError("the unexpected")

    def set_online(self, online: bool) -> None:
        self.online = online


async def test_an_unexpected_sync_failure_is_said_once_and_sync_tries_again(tmp_path):
    agent = ExplodingAgent()
    app = make_app(tmp_path, sync_agent=agent, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert agent.calls == 1
        bar = bar_text(app)
        assert "syncing" not in bar
        assert "sync failed since" in bar
        assert any("the unexpected" in n for n in notes_shown(app))
        await pilot.press("ctrl+y")  # the person asks again: it is tried again
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert agent.calls == 2
        assert "syncing" not in bar_text(app)
    log = (tmp_path / "logs" / "fieldtech.log").read_text()
    assert "RuntimeError: the unexpected" in log and "Traceback" in log


def hangs_up() -> socket.socket:
    """A listening address that closes every connection at once: the device finds
    something there (and loads its HTTP stack), and each request fails on the link."""
    import threading

    server = socket.create_server(("127.0.0.1", 0))

    def take() -> None:
        try:
            while True:
                server.accept()[0].close()
        except OSError:
            pass

    threading.Thread(target=take, daemon=True).start()
    return server


async def test_a_real_agent_survives_an_unexpected_error_and_recovers(tmp_path, monkeypatch):
    """The real agent, over a real address that hangs up: a first attempt that breaks
    unexpectedly, then the link failure is reported as what it is."""
    server = hangs_up()
    port = server.getsockname()[1]
    app = make_app(tmp_path, sync_agent=None, background_sync=False)
    agent = SyncAgent(app.locations.device_db, f"http://127.0.0.1:{port}", "t0ken")
    app.sync_agent = agent
    real_sync = SyncClient.sync
    broken = {"left": 1}

    def sync_once_broken(self, *args, **kwargs):
        if broken["left"]:
            broken["left"] -= 1
            raise OSError(28, "No space left on device")
        return real_sync(self, *args, **kwargs)

    monkeypatch.setattr(SyncClient, "sync", sync_once_broken)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "sync failed since" in bar_text(app)
        assert any("No space left on device" in n for n in notes_shown(app))
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        bar = bar_text(app)
        assert "HQ unreachable since" in bar, bar
        assert "online" not in bar
    agent.close()
    server.close()


async def test_hq_unreachable_is_shown_with_the_time_and_the_reason(tmp_path):
    port = free_port()  # nothing listens there
    app = make_app(tmp_path, sync_agent=None, background_sync=False)
    app.sync_agent = SyncAgent(app.locations.device_db, f"http://127.0.0.1:{port}", "t0ken")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        bar = bar_text(app)
        assert bar.startswith("HQ unreachable since "), bar
        assert "online" not in bar
        # The time is the device's local time of the failure, with its zone.
        local = NOW.astimezone()
        assert local.strftime("%H:%M") in bar
        assert app.link.failing_since == NOW
        # 80 columns: the state and the counts whole, the reason left to F2.
        assert bar.endswith("0 waiting to send · 0 conflicts") and len(bar) <= 78, bar
        await pilot.resize_terminal(130, 24)
        await pilot.pause()
        bar = bar_text(app)
        # Room for all of it: the cause in words (the URL is on F2) and the last sync's age.
        assert "(Connection refused) · last sync never · 0 waiting" in bar, bar
    app.sync_agent.close()


async def test_not_enrolled_and_switched_off_say_so(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert bar_text(app).startswith("not enrolled: fieldtech enroll URL CODE")
    agent = ExplodingAgent()
    app = make_app(tmp_path / "b", sync_agent=agent, background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        assert bar_text(app).startswith("offline (F5)")
        assert agent.calls == 0  # nothing is tried while the signal is off


async def test_ages_and_sla_countdowns_tick_while_nobody_types(tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "CLOCK_TICK", 0.05)
    clock = {"now": NOW}
    app = make_app(
        tmp_path, sync_agent=ExplodingAgent(), background_sync=False, now=lambda: clock["now"]
    )
    app.store.set_meta("last_sync_ok", (NOW - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "synced 2 min ago" in bar_text(app)
        table = app.screen.query_one("JobTable")
        due = [r["sla_due"] for r in app.store.queue(limit=table.row_count) if r["status"] != "x"]
        first_due = datetime.fromisoformat(due[0].replace("Z", "+00:00"))
        before = table.row_text(0)
        clock["now"] = max(NOW + timedelta(minutes=40), first_due + timedelta(minutes=5))
        minutes = int((clock["now"] - (NOW - timedelta(minutes=2))).total_seconds() // 60)
        expected_age = f"{minutes} min ago" if minutes < 60 else f"{minutes // 60} h ago"
        await until(
            pilot,
            lambda: f"synced {expected_age}" in bar_text(app) and table.row_text(0) != before,
            "the clock tick to redraw the bar and the SLA cell",
        )
        assert f"synced {expected_age}" in bar_text(app)
        after = table.row_text(0)
        assert after != before
        assert any(cell.startswith("overdue") for cell in after), after


async def test_a_full_disk_at_close_is_one_message_not_a_crash(tmp_path, monkeypatch):
    """What the store raises on a full disk (tests/test_store_failures.py makes a real one),
    and an error nobody foresaw: the close screen stays, says it, and nothing crashes."""
    import sqlite3

    from fieldtech.services import jobs as job_service
    from fieldtech.store.db import StoreError

    app = make_app(tmp_path)
    ref = first_ref(app, "assigned", kind="repair")
    async with app.run_test(size=SIZE) as pilot:
        app.open_job(app.store.job(ref)["id"])
        await pilot.pause()
        await pilot.press("a")
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, CloseScreen)
        for error in (
            StoreError("the disk is full: nothing was saved; free some space and try again"),
            sqlite3.OperationalError("database or disk is full"),
        ):

            def close(*args, error=error, **kwargs):
                raise error

            monkeypatch.setattr(job_service, "close", close)
            app.screen.action_submit()
            await pilot.pause()
            assert app.return_code is None  # still running
            assert isinstance(app.screen, CloseScreen)
            shown = notes_shown(app)[-1]
            assert shown.startswith("not closed") and "full" in shown, shown
        assert app.store.job(ref)["status"] == "on_site"


async def test_a_job_screen_turns_overdue_while_it_is_open(tmp_path, monkeypatch):
    from textual.widgets import Static

    monkeypatch.setattr(app_module, "CLOCK_TICK", 0.05)
    clock = {"now": NOW}
    app = make_app(
        tmp_path, sync_agent=ExplodingAgent(), background_sync=False, now=lambda: clock["now"]
    )
    job = next(
        r
        for r in app.store.queue(limit=1000)
        if r["sla_due"] and datetime.fromisoformat(r["sla_due"].replace("Z", "+00:00")) > NOW
    )
    due = datetime.fromisoformat(job["sla_due"].replace("Z", "+00:00"))
    async with app.run_test(size=SIZE) as pilot:

        def head_text() -> str:
            return str(app.screen.query_one("#head", Static).render())

        app.open_job(job["id"])
        await until(pilot, lambda: app.screen.query("#head"), "the job screen to be shown")
        head = head_text()
        assert "due in" in head and "overdue" not in head, head
        clock["now"] = due + timedelta(minutes=7)
        await until(pilot, lambda: "overdue" in head_text(), "the clock tick to redraw the head")
        head = head_text()
        assert "overdue 7m" in head, head


class QuietAgent:
    """An agent whose every sync goes well: two sent, one received."""

    online = True

    def sync_once(self):
        return {"ok": True, "acknowledged": 2, "pulled": 1, "rejected": [], "reassigned": []}

    def set_online(self, online: bool) -> None:
        self.online = online


async def test_sync_now_by_hand_always_says_how_it_went(tmp_path):
    app = make_app(tmp_path, sync_agent=QuietAgent(), background_sync=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "synced: 2 sent, 1 received" in notes_shown(app)
        await pilot.press("f5")  # the signal goes
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert notes_shown(app)[-1].startswith("no signal: your changes wait here")
    port = free_port()
    app = make_app(tmp_path / "b", sync_agent=None, background_sync=False)
    app.sync_agent = SyncAgent(app.locations.device_db, f"http://127.0.0.1:{port}", "t0ken")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("cannot be reached" in n for n in notes_shown(app)), notes_shown(app)
    app.sync_agent.close()

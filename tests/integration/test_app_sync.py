"""The app against a real HQ: work done offline flows out when the link returns."""

from __future__ import annotations

import pytest

from fieldtech.app import build_app
from fieldtech.demo.world import build_demo
from fieldtech.paths import Locations
from fieldtech.screens.status_bar import StatusBar
from fieldtech.sync.agent import SyncAgent
from tests.app_support import until
from tests.test_app_flows import open_job
from tests.test_confirmation_code import screen_text

pytestmark = pytest.mark.integration


async def test_offline_work_piles_up_then_flows_out(tmp_path):
    world = build_demo(tmp_path / "demo", jobs=20)
    try:
        token = world.client.http.headers["Authorization"].removeprefix("Bearer ")
        agent = SyncAgent(world.device.store.path, world.server.url, token, link=world.link)
        loc = Locations(tmp_path / "demo" / "device", tmp_path / "c", tmp_path / "l", "test")
        app = build_app(loc, store=world.device.store, device=world.device, sync_agent=agent)
        ref = next(
            r["ref"] for r in world.device.store.queue(limit=100) if r["status"] == "assigned"
        )
        async with app.run_test(size=(110, 34)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("f5")  # signal lost
            await pilot.pause()
            bar = str(app.screen.query_one(StatusBar).render())
            assert "offline" in bar
            await open_job(pilot, app, ref)
            await pilot.press("t")
            await pilot.press("a")
            await pilot.pause()
            await app.workers.wait_for_complete()
            assert len(app.store.outbox("pending")) == 2
            assert "2 waiting to send" in str(app.screen.query_one(StatusBar).render())
            from fieldtech.hq.dispatch import get_job
            from tests.integration.world import ADMIN

            job_id = app.store.job(ref)["id"]
            assert get_job(world.server.hq, ADMIN, job_id)["status"] == "assigned"
            await pilot.press("f5")  # signal back: it syncs at once
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.store.outbox() == []
            assert get_job(world.server.hq, ADMIN, job_id)["status"] == "on_site"
            bar = str(app.screen.query_one(StatusBar).render())
            assert "synced just now" in bar and "0 waiting to send" in bar
    finally:
        world.close()


async def test_the_apps_sync_keeps_within_its_byte_budget_urgent_work_first(tmp_path):
    import os

    from fieldtech.hq.dispatch import get_job
    from fieldtech.services import jobs
    from tests.integration.world import ADMIN

    world = build_demo(tmp_path / "demo", jobs=20)
    try:
        token = world.client.http.headers["Authorization"].removeprefix("Bearer ")
        agent = SyncAgent(
            world.device.store.path, world.server.url, token, link=world.link, budget=3000
        )
        loc = Locations(tmp_path / "demo" / "device", tmp_path / "c", tmp_path / "l", "test")
        app = build_app(loc, store=world.device.store, device=world.device, sync_agent=agent)
        rows = world.device.store.queue(limit=100)
        normal = [
            r["id"]
            for r in rows
            if r["status"] == "assigned" and r["priority"] in ("normal", "low")
        ]
        async with app.run_test(size=(110, 34)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.press("f5")  # signal lost: the work piles up
            await pilot.pause()
            for n in range(60):  # more than 3,000 bytes: random words do not compress
                jobs.note(world.device, normal[0], f"note {n} {os.urandom(60).hex()}")
            jobs.start(world.device, normal[1])  # made last, goes first
            await pilot.press("f5")  # signal back: one sync, within its budget
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert get_job(world.server.hq, ADMIN, normal[1])["status"] == "en_route"
            left = app.store.outbox("pending")
            assert left and {o["op"] for o in left} == {"job.note"}  # notes wait, in order
            history = get_job(world.server.hq, ADMIN, normal[0])["history"]
            sent = [e["body"].split()[1] for e in history if e["kind"] == "note"]
            assert sent == [str(n) for n in range(len(sent))] and len(sent) < 60
            waiting = f"{len(left)} waiting to send"
            assert waiting in str(app.screen.query_one(StatusBar).render())
    finally:
        world.close()


async def test_an_enrolled_profile_finds_hq_loads_its_http_stack_and_syncs(hq, tmp_path):
    """The installed app's way: an agent built from the profile's credential asks whether
    HQ is there, loads its HTTP stack on the app's loop, then syncs HQ's dispatch down."""
    from fieldtech.store import open_store
    from tests.integration.conftest import enroll_device
    from tests.integration.test_dispatch_to_device import dispatch

    user = hq.add_user("Tenzin Dorje")
    home = tmp_path / "tenzin"
    enroll_device(hq, home, user["enrollment_code"]).close()
    job = dispatch(hq, "tenzin-dorje")
    loc = Locations(home / "data", home / "config", home / "logs", "test")
    app = build_app(loc, store=open_store(loc.device_db), sync_agent="profile")
    said: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.sync_agent is not None, "the sync agent")
        app.notify = lambda message, **kw: said.append(message)  # type: ignore[method-assign]
        await pilot.press("ctrl+y")
        await until(pilot, lambda: any(m.startswith("synced:") for m in said), "the sync", 20)
        assert isinstance(app.sync_agent, SyncAgent) and app.sync_agent.http_ready
        assert app.store.job(job["ref"])["status"] == "assigned"
        await until(pilot, lambda: job["ref"] in screen_text(app), "the job on the queue")

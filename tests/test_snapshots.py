"""What a person sees, pinned at 80×24 and 120×40 (pytest-textual-snapshot).

Update after an intended change with `pytest tests/test_snapshots.py --snapshot-update`,
and look at the SVGs in tests/__snapshots__ before committing them.
"""

from __future__ import annotations

import pytest

from fieldtech.screens.checklist import ChecklistScreen
from fieldtech.screens.close import CloseScreen
from fieldtech.screens.help import HelpScreen
from fieldtech.screens.job import JobScreen
from fieldtech.screens.parts import PartsScreen
from fieldtech.screens.sync_status import SyncScreen
from tests.app_support import first_ref, make_app

SIZES = [(80, 24), (120, 40)]


async def steady(pilot) -> None:
    """A blinking cursor is shown or not depending on when the picture is taken (on a busy
    machine, a blink lands in between): hold every input's cursor still, shown."""
    from textual.widgets import Input

    await pilot.pause()
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    # What a screen reads off its thread (the sync screen's readiness) is on it before the
    # picture: the picture is of the screen a person sees a moment after opening it.
    for worker in list(pilot.app.workers):
        if worker.name == "ready":
            await worker.wait()
    await pilot.pause()
    await pilot.pause()


@pytest.fixture(autouse=True)
def _utc_device(monkeypatch):
    """Screens show the device's local time: pin the zone so the pictures are the same on
    every machine."""
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def screen_for(name: str, app):
    ref = first_ref(app, "on_hold")
    job_id = app.store.job(ref)["id"]
    return {
        "job": lambda: JobScreen(job_id),
        "checklist": lambda: ChecklistScreen(job_id),
        "parts": lambda: PartsScreen(job_id),
        "close": lambda: CloseScreen(job_id),
        "sync": SyncScreen,
        "help": HelpScreen,
    }[name]()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", ["queue", "job", "checklist", "parts", "close", "sync", "help"])
def test_screen(snap_compare, tmp_path, name, size):
    app = make_app(tmp_path)

    async def go(pilot):
        await pilot.pause()
        if name != "queue":
            await app.push_screen(screen_for(name, app))
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=go)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", ["board", "requests", "escalations", "job"])
def test_supervisor_screen(snap_compare, tmp_path, name, size):
    from fieldtech.screens.escalations import EscalationsScreen
    from fieldtech.screens.team_requests import RequestsScreen
    from tests.app_support import make_team_app

    app = make_team_app(tmp_path)

    async def go(pilot):
        await pilot.pause()
        if name == "requests":
            await app.push_screen(RequestsScreen())
        elif name == "escalations":
            await app.push_screen(EscalationsScreen())
        elif name == "job":
            [esc] = app.store.escalations()
            await app.push_screen(JobScreen(esc["id"]))
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=go)


class _NoSignal:
    """An enrolled device's sync agent out of reach: the screens show what waits."""

    online = False

    def sync_once(self):
        return {"ok": False, "error": "no signal", "unreachable": True, "reassigned": []}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sync_screen_with_a_byte_budget(snap_compare, tmp_path, size):
    """What the next sync sends and what waits, on a device with a 2 kB budget."""
    from fieldtech.services import jobs
    from fieldtech.services.escalations import escalate

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text('sync_budget = "2KB"\n')
    app = make_app(tmp_path, sync_agent=_NoSignal(), background_sync=False)
    rows = [r for r in app.store.queue(limit=100) if r["priority"] in ("normal", "low")]
    ids = [r["id"] for r in rows if r["status"] == "assigned"]
    for n in range(30):
        jobs.note(app.device, ids[0], f"note {n}: " + " ".join(f"w{n * k % 97}" for k in range(40)))
    jobs.hold(app.device, ids[1], "waiting for parts")
    escalate(app.device, ids[2], "gas smell, need a supervisor")

    async def go(pilot):
        await pilot.pause()
        await app.push_screen(SyncScreen())
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=go)

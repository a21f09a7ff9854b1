"""What `fieldtech` loads before the queue is up, and what waits until after."""

from __future__ import annotations

import gc
import importlib
import subprocess
import sys

import click
import pytest

from fieldtech.cli import COMMANDS, cli
from fieldtech.sync import credentials
from fieldtech.sync.agent import SyncAgent
from tests.app_support import make_app, until

HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "httpx", "pydantic")


FIRST_FRAME = """
import sys
from textual.app import App

# App._display (private) is the one place every frame passes; Textual has no public hook.
display, run = App._display, App.run

def record(app, screen, renderable):
    if renderable is not None and type(screen).__name__ == "QueueScreen":
        print(sorted(m for m in {heavy!r} if m in sys.modules), flush=True)
        app.exit()
    display(app, screen, renderable)

App._display = record
App.run = lambda app, *args, **kwargs: run(app, headless=True, size=(80, 24))
sys.argv = ["fieldtech", "--home", {home!r}]
from fieldtech.launch import main
main()
"""


def test_the_queue_is_drawn_before_hq_or_the_sync_client_is_loaded(tmp_path):
    """The installed command's entry point on an enrolled device, up to its first frame."""
    credentials.save(
        tmp_path / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "t"}
    )
    code = FIRST_FRAME.format(heavy=HEAVY, home=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "[]"


def test_every_command_is_named_where_the_cli_finds_it():
    everything = click.Group()
    for module in {m for modules in COMMANDS.values() for m in modules}:
        importlib.import_module(module).register(everything)
    assert set(everything.commands) == set(COMMANDS)
    with click.Context(cli) as ctx:
        for name in COMMANDS:  # each name finds its own command through its modules
            assert cli.get_command(ctx, name) is everything.commands[name]


async def test_an_enrolled_device_gets_its_sync_agent_after_the_first_frame(tmp_path):
    credentials.save(
        tmp_path / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "t"}
    )
    app = make_app(tmp_path, sync_agent="profile", background_sync=False)
    assert app.sync_agent is None and app.agent_coming
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.sync_agent is not None, "the sync agent to be built")
        assert isinstance(app.sync_agent, SyncAgent)
        assert not app.agent_coming
        bar = str(app.screen.query_one("#status-bar").render())
        assert "online" in bar and "not enrolled" not in bar


async def test_a_device_without_a_credential_says_not_enrolled(tmp_path):
    app = make_app(tmp_path, sync_agent="profile")
    assert not app.agent_coming
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.sync_agent is None
        assert "not enrolled" in str(app.screen.query_one("#status-bar").render())


def test_a_command_turns_the_collector_back_on(tmp_path):
    from fieldtech.cli import main

    gc.disable()  # as fieldtech.launch does before anything is imported
    try:
        with pytest.raises(SystemExit) as done:
            main(["--home", str(tmp_path), "locate"])
        assert done.value.code == 0
        assert gc.isenabled()
    finally:
        gc.enable()


async def test_the_app_turns_the_collector_back_on_after_its_first_frame(tmp_path):
    app = make_app(tmp_path)
    gc.disable()
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


async def test_the_status_bar_counts_conflicts_held_on_the_device(tmp_path):
    app = make_app(tmp_path)
    for i in range(2):
        app.store.add_conflict(
            {
                "id": f"c{i}",
                "entity": "job",
                "entity_id": f"j{i}",
                "field": "status",
                "detected_at": "2026-11-23T08:00:00Z",
            }
        )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "2 conflict(s)" in str(app.screen.query_one("#status-bar").render())


async def test_an_agent_that_cannot_start_is_said_once_and_the_app_goes_on(tmp_path, monkeypatch):
    credentials.save(
        tmp_path / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "t"}
    )

    def broken(cls, *args):
        raise OSError("credential store unreadable")

    monkeypatch.setattr(SyncAgent, "from_profile", classmethod(broken))
    app = make_app(tmp_path, sync_agent="profile", background_sync=False)
    said: list[str] = []
    monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: not app.agent_coming, "the agent's start to end")
        assert app.sync_agent is None
        assert said == ["sync cannot start here: OSError: credential store unreadable"]
        await pilot.press("slash", "w")  # the queue still answers
        assert app.screen.query_one("#filter").value == "w"


def test_the_agents_pieces_leave_the_http_stack_out_and_its_pieces_bring_it():
    code = (
        "import sys\nfrom fieldtech.sync import preload\n"
        "names = list(preload.pieces(preload.AGENT))\n"
        "print(names == list(preload.AGENT), 'fieldtech.sync.agent' in sys.modules,"
        " sorted(m for m in ('httpx', 'httpcore', 'h11', 'ssl', 'fieldtech.sync.client')"
        " if m in sys.modules) == [])\n"
        "names = list(preload.pieces(preload.HTTP))\n"
        "print(names == list(preload.HTTP), 'fieldtech.sync.client' in sys.modules,"
        " 'fieldtech.sync.waiter' in sys.modules,"
        " 'httpx._main' in sys.modules and sys.modules['httpx._main'] is None)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"] * 7


async def test_sync_starts_when_the_person_pauses_typing_not_while(tmp_path):
    import asyncio

    credentials.save(
        tmp_path / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "t"}
    )
    app = make_app(tmp_path, sync_agent="profile", background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        for ch in "lhasa shigatse lhasa":  # ~0.1 s a key, faster than the pause
            await pilot.press(ch if ch != " " else "space")
            await asyncio.sleep(0.1)
            assert app.agent_coming and app.sync_agent is None  # not while typing
        await until(pilot, lambda: app.sync_agent is not None, "the agent after the pause")
        assert app.screen.query_one("#filter").value == "lhasa shigatse lhasa"

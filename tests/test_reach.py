"""Before the device has reached HQ it asks, with a plain TCP connection, whether anything
listens at HQ's address: an offline device says "unreachable" without loading httpx."""

from __future__ import annotations

import socket
import subprocess
import sys

from fieldtech.sync import credentials
from fieldtech.sync.agent import SyncAgent
from fieldtech.sync.reach import unreachable
from tests.app_support import make_app, until
from tests.test_app_trust import free_port, hangs_up  # nothing listens / hangs up


def test_a_port_nothing_listens_on_is_unreachable_with_the_reason():
    why = unreachable(f"http://127.0.0.1:{free_port()}")
    assert why is not None and "refused" in why.lower()


def test_a_listening_port_is_reachable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert unreachable(f"http://127.0.0.1:{s.getsockname()[1]}/") is None


def test_addresses_that_cannot_be_used_are_said_not_raised():
    assert "not usable" in (unreachable("http://127.0.0.1:99999") or "")
    assert "no host" in (unreachable("http:///v1") or "")
    assert unreachable("http://hq.invalid", timeout=2) is not None  # no such name
    assert "not usable" in (unreachable("http://a..b") or "")  # a name that cannot be encoded


def test_an_unreachable_hq_is_said_without_importing_the_http_stack(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    code = (
        "import sys\nfrom pathlib import Path\nfrom fieldtech.sync.agent import SyncAgent\n"
        f"agent = SyncAgent(Path({str(tmp_path / 'd.sqlite')!r}), {url!r}, 't')\n"
        "s = agent.reach()\n"
        "print(s['ok'], s['unreachable'], s['error'])\n"
        "print(sorted(m for m in ('httpx', 'httpcore', 'h11', 'fieldtech.sync.client')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    said, loaded = out.stdout.splitlines()
    assert said.startswith(f"False True HQ cannot be reached at {url} (")
    assert loaded == "[]"


def test_with_a_link_of_its_own_or_switched_off_the_agent_leaves_it_to_the_sync(tmp_path):
    from fieldtech.sync.link import SwitchableLink

    url = f"http://127.0.0.1:{free_port()}"
    assert SyncAgent(tmp_path / "a.sqlite", url, "t", link=SwitchableLink(url)).reach() is None
    off = SyncAgent(tmp_path / "b.sqlite", url, "t")
    off.set_online(False)
    assert off.reach() is None and not off.online
    summary = off.sync_once()  # the link it builds starts switched off, as the agent was
    assert summary["ok"] is False and "no signal" in summary["error"]
    off.close()


async def test_the_app_says_hq_is_unreachable_without_a_sync_attempt(tmp_path, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    credentials.save(tmp_path / "config" / "credential.json", {"hq_url": url, "token": "t"})
    tried: list[object] = []
    monkeypatch.setattr(SyncAgent, "sync_once", lambda self: tried.append(self))
    app = make_app(tmp_path, sync_agent="profile", background_sync=False)
    said: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.sync_agent is not None, "the sync agent")
        monkeypatch.setattr(app, "notify", lambda message, **kw: said.append(message))
        await pilot.press("ctrl+y")
        await until(pilot, lambda: any("cannot be reached" in m for m in said), "the answer")
        await until(pilot, lambda: not app.syncing, "the sync to end")
        bar = str(app.screen.query_one("#status-bar").render())
        assert "unreachable" in bar.lower(), bar
    assert tried == []  # the HTTP client was never asked


async def test_a_stack_that_will_not_load_is_said_once_not_tried_forever(tmp_path, monkeypatch):
    """HQ answers, but the HTTP stack cannot be loaded here: the sync that follows says so,
    once, and the app is not left asking for the stack again and again."""
    server = hangs_up()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    credentials.save(tmp_path / "config" / "credential.json", {"hq_url": url, "token": "t"})
    tried: list[object] = []

    def broken_sync(self):
        tried.append(self)
        return {"ok": False, "error": "sync cannot start here (no TLS)", "unreachable": False}

    monkeypatch.setattr(SyncAgent, "http_ready", property(lambda self: False))
    monkeypatch.setattr(SyncAgent, "sync_once", broken_sync)
    app = make_app(tmp_path, sync_agent="profile", background_sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.sync_agent is not None, "the sync agent")
        await pilot.press("ctrl+y")
        await until(pilot, lambda: tried and not app.syncing, "the sync to end")
        await pilot.pause(0.5)
        assert len(tried) == 1
        assert "sync failed since" in str(app.screen.query_one("#status-bar").render())
    server.close()

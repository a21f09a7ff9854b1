"""The installed `fieldtech demo` in a real terminal (tmux): a job worked to completion with
keystrokes only, then quit, and the terminal is given back as it was."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldtech.domain.demo_data import demo_code
from fieldtech.domain.jobs import OUTCOMES
from fieldtech.store import open_store
from tests.pictures import picture

FIELDTECH = str(Path(sys.executable).with_name("fieldtech"))
pytestmark = pytest.mark.tmux


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def screen(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def wait_for(session: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen(session)
        if text in shown:
            return shown
        time.sleep(0.2)  # poll interval
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen(session)}")


def painted(session: str) -> str:
    """The pane with its colours, so a moved highlight or focus counts as a change."""
    return tmux("capture-pane", "-p", "-e", "-t", session)


def drawn_after(session: str, send, timeout: float = 10.0) -> None:
    """Send input, then wait until the app has drawn its effect: the pane changed, then held
    still for a moment (so the next key meets the screen this one opened)."""
    before = painted(session)
    send()
    deadline = time.monotonic() + timeout
    last = before
    while time.monotonic() < deadline:
        time.sleep(0.05)  # poll interval
        now = painted(session)
        if now != before and now == last:
            return
        last = now
    raise AssertionError(f"the screen did not change; it was:\n{screen(session)}")


def keys(session: str, *k: str) -> None:
    for key in k:
        drawn_after(session, lambda key=key: tmux("send-keys", "-t", session, key))


def typed(session: str, text: str) -> None:
    drawn_after(session, lambda: tmux("send-keys", "-t", session, "-l", text))


def launch(tmp_path: Path, args: str) -> tuple[str, Path]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (.ci/run installs it)")
    name = f"ft{tmp_path.name[-8:]}".replace(".", "")
    home = tmp_path / "home"
    tmux(
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        "100",
        "-y",
        "30",
        f"{FIELDTECH} --home {home} {args}; echo FIELDTECH-EXITED; sleep 30",
    )
    return name, home


@pytest.fixture
def session(tmp_path):
    name, home = launch(tmp_path, "demo --jobs 12")
    yield name, home
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


@pytest.fixture
def supervisor_session(tmp_path):
    name, home = launch(tmp_path, "demo --jobs 12 --as supervisor")
    yield name, home
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def test_demo_job_worked_to_completion_with_keystrokes(session):
    name, home = session
    wait_for(name, "open jobs")
    wait_for(name, "synced just now")
    store = open_store(home / "data" / "demo" / "device" / "device.sqlite")
    first = store.queue(limit=1)[0]
    shown = screen(name)
    assert first["ref"] in shown
    keys(name, "Enter")
    wait_for(name, "Customer file")
    keys(name, "a")
    wait_for(name, "on site")
    keys(name, "c")
    wait_for(name, "required done")
    template = store.template(store.job(first["id"])["template_id"])
    camera = home.parent / "DCIM"
    camera.mkdir()
    (camera / "unit.jpg").write_bytes(picture(20_000, "tmux"))
    for n, item in enumerate(template.items, start=1):
        if item.type.value == "tick":
            keys(name, "Space")
        elif item.type.value == "photo":  # the picker, then the path typed in its field
            keys(name, "Enter")
            wait_for(name, "Attach to")
            keys(name, "Tab")
            typed(name, str(camera / "unit.jpg"))
            keys(name, "Enter")
            wait_for(name, "📎 unit.jpg")
        else:
            keys(name, "Enter")
            value = {
                "choice": item.choices[0] if item.choices else "",
                "number": str(item.min if item.min is not None else 1),
            }.get(item.type.value, "done")
            typed(name, value)
            keys(name, "Enter")
        if n < len(template.items):  # past the last item Down moves nothing
            keys(name, "Down")
    wait_for(
        name,
        f"{sum(i.required for i in template.items)} of "
        f"{sum(i.required for i in template.items)} required done",
    )
    keys(name, "Escape")
    keys(name, "x")
    wait_for(name, "Outcome")
    # The first outcome in the list. Each step waits for its own effect on screen: a key that
    # meets the closed Select instead of its open list does something else.
    first_outcome = next(iter(OUTCOMES.values())).words
    keys(name, "Enter")
    wait_for(name, first_outcome)
    keys(name, "Down")
    keys(name, "Enter")
    deadline = time.monotonic() + 20
    while "outcome not chosen" in screen(name) and time.monotonic() < deadline:
        time.sleep(0.2)  # poll interval
    assert "outcome not chosen" not in screen(name), screen(name)
    keys(name, "Tab")
    typed(name, "Maria Santos")
    keys(name, "Tab")
    typed(name, demo_code(store.job(first["id"])["ref"]))
    keys(name, "Tab")
    typed(name, "5")
    wait_for(name, "ready to close")
    keys(name, "C-s")
    wait_for(name, "completed")
    assert store.job(first["id"])["status"] == "completed"
    if any(i.type.value == "photo" for i in template.items):
        # The background sync takes the photo to the demo's HQ, after the job's work.
        hq_files = home / "data" / "demo" / "hq-files"
        deadline = time.monotonic() + 30
        while not list(hq_files.glob("??/*")) and time.monotonic() < deadline:
            time.sleep(0.2)  # poll interval
        (sent,) = store.attachments(first["id"])
        assert (hq_files / sent["sha256"][:2] / sent["sha256"]).is_file()
    keys(name, "C-q")
    shown = wait_for(name, "FIELDTECH-EXITED")
    # The terminal is ours again: no alternate screen, no app left on it.
    assert tmux("display-message", "-p", "-t", name, "#{alternate_on}").strip() == "0"
    assert "open jobs" not in shown and "palette" not in shown
    store.close()


def test_supervisor_demo_decides_a_request_and_it_reaches_hq(supervisor_session):
    name, home = supervisor_session
    wait_for(name, "Team north · 3 technicians")
    shown = wait_for(name, "2 part requests to decide")
    assert "Tenzin Dorje" in shown and "Kofi Mensah" in shown and "Ana Lima" in shown
    keys(name, "r")
    wait_for(name, "Part requests waiting for you: 2")
    keys(name, "a")
    wait_for(name, "Part requests waiting for you: 1")
    # The background sync takes the approval to HQ within seconds.
    wait_for(name, "0 waiting to send", timeout=30)
    hq = sqlite3.connect(home / "data" / "demo" / "hq.sqlite")
    statuses = sorted(r[0] for r in hq.execute("SELECT status FROM part_requests"))
    hq.close()
    assert statuses == ["approved", "submitted"]
    keys(name, "Escape")
    wait_for(name, "1 part request to decide")
    keys(name, "C-q")
    wait_for(name, "FIELDTECH-EXITED")
    assert tmux("display-message", "-p", "-t", name, "#{alternate_on}").strip() == "0"

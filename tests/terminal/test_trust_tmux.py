"""The installed command in a real terminal, when things go wrong: the shell learns that the
app crashed, the log keeps why, and the status bar says the profile is not enrolled."""

from __future__ import annotations

import sqlite3
import subprocess

import pytest

from tests.terminal.test_tmux import FIELDTECH, screen, tmux, wait_for

pytestmark = pytest.mark.tmux


@pytest.fixture
def seeded(tmp_path):
    home = tmp_path / "home"
    subprocess.run([FIELDTECH, "--home", str(home), "seed", "--jobs", "8"], check=True)
    name = f"tr{tmp_path.name[-8:]}".replace(".", "")
    yield name, home
    subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def start(name: str, home, size=("80", "24")) -> None:
    tmux(
        "new-session", "-d", "-s", name, "-x", size[0], "-y", size[1],
        f"{FIELDTECH} --home {home}; echo FIELDTECH-EXIT=$?; sleep 30",
    )  # fmt: skip


def test_a_crash_reaches_the_shell_as_a_failure_and_the_log_keeps_it(seeded):
    name, home = seeded
    # A damaged row that the screens cannot draw (a status no version ever wrote).
    db = sqlite3.connect(home / "data" / "device.sqlite")
    db.execute("UPDATE jobs SET status = 'mislaid' WHERE ref = (SELECT min(ref) FROM jobs)")
    db.commit()
    db.close()
    start(name, home)
    shown = wait_for(name, "FIELDTECH-EXIT=")
    assert "FIELDTECH-EXIT=1" in shown, shown
    log = (home / "logs" / "fieldtech.log").read_text()
    assert "the app stopped on an unexpected error" in log and "mislaid" in log


def test_an_unenrolled_profile_says_so_and_what_to_do(seeded):
    name, home = seeded
    start(name, home)
    shown = wait_for(name, "not enrolled: fieldtech enroll URL CODE")
    assert "online" not in shown
    tmux("send-keys", "-t", name, "C-q")
    assert "FIELDTECH-EXIT=0" in wait_for(name, "FIELDTECH-EXIT=")
    assert "0 waiting to send" not in screen(name)  # the app left the screen as it found it

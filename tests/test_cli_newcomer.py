"""What a newcomer meets following the README in a real terminal of 80 columns: tables
keep their ids, keys, states and times whole; HQ can read the customer's confirmation
code; mistakes are said whole and at once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fieldtech.store import open_store

FIELDTECH = str(Path(sys.executable).with_name("fieldtech"))
NARROW = {"COLUMNS": "80"}


def ft(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("FIELDTECH_HOME", "COLUMNS")}
    full_env.update(env or {})
    return subprocess.run(
        [FIELDTECH, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def ok(home: Path, *args: str, env: dict | None = None) -> str:
    r = ft(home, *args, env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    return r.stdout


def fits(text: str) -> str:
    assert max(map(len, text.splitlines())) <= 80, text
    return text


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    home = tmp_path_factory.mktemp("seeded")
    ok(home, "seed", "--date", "2026-11-23")
    ok(home, "job", "start", "J-000012")
    ok(home, "job", "arrive", "J-000012")
    return home


def test_checklist_at_80_columns_keeps_keys_required_marks_and_readings(seeded):
    ok(seeded, "checklist", "set", "J-000012", "earth_continuity", "0.2")
    shown = fits(ok(seeded, "checklist", "show", "J-000012", env=NARROW))
    assert "…" not in shown
    for header in ("key", "item", "section", "reading"):
        assert header in shown
    rows = [r.split() for r in shown.splitlines()]
    keys = {w for r in rows for w in r if "_" in w}
    assert {"service_card", "earth_continuity", "customer_signature"} <= keys
    assert any(r[:2] == ["*", "service_card"] for r in rows)
    assert any(r[:2] == ["✓", "earth_continuity"] and "0.2" in r for r in rows)
    assert "Safety" in shown and "Hand-over" in shown


def test_jobs_at_80_columns_shows_customer_and_place(seeded):
    shown = fits(ok(seeded, "jobs", env=NARROW))
    store = open_store(seeded / "data" / "device.sqlite")
    job = store.job_card("J-000012")
    store.close()
    row = next(r for r in shown.splitlines() if r.startswith("J-000012"))
    assert job["customer"]["name"] in row and job["site"]["city"] in row
    assert "summary" in shown


def test_job_show_at_80_columns_keeps_earlier_ids_and_history_times(seeded):
    ok(seeded, "job", "note", "J-000012", "Customer asked to come back after the " * 4)
    shown = fits(ok(seeded, "job", "show", "J-000012", env=NARROW))
    store = open_store(seeded / "data" / "device.sqlite")
    card = store.job_card("J-000012")
    earlier = store.customer_history(card["customer_id"], card["id"])["jobs"]
    store.close()
    assert earlier
    for j in earlier[:10]:
        assert j["ref"] in shown
    assert not re.search(r"J-0*…|\d{4}-\d\d-…|\d{4}-\d\d-\d\d \d\d:…", shown)
    history = shown.split("History", 1)[1]
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d \S+ +note: Customer", history, re.M)


def test_outbox_at_80_columns_keeps_number_state_and_the_whole_reason(seeded):
    ok(seeded, "job", "note", "J-000012", "parts ordered")
    store = open_store(seeded / "data" / "device.sqlite")
    rows = store.outbox()
    reason = "job J-000012 was reassigned to another technician by the dispatcher " * 3
    store.park_rejected(rows[-1]["id"], reason.strip())
    store.close()
    shown = fits(ok(seeded, "outbox", env=NARROW))
    for header in ("#", "state", "reason"):
        assert re.search(rf"(^|\s){re.escape(header)}\b", shown), header
    assert "refused by HQ" in shown and "waiting" in shown
    assert " ".join(reason.split()) in " ".join(shown.split())  # the reason whole
    assert re.search(rf"#{len(rows)} reason: job J-000012", shown)


def test_piped_tables_end_at_their_last_word(seeded):
    for args in (("jobs",), ("checklist", "show", "J-000012"), ("outbox",)):
        shown = ok(seeded, *args)
        assert all(r == r.rstrip() for r in shown.splitlines()), args


def test_one_job_is_one_job(seeded):
    assert ok(seeded, "jobs", "-q", "J-000012").startswith("1 job\n")

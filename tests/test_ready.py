"""`fieldtech ready`: before leaving coverage, each thing the next days' jobs lack here is
said in words, and the command fails until there is none. A seeded device on a real file,
the installed command in a subprocess; each gap is made by the test and looked for by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fieldtech.services import Device, jobs
from fieldtech.store import open_store
from tests.cli_support import ft, ok


def seeded(tmp_path):
    home = tmp_path / "tech"
    ok(home, "seed")
    # As if enrolled: the check looks for the credential file, not at HQ.
    cred = home / "config" / "credential.json"
    cred.parent.mkdir(parents=True, exist_ok=True)
    cred.write_text(json.dumps({"hq_url": "http://127.0.0.1:9", "token": "t"}))
    return home


def readiness(home, *args: str) -> tuple[int, dict]:
    r = ft(home, "ready", "--json", *args)
    return r.returncode, json.loads(r.stdout)


def due_jobs(home, days: int = 2) -> list[dict]:
    """Open jobs whose window opens or whose SLA falls within `days` (overdue ones too)."""
    horizon = (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = json.loads(ok(home, "jobs", "--json", "--limit", "500"))["jobs"]
    return [j for j in rows if min(j["window_start"], j["sla_due"]) <= horizon]


def test_a_device_with_all_it_needs_is_ready(tmp_path):
    home = seeded(tmp_path)
    code, got = readiness(home)
    assert got["gaps"] == [] and got["ready"] is True and code == 0, got
    assert got["jobs"] > 0
    said = ft(home, "ready")
    assert said.returncode == 0 and said.stdout.startswith("ready:")


def test_each_gap_is_named_and_the_command_fails(tmp_path):
    home = seeded(tmp_path)
    first, second, third = due_jobs(home)[:3]
    store = open_store(home / "data" / "device.sqlite")
    device = Device.open(store)
    jobs.note(device, first["id"], "left a note offline")  # not at HQ yet
    with store.transaction():
        # A checklist this device never received (HQ made a new one after the last sync).
        store.db.execute(
            "UPDATE jobs SET template_id = 'boiler-2027', template_version = 1 WHERE id = ?",
            [second["id"]],
        )
        store.db.execute(
            "INSERT INTO part_requests (id, sku, qty, job_id, status, created_at, updated_at,"
            " hlc) VALUES ('req-1', (SELECT sku FROM parts LIMIT 1), 999, ?, 'approved',"
            " '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'h')",
            [third["id"]],
        )
    store.close()
    code, got = readiness(home)
    assert code == 1 and got["ready"] is False
    by_kind = {(g["what"], g["job"]) for g in got["gaps"]}
    assert ("outbox", None) in by_kind
    assert ("checklist", second["ref"]) in by_kind
    assert ("part", third["ref"]) in by_kind
    text = ft(home, "ready")
    assert text.returncode == 1
    assert "change(s) not yet at HQ" in text.stdout
    assert f"{second['ref']}: its checklist has not come" in text.stdout
    assert "is not on the van" in text.stdout


def test_not_enrolled_and_a_longer_period_are_said(tmp_path):
    home = tmp_path / "tech"
    ok(home, "seed")
    code, got = readiness(home, "--days", "30")
    assert code == 1 and [g["what"] for g in got["gaps"]] == ["enrolled"]
    assert got["days"] == 30
    _, two_days = readiness(home)
    assert two_days["jobs"] == len(due_jobs(home, 2))
    assert got["jobs"] == len(due_jobs(home, 30)) >= two_days["jobs"]
    bad = ft(home, "ready", "--days", "0")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr

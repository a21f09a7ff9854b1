"""`fieldtech repair` against a real HQ: a damaged or lost device file is rebuilt from HQ,
the changes not yet sent are kept and go out once, and the device's own earlier work comes
back with everything else."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from fieldtech.services import Device, checklists, jobs
from fieldtech.store import open_store
from fieldtech.store.db import StoreError
from fieldtech.sync.client import REBUILD, Backoff, SyncClient
from fieldtech.sync.repair import diagnose, rebuild, salvage
from tests.integration.conftest import run
from tests.integration.world import World

pytestmark = pytest.mark.integration


def damage_table(path: Path, table: str) -> None:
    """Overwrite the root page of one table with noise, as a bad flash block would."""
    conn = sqlite3.connect(path)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
    conn.close()
    noise = random.Random(7).randbytes(page)
    with open(path, "r+b") as f:
        f.seek((root - 1) * page)
        f.write(noise)


def reopen(world: World, phone, path: Path) -> SyncClient:
    cred = json.loads((path.parent / "credential.json").read_text())
    device = Device.open(open_store(path))
    return SyncClient(
        device, world.server.url, cred["token"], backoff=Backoff(attempts=1, sleep=lambda s: 0)
    )


def work(phone, job_id: str) -> None:
    jobs.start(phone.device, job_id)
    jobs.arrive(phone.device, job_id)
    checklists.record_reading(phone.device, job_id, "diagnosis", "capacitor failed")
    jobs.note(phone.device, job_id, "customer asked for a quote")


def test_a_damaged_file_is_rebuilt_and_unsent_work_goes_out_once(world, tmp_path):
    ana = world.phone("Ana Lima")
    job_a = world.job(ana.user_id, ref="R-1")["id"]
    job_b = world.job(ana.user_id, ref="R-2")["id"]
    ana.client.sync()
    work(ana, job_a)
    ana.client.sync()  # this work reached HQ and was forgotten by the outbox
    jobs.start(ana.device, job_b)  # and this did not
    jobs.note(ana.device, job_b, "gate code 4411")
    unsent = [o["id"] for o in ana.store.outbox("pending")]
    assert len(unsent) == 2
    path = ana.store.path
    ana.client.close()
    ana.store.close()
    world.phones.remove(ana)

    damage_table(path, "jobs")
    assert "damaged" in diagnose(path) or "cannot be read" in diagnose(path)
    with pytest.raises(StoreError, match="fieldtech repair"):
        s = open_store(path)
        with s.transaction():
            jobs.note(Device.open(s), job_a, "written to a damaged file")
    s.close()
    report = rebuild(path)
    assert report.kept_pending == 2 and report.unreadable == 0
    assert report.set_aside is not None and report.set_aside.exists()
    assert diagnose(path) is None

    client = reopen(world, ana, path)
    store = client.store
    assert store.meta(REBUILD) == "1"
    assert [o["id"] for o in store.outbox("pending")] == unsent
    result = client.sync()
    assert result.acknowledged == 2 and not result.rejected
    assert store.meta(REBUILD) is None
    # Everything is back: the jobs, the device's own earlier work (HQ sent it back although
    # this device wrote it), and the work that had not gone out yet.
    for job_id in (job_a, job_b):
        hq_job = world.rows("jobs", id=job_id)[0]
        assert store.job(job_id)["status"] == hq_job["status"]
        assert {e["id"] for e in store.job_events(job_id)} == {
            e["id"] for e in world.rows("job_events", job_id=job_id)
        }
    assert store.job(job_a)["status"] == "in_progress"  # a reading on site begins the work
    assert store.job(job_b)["status"] == "en_route"
    assert [r["value"] for r in store.reading_history(job_a)] == ["capacitor failed"]
    notes = [e["body"] for e in store.job_events(job_b) if e["kind"] == "note"]
    assert notes == ["gate code 4411"]
    # Applied once: one HQ event per operation id, whatever was sent twice.
    for op_id in unsent:
        assert world.count("applied_ops", id=op_id) == 1
        assert world.count("job_events", id=op_id) == 1
    # And the device goes on normally afterwards.
    jobs.arrive(client.device, job_b)
    assert client.sync().acknowledged == 1
    client.close()
    store.close()


def test_a_lost_file_is_rebuilt_from_hq_alone(world):
    ana = world.phone("Ana Lima")
    job_a = world.job(ana.user_id, ref="L-1")["id"]
    ana.client.sync()
    work(ana, job_a)
    ana.client.sync()
    device_id = ana.device.device_id
    path = ana.store.path
    ana.client.close()
    ana.store.close()
    world.phones.remove(ana)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)

    report = rebuild(path, device_id=device_id)
    assert report.problem == "the data file is missing" and report.kept_pending == 0
    client = reopen(world, ana, path)
    assert client.device.device_id == device_id  # the same device, as HQ knows it
    client.sync()
    assert client.store.job(job_a)["status"] == "in_progress"
    assert len(client.store.reading_history(job_a)) == 1
    client.close()
    client.store.close()


def test_salvage_reads_the_outbox_when_other_tables_are_damaged(world):
    ana = world.phone("Ana Lima")
    job_a = world.job(ana.user_id, ref="S-1")["id"]
    ana.client.sync()
    work(ana, job_a)
    path = ana.store.path
    expected = [o["id"] for o in ana.store.outbox("pending")]
    ana.client.close()
    ana.store.close()
    world.phones.remove(ana)
    damage_table(path, "readings")
    found = salvage(path)
    assert sorted(o["id"] for o in found.outbox) == sorted(expected)
    assert found.meta["device_id"] and found.meta["hlc"]


def test_repair_from_the_command_line(hq, tmp_path):
    tech = hq.add_user("Tenzin Dorje")
    hq.cli(
        "dispatch",
        "--kind",
        "repair",
        "--summary",
        "Leaking",
        "--customer",
        "C",
        "--address",
        "A",
        "--technician",
        "tenzin-dorje",
        "--ref",
        "C-1",
    )
    dev = tmp_path / "tech"
    run(dev, "enroll", hq.url, tech["enrollment_code"])
    run(dev, "sync")
    run(dev, "job", "start", "C-1")
    assert "sound" in run(dev, "repair").stdout

    data = dev / "data" / "device.sqlite"
    damage_table(data, "jobs")
    broken = run(dev, "jobs", check=False)
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert "fieldtech repair" in broken.stderr and len(broken.stderr.strip().splitlines()) == 1
    check = run(dev, "repair", "--check", check=False)
    assert check.returncode == 1 and "malformed" in check.stderr

    fixed = run(dev, "repair")
    assert "kept 1 change(s) not yet sent" in fixed.stdout
    assert "sent 1 change(s)" in fixed.stdout
    shown = json.loads(run(dev, "jobs", "--json").stdout)["jobs"]
    assert [(j["ref"], j["status"]) for j in shown] == [("C-1", "en_route")]
    assert list(data.parent.glob("device.sqlite.damaged-*"))
    assert json.loads(run(dev, "outbox", "--json").stdout) == []

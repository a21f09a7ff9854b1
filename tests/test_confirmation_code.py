"""The customer's confirmation code: HQ gives it to the customer, the device keeps only its
salted hash, the close checks the code against it, and the demo shows it where a newcomer
looks (issue 11, item 8)."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select

from fieldtech.domain.demo_data import generate
from fieldtech.domain.errors import CloseRefused
from fieldtech.hq import schema
from fieldtech.services import Device, checklists
from fieldtech.services import jobs as job_service
from fieldtech.services.seed import seed
from fieldtech.store import open_store
from tests.app_support import NOW, SEED_DAY

WRONG = "confirmation code does not match the customer's"


def file_bytes(db: Path) -> bytes:
    """Everything SQLite keeps of the file: the database, and its WAL if one is left."""
    out = db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    return out + (wal.read_bytes() if wal.exists() else b"")


def finish_checklist(device, job_id: str) -> None:
    for e in checklists.checklist(device, job_id)["items"]:
        item = e["item"]
        value = {"tick": "yes", "choice": item.choices[0] if item.choices else ""}.get(
            item.type.value, "done"
        )
        if item.type.value == "number":
            value = str(((item.min or 0) + (item.max if item.max is not None else 1)) / 2)
        checklists.record_reading(device, job_id, item.key, value)


def close(device, job_id: str, code: str) -> dict:
    return job_service.close(
        device, job_id, outcome="repaired", signoff_name="A Customer", code=code, rating=5
    )


def screen_text(app) -> str:
    console = Console(width=100, height=30, file=io.StringIO(), record=True)
    # The screen as text: Textual's public export_screenshot gives SVG only, so this asks
    # the compositor (private) for the same full update a terminal would get.
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


# -- a seeded demo profile ------------------------------------------------------------------
def test_a_seeded_device_never_holds_a_code_and_job_show_gives_the_demos(tmp_path):
    home = tmp_path / "profile"
    run = [sys.executable, "-m", "fieldtech", "--home", str(home)]
    subprocess.run([*run, "seed", "--jobs", "30"], check=True, capture_output=True, timeout=120)
    # The codes HQ's copy of the same demo data holds (what the customer's phone shows).
    codes = {j["ref"]: j["confirmation_code"] for j in generate(30, now=SEED_DAY).jobs}
    raw = file_bytes(home / "data" / "device.sqlite")
    for code in codes.values():
        assert code.encode() not in raw
    shown = subprocess.run(
        [*run, "job", "show", "J-000003"], check=True, capture_output=True, text=True
    ).stdout
    assert f"demo: the customer's phone shows code {codes['J-000003']}" in " ".join(shown.split())
    store = open_store(home / "data" / "device.sqlite")
    device = Device.open(store, now=lambda: NOW)
    job = next(
        store.job(r["id"])
        for r in store.queue(limit=100)
        if r["status"] == "on_site" and store.job(r["id"])["template_id"]
    )
    finish_checklist(device, job["id"])
    with pytest.raises(CloseRefused) as refused:
        close(device, job["id"], "000000" if codes[job["ref"]] != "000000" else "111111")
    assert refused.value.missing == [WRONG]
    assert close(device, job["id"], codes[job["ref"]])["status"] == "completed"
    store.close()


# -- a file from before: its codes become hashes -----------------------------------------------
def test_a_file_from_before_keeps_only_the_hashes_of_its_codes(tmp_path):
    from fieldtech.store.database import Database
    from fieldtech.store.migrations import migrate

    path = tmp_path / "device.sqlite"
    old = Database(sqlite3.connect(path, isolation_level=None))
    migrate(old, target=5)  # the schema before this change: jobs kept the code itself
    old.execute("INSERT INTO customers (id, name) VALUES ('c1', 'Olga Berg')")
    old.execute("INSERT INTO sites (id, customer_id, address) VALUES ('s1', 'c1', '1 Mill')")
    for n, code in enumerate(("ZQ81KX", "PL44WR")):
        old.execute(
            "INSERT INTO jobs (id, ref, kind, priority, priority_rank, status, customer_id, "
            "site_id, summary, window_start, sla_due, confirmation_code, created_at, updated_at)"
            " VALUES (?, ?, 'repair', 'normal', 3, 'on_site', 'c1', 's1', 'Not cooling', "
            "'2026-11-23T08:00:00Z', '2026-11-24T08:00:00Z', ?, '2026-11-22T08:00:00Z', "
            "'2026-11-22T08:00:00Z')",
            [f"job-{n}", f"J-{n}", code],
        )
    old.close()
    assert b"ZQ81KX" in path.read_bytes()  # the old file did hold it

    store = open_store(path)
    device = Device.open(store, now=lambda: NOW)
    job = store.job("job-0")
    assert "confirmation_code" not in job and job["confirmation_hash"]
    with pytest.raises(CloseRefused) as refused:
        close(device, "job-0", "ZQ81KY")
    assert refused.value.missing == [WRONG]
    assert close(device, "job-0", " zq81 kx ")["status"] == "completed"  # as the customer reads it
    # An HQ from before this change still sends the code: the device keeps its hash.
    row = {k: v for k, v in store.job("job-1").items() if k not in ("confirmation_hash", "open")}
    with store.transaction():
        store.merge_jobs([{**row, "confirmation_code": "MN27QT", "stamps": "{}"}])
    assert store.job("job-1")["confirmation_hash"].startswith("pbkdf2_sha256$")
    store.close()
    raw = file_bytes(path)
    for code in (b"ZQ81KX", b"PL44WR", b"MN27QT"):
        assert code not in raw


# -- a device enrolled with a real HQ --------------------------------------------------------------
@pytest.mark.integration
def test_hq_keeps_the_code_the_device_its_hash_and_the_close_checks_it(tmp_path):
    from tests.integration.world import World

    world = World.start(tmp_path)
    try:
        tech = world.phone("Tenzin Dorje")
        job = world.job(tech.user_id, confirmation_code="K7QZ29")
        other = world.job(tech.user_id, confirmation_code="W3RT58")
        tech.client.sync()
        d = tech.device
        mine = tech.store.job(job["id"])
        assert mine["confirmation_hash"] and "confirmation_code" not in mine
        job_service.arrive(d, job["id"])
        finish_checklist(d, job["id"])
        with pytest.raises(CloseRefused) as refused:
            close(d, job["id"], "W3RT58")  # another customer's code
        assert refused.value.missing == [WRONG]
        close(d, job["id"], "k7qz29")
        # A follow-up made in the field: the same customer, the same code, at HQ too.
        job_service.arrive(d, other["id"])
        follow = job_service.cannot_complete(d, other["id"], "no access", follow_up=True)
        spawned = follow["spawned"]["id"]
        tech.client.sync()
        raw = file_bytes(tech.store.path)  # the file and its WAL, as they are now
        assert b"K7QZ29" not in raw and b"W3RT58" not in raw
        hq_rows = {r["id"]: r for r in world.rows("jobs")}
        assert hq_rows[job["id"]]["status"] == "completed"
        assert hq_rows[job["id"]]["confirmation_code"] == "K7QZ29"  # HQ gave it; HQ keeps it
        assert hq_rows[spawned]["confirmation_code"] == "W3RT58"
        job_service.arrive(d, spawned)
        finish_checklist(d, spawned)
        assert close(d, spawned, "W3RT58")["status"] == "completed"
    finally:
        world.stop()


# -- the demo: the customer's phone, played by the demo's HQ ------------------------------------
@pytest.mark.integration
def test_the_demo_shows_the_customers_code_in_the_job_screen(tmp_path):
    from fieldtech.app import build_app
    from fieldtech.demo.world import build_demo
    from fieldtech.paths import Locations
    from fieldtech.screens.job import JobScreen

    world = build_demo(tmp_path / "demo", jobs=6, now=datetime(2026, 11, 23, 8, tzinfo=UTC))
    try:
        with world.server.hq.engine.connect() as conn:
            J = schema.jobs.c
            jobs = conn.execute(select(J.id, J.confirmation_code).order_by(J.ref)).all()
        job_id, code = jobs[2]
        loc = Locations(tmp_path / "demo" / "device", tmp_path / "c", tmp_path / "l", "demo")
        app = build_app(
            loc,
            store=world.device.store,
            device=world.device,
            sync_agent=None,
            background_sync=False,
        )
        app.customer_phone = world.customer_code  # as `fieldtech demo` wires it

        async def go():
            async with app.run_test(size=(100, 30)) as pilot:
                await pilot.pause()
                await app.push_screen(JobScreen(job_id))
                await pilot.pause()
                return screen_text(app)

        text = asyncio.run(go())
        assert f"demo: the customer's phone shows code {code}" in text
        assert code.encode() not in file_bytes(world.device.store.path)
    finally:
        world.close()


def test_a_real_device_shows_no_code_and_a_seeded_one_shows_the_demos(tmp_path):
    """Only a demo plays the customer's phone: an enrolled device's job screen shows none."""
    from fieldtech.screens.job import JobScreen
    from tests.app_support import make_app

    seeded = make_app(tmp_path / "seeded", jobs=12)
    plain_store = open_store(tmp_path / "real" / "device.sqlite")
    seed(plain_store, 12, now=SEED_DAY)
    plain_store.set_meta("demo_data", None)  # a device HQ filled: no demo's codes
    codes = {j["ref"]: j["confirmation_code"] for j in generate(12, now=SEED_DAY).jobs}

    async def job_screen(app, ref):
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await app.push_screen(JobScreen(app.store.job(ref)["id"]))
            await pilot.pause()
            return screen_text(app)

    text = asyncio.run(job_screen(seeded, "J-000003"))
    assert f"demo: the customer's phone shows code {codes['J-000003']}" in text
    from fieldtech.app import build_app
    from fieldtech.paths import Locations

    real = build_app(
        Locations(tmp_path / "real", tmp_path / "c", tmp_path / "l", "test"),
        store=plain_store,
        sync_agent=None,
        background_sync=False,
        now=lambda: NOW,
    )
    text = asyncio.run(job_screen(real, "J-000003"))
    assert "demo:" not in text and codes["J-000003"] not in text


def test_job_commands_json_never_print_the_confirmation_hash(tmp_path):
    import json
    import subprocess
    import sys

    home = tmp_path / "dev"
    run = [sys.executable, "-m", "fieldtech", "--home", str(home)]
    subprocess.run([*run, "seed", "--jobs", "20"], check=True, capture_output=True)
    listed = json.loads(
        subprocess.run([*run, "jobs", "--json"], check=True, capture_output=True, text=True).stdout
    )
    assigned = next(j for j in listed["jobs"] if j["status"] == "assigned")
    out = subprocess.run(
        [*run, "job", "start", assigned["ref"], "--json"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["status"] == "en_route" and "confirmation_hash" not in shown


def test_a_kept_hash_holds_128_bits_a_compact_one_48_and_every_length_between_matches():
    import hashlib

    from fieldtech.domain.jobs import CODE_ROUNDS, code_matches, hash_code

    kept = hash_code("ZQ81KX", "job-7")
    scheme, rounds, salt, digest = kept.split("$")
    assert (scheme, rounds, salt, len(digest)) == ("pbkdf2_sha256", str(CODE_ROUNDS), "job-7", 32)
    assert code_matches(" zq81 kx ", kept) and not code_matches("ZQ81KY", kept)
    whole = hashlib.pbkdf2_hmac("sha256", b"ZQ81KX", b"job-7", CODE_ROUNDS).hex()  # 64 hex
    earlier = f"pbkdf2_sha256${CODE_ROUNDS}$job-7${whole}"
    assert code_matches("ZQ81KX", earlier) and not code_matches("PL44WR", earlier)
    assert whole.startswith(digest)  # the same digest, cut
    compact = f"pbkdf2_sha256${CODE_ROUNDS}$job-7${whole[:12]}"  # as a zstd stream sends it
    assert code_matches("ZQ81KX", compact) and not code_matches("PL44WR", compact)
    shorter = f"pbkdf2_sha256${CODE_ROUNDS}$job-7${whole[:8]}"  # too little to trust
    assert not code_matches("ZQ81KX", shorter)

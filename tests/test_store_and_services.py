"""The device store and the one write path: every service writes rows AND its outbox entry
in one transaction, and a failure inside leaves neither."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from fieldtech.domain.demo_data import demo_code
from fieldtech.domain.errors import BadInput, CloseRefused, FieldtechError, NotFound, RuleBroken
from fieldtech.domain.parts import RequestStatus
from fieldtech.services import checklists, escalations, jobs, parts
from fieldtech.services.seed import seed
from fieldtech.store import Store, open_store
from fieldtech.store.db import StoreError
from fieldtech.store.jobs import QueueFilter
from fieldtech.store.migrations import LATEST, MIGRATIONS, migrate
from tests.conftest import DAY, job_with

TABLES = ("jobs", "job_events", "readings", "stock_ledger", "part_requests", "outbox", "meta")


def dump(store: Store) -> dict:
    return {
        t: sorted(map(tuple, store.db.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES
    }


def working_job(device, kind="repair"):
    job = job_with(device.store, "assigned", kind=kind)
    jobs.arrive(device, job["id"])
    return device.store.job(job["id"])


# -- store ----------------------------------------------------------------------------------


def test_file_and_folder_are_private(tmp_path):
    s = open_store(tmp_path / "p" / "device.sqlite")
    assert stat.S_IMODE(os.stat(tmp_path / "p" / "device.sqlite").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "p").st_mode) == 0o700
    s.close()


def test_queue_order_and_keyset_pages_cover_every_open_job_once(seeded):
    flt = QueueFilter(open_only=True)
    everything = seeded.queue(flt, limit=10_000)
    keys = [(r["priority_rank"], r["sla_due"], r["window_start"], r["id"]) for r in everything]
    assert keys == sorted(keys)
    seen, after = [], None
    while True:
        page = seeded.queue(flt, after=after, limit=7)
        if not page:
            break
        seen += [r["id"] for r in page]
        last = page[-1]
        after = (last["priority_rank"], last["sla_due"], last["window_start"], last["id"])
    assert seen == [r["id"] for r in everything]
    assert seeded.count_jobs(flt) == len(everything)


def test_filters_and_full_text(seeded):
    job = seeded.job_card(seeded.queue(limit=1)[0]["id"])
    for text in (
        job["customer"]["name"].split()[0],
        job["site"]["address"],
        job["appliance"]["serial"],
        job["ref"],
    ):
        found = [r["id"] for r in seeded.queue(QueueFilter(text=text), limit=10_000)]
        assert job["id"] in found, text
    assert seeded.queue(QueueFilter(text="zzzqqq"), limit=5) == []
    for r in seeded.queue(QueueFilter(status="on_hold", kind="repair"), limit=1000):
        assert (r["status"], r["kind"]) == ("on_hold", "repair")
    assert seeded.count_jobs(QueueFilter(priority="emergency")) == len(
        seeded.queue(QueueFilter(priority="emergency"), limit=10_000)
    )


def test_job_lookup_by_id_ref_and_tail(seeded):
    row = seeded.queue(limit=1)[0]
    assert seeded.job(row["ref"])["id"] == row["id"]
    assert seeded.job(row["id"][-8:])["id"] == row["id"]
    with pytest.raises(NotFound, match="no job"):
        seeded.job("nothing-like-this")


def test_unreadable_file_gives_one_clear_error(tmp_path):
    bad = tmp_path / "device.sqlite"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(FieldtechError) as exc:
        open_store(bad)
    assert "cannot be read" in str(exc.value) and "\n" not in str(exc.value)


def test_newer_schema_is_refused(tmp_path):
    s = open_store(tmp_path / "d.sqlite")
    s.db.execute(f"PRAGMA user_version = {LATEST + 1}")
    s.close()
    with pytest.raises(FieldtechError, match="newer fieldtech"):
        open_store(tmp_path / "d.sqlite")


@pytest.mark.parametrize("version", range(LATEST))
def test_every_earlier_schema_migrates_with_its_data(tmp_path, version):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    import sqlite_utils

    db = sqlite_utils.Database(conn)
    migrate(db, target=version)
    if version >= 1:
        db.execute("INSERT INTO customers (id, name) VALUES ('c1', 'Olga Berg')")
        db.execute("INSERT INTO sites (id, customer_id, address) VALUES ('s1', 'c1', '3 Mill')")
        db.execute(
            "INSERT INTO jobs (id, ref, kind, priority, priority_rank, status, customer_id, "
            "site_id, summary, window_start, sla_due, created_at, updated_at) VALUES ('j1', "
            "'J-1', 'repair', 'normal', 3, 'assigned', 'c1', 's1', 'No hot water', "
            "'2026-11-23T08:00:00Z', '2026-11-25T08:00:00Z', 'x', 'x')"
        )
        db.execute(
            "INSERT INTO outbox (id, hlc, device_id, op, entity, entity_id, payload, "
            "created_at) VALUES ('o1', 'h', 'd', 'job.note', 'job', 'j1', '{}', 'x')"
        )
    conn.close()
    s = open_store(path)
    assert s.schema_version == LATEST
    history = [r[0] for r in s.db.execute("SELECT version FROM schema_history ORDER BY 1")]
    assert history == list(range(1, LATEST + 1))
    if version >= 1:
        assert s.job("J-1")["summary"] == "No hot water"
        assert [o["id"] for o in s.outbox()] == ["o1"]
        s.refresh_search(["j1"])
        assert [r["id"] for r in s.queue(QueueFilter(text="olga"))] == ["j1"]
        assert s.job("J-1")["escalation_level"] == 0
    s.close()
    assert len(MIGRATIONS) == LATEST


# -- services: rules enforced, rows and one outbox entry per operation -----------------------


def test_each_operation_writes_rows_and_one_outbox_entry(device):
    st = device.store
    job = job_with(st, "assigned", kind="repair")
    steps = [
        (lambda: jobs.start(device, job["id"]), "job.status"),
        (lambda: jobs.arrive(device, job["id"]), "job.status"),
        (lambda: jobs.note(device, job["id"], "dog in the yard"), "job.note"),
        (
            lambda: checklists.record_reading(device, job["id"], "diagnosis", "filter"),
            "reading.add",
        ),  # also moves on site → in progress (a second op)
        (lambda: parts.use_part(device, job["id"], "AC-CAP-35"), "stock.move"),
        (
            lambda: parts.request_part(device, "WH-ELEM-2K", 2, job_id=job["id"]),
            "part_request.create",
        ),
        (lambda: jobs.hold(device, job["id"], "waiting for parts"), "job.status"),
        (lambda: jobs.resume(device, job["id"]), "job.status"),
        (
            lambda: escalations.escalate(device, job["id"], "need a second pair of hands"),
            "escalation.raise",
        ),
    ]
    for action, op in steps:
        before = len(st.outbox())
        action()
        ops = st.outbox()
        new = [o for o in ops if o["op"] == op]
        assert new, op
        assert len(ops) in (before + 1, before + 2)
        assert all(o["device_id"] == device.device_id for o in ops)
    full = st.job(job["id"])
    assert full["status"] == "in_progress" and full["hold_reason"] is None
    kinds = [e["kind"] for e in st.job_events(job["id"])]
    assert kinds.count("status") == 5 and "note" in kinds and "escalation" in kinds
    # The outbox sends the escalation first.
    assert st.outbox()[0]["op"] == "escalation.raise"
    # Stamps and events share the operation's identity.
    ids = {o["id"] for o in st.outbox()}
    assert {e["id"] for e in st.job_events(job["id"])} <= ids


def test_refusals_write_nothing(device):
    st = device.store
    job = job_with(st, "assigned", kind="repair")
    before = dump(st)
    refusals = [
        (lambda: jobs.hold(device, job["id"], "  "), RuleBroken),
        (lambda: jobs.resume(device, job["id"]), RuleBroken),
        (lambda: jobs.note(device, job["id"], ""), BadInput),
        (lambda: checklists.record_reading(device, job["id"], "diagnosis", "x"), RuleBroken),
        (lambda: parts.use_part(device, job["id"], "AC-CAP-35"), RuleBroken),
        (lambda: parts.use_part(device, job["id"], "NO-SUCH"), NotFound),
        (lambda: parts.request_part(device, "WH-ELEM-2K", "0"), BadInput),
        (lambda: parts.return_part(device, "WH-ELEM-2K", 1, "lost"), BadInput),
        (
            lambda: jobs.close(
                device, job["id"], outcome="repaired", signoff_name="x", code="1", rating=5
            ),
            CloseRefused,
        ),
        (lambda: jobs.start(device, "missing-job"), NotFound),
    ]
    for action, error in refusals:
        with pytest.raises(error):
            action()
    assert dump(st) == before


def test_close_refused_then_accepted_and_survey_spawns_install(device):
    st = device.store
    job = working_job(device, kind="survey")
    with pytest.raises(CloseRefused) as refused:
        jobs.close(device, job["id"], outcome="surveyed", signoff_name="", code=None, rating=None)
    assert "customer's name not typed" in refused.value.missing
    for entry in checklists.checklist(device, job["id"])["items"]:
        item = entry["item"]
        if item.type.value == "photo":
            continue  # a photo item takes a file, not a reading
        value = {
            "tick": "yes",
            "number": item.min if item.min is not None else 1,
            "choice": item.choices[0] if item.choices else "",
        }.get(item.type.value, "ok")
        checklists.record_reading(device, job["id"], item.key, value)
    done = jobs.close(
        device,
        job["id"],
        outcome="surveyed",
        signoff_name="Olga",
        code=demo_code(job["ref"]),
        rating=4,
        spawn_install=True,
    )
    assert done["status"] == "completed" and done["rating"] == 4
    spawned = st.job(done["spawned"]["id"])
    assert spawned["kind"] == "install" and spawned["parent_job_id"] == job["id"]
    assert st.outbox()[-1]["op"] == "job.create"


def test_cannot_complete_with_follow_up(device):
    job = working_job(device)
    done = jobs.cannot_complete(device, job["id"], "compressor not in stock", follow_up=True)
    assert done["status"] == "cannot_complete"
    assert done["cannot_complete_reason"] == "compressor not in stock"
    follow = device.store.job(done["spawned"]["id"])
    assert follow["status"] == "assigned" and follow["ref"].startswith(job["ref"] + "-F")


def test_parts_ledger_override_return_adjust_and_request_flow(device):
    st = device.store
    job = working_job(device)
    have = st.on_hand("AC-CAP-35")
    barcode = st.part("AC-CAP-35")["barcode"]
    used = parts.use_part(device, job["id"], barcode, 1)
    assert used["on_hand"] == have - 1
    big = parts.use_part(device, job["id"], "AC-CAP-35", have + 5, "customer's spare")
    assert big["override"] == 1 and big["on_hand"] == -6
    parts.adjust_stock(device, "AC-CAP-35", 7, "stock take")
    assert st.on_hand("AC-CAP-35") == 1
    parts.return_part(device, "AC-CAP-35", 1, "defective", job["id"])
    assert st.on_hand("AC-CAP-35") == 0
    req = parts.request_part(device, "AC-FAN-MTR", 1, job_id=job["id"], draft=True)
    assert req["status"] == "draft"
    parts.step_request(device, req["id"], RequestStatus.SUBMITTED)
    with pytest.raises(RuleBroken):
        parts.step_request(device, req["id"], RequestStatus.RECEIVED)
    st.db.execute("UPDATE part_requests SET status = 'shipped' WHERE id = ?", [req["id"]])
    before = st.on_hand("AC-FAN-MTR")
    parts.step_request(device, req["id"], RequestStatus.RECEIVED)
    assert st.on_hand("AC-FAN-MTR") == before + 1


# -- atomicity: fail inside the transaction at each write, nothing is left ----------------------

WRITES = [
    "update_job",
    "add_job_event",
    "add_reading",
    "add_movement",
    "put_request",
    "append_outbox",
]


def _operations(device):
    job = working_job(device)

    def close():
        for entry in checklists.checklist(device, job["id"])["items"]:
            item = entry["item"]
            if item.type.value == "photo":
                continue  # a photo item takes a file, not a reading
            value = {"tick": "yes", "choice": item.choices[0] if item.choices else ""}.get(
                item.type.value, "ok"
            )
            checklists.record_reading(device, job["id"], item.key, value)
        return lambda: jobs.close(
            device,
            job["id"],
            outcome="repaired",
            signoff_name="A",
            code=demo_code(job["ref"]),
            rating=5,
        )

    return {
        "note": lambda: jobs.note(device, job["id"], "x"),
        "reading": lambda: checklists.record_reading(device, job["id"], "diagnosis", "d"),
        "use_part": lambda: parts.use_part(device, job["id"], "AC-CAP-35"),
        "request": lambda: parts.request_part(device, "AC-CAP-35", 1, job_id=job["id"]),
        "hold": lambda: jobs.hold(device, job["id"], "waiting for parts"),
        "escalate": lambda: escalations.escalate(device, job["id"], "help"),
        "cannot_complete": lambda: jobs.cannot_complete(
            device, job["id"], "no access", follow_up=True
        ),
        "close": close,
    }


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize(
    "name",
    ["note", "reading", "use_part", "request", "hold", "escalate", "cannot_complete", "close"],
)
def test_a_failure_at_any_write_leaves_neither_rows_nor_outbox(device, monkeypatch, write, name):
    action = _operations(device)[name]
    if name == "close":
        action = action()  # readings first, for real
    st = device.store
    before = dump(st)
    calls = {"n": 0}
    real = getattr(Store, write)

    def failing(self, *a, **kw):
        calls["n"] += 1
        real(self, *a, **kw)  # the write happens, then the disk "fails"
        raise sqlite3.OperationalError("disk I/O error (injected)")

    monkeypatch.setattr(Store, write, failing)
    refused = None
    try:
        action()
    except StoreError as exc:  # the person reads one line; the transaction rolled back
        refused = exc.message
    monkeypatch.setattr(Store, write, real)
    if calls["n"]:
        assert refused is not None and refused.endswith("nothing was saved")
        assert dump(st) == before
    # Either way the store is consistent: every outbox entry's rows exist.
    for op in st.outbox():
        if op["op"] in ("job.note", "escalation.raise", "job.status", "job.close"):
            assert op["id"] in {e["id"] for e in st.job_events(op["entity_id"])}


def test_seed_is_deterministic_and_idempotent(tmp_path):
    a, b = open_store(tmp_path / "a.sqlite"), open_store(tmp_path / "b.sqlite")
    for s in (a, b):
        seed(s, 50, now=DAY)
    seed(a, 50, now=DAY)
    assert a.queue(limit=100) == b.queue(limit=100)
    assert a.count_jobs() == 50

"""A new device's first sync from pages HQ prepared while the enrollment code waited
(fieldtech.hq.priming), against a real `fieldtech hq serve` over real HTTP.

What must hold: the device ends with exactly what a live priming gives it, changes made at
HQ after the preparation included; a cut anywhere in the prepared answer keeps every whole
page and resumes; nobody else's device is ever sent them; the serving HQ prepares them by
itself while a code waits.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from fieldtech.sync import protocol
from fieldtech.sync.client import Backoff, SyncClient, SyncError
from tests.integration.conftest import enroll_device, start_hq
from tests.integration.test_sync_resumable import Cut, dispatch_many, fresh_code, read_ends

pytestmark = pytest.mark.integration

JOBS = 400  # enough for several 64 KB pages
SYNCED = (
    "users",
    "parts",
    "templates",
    "customers",
    "sites",
    "appliances",
    "jobs",
    "job_events",
    "readings",
    "stock_ledger",
    "part_requests",
    "callbacks",
    "attachments",
)
LOCAL = {"search_key"}  # the device's own bookkeeping beside HQ's columns


def device(hq, tmp_path, name: str, code: str, **options) -> SyncClient:
    """A device enrolled with `code`, its client as `fieldtech sync` makes it (default
    pages) unless `options` say otherwise."""
    h = enroll_device(hq, tmp_path / name, code)
    h.client.close()
    cred = json.loads((h.home / "config" / "credential.json").read_text())
    options.setdefault("backoff", Backoff(attempts=1, base=0.01))
    return SyncClient(h.device, cred["hq_url"], cred["token"], **options)


def held(client: SyncClient) -> dict[str, list[tuple]]:
    """What the device holds of HQ's rows, table by table."""
    out = {}
    for table in SYNCED:
        cur = client.store.db.execute(f"SELECT * FROM {table}")
        keep = [i for i, d in enumerate(cur.description) if d[0] not in LOCAL]
        out[table] = sorted((tuple(row[i] for i in keep) for row in cur), key=repr)
    return out


def answer(client: SyncClient) -> bytes:
    """The whole answer to the device's priming request, read without applying it."""
    r = httpx.post(
        client.base_url + "/v1/sync",
        content=protocol.encode(client._body([])),
        headers={**client.http.headers, "content-encoding": "gzip", "accept-encoding": "zstd"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return r.content


def from_preparation(data: bytes) -> bool:
    """A prepared answer opens with the push's outcome alone (HQ's clock, now); a live
    priming's clock rides on its first page."""
    first = protocol.Frames(limit=protocol.MAX_INFLATED).feed(data[: 4 + int.from_bytes(data[:4])])
    return bool(first) and "changes" not in first[0] and "clock" in first[0]


def some_jobs(hq, tech_id: str, n: int) -> list[dict]:
    rows = hq.cli_json("jobs", "--technician", tech_id, "--status", "assigned", "--limit", "50")
    assert len(rows) >= n
    return rows[:n]


def test_a_prepared_priming_gives_the_device_what_a_live_one_gives(hq, tmp_path):
    ana = hq.add_user("Ana Lima")["user"]["id"]
    bo = hq.add_user("Bo Chen")["user"]["id"]
    dispatch_many(hq, ana, JOBS)
    made = hq.cli_json("user", "prepare", ana)
    assert made["pages"] > 3 and made["bytes"] > 0
    # Made at HQ after the preparation: new jobs, one moved to Bo, one cancelled.
    hq.cli("seed", "--jobs", "3", "--technician", ana, "--prefix", "K-", "--seed", "99")
    moved, cancelled = some_jobs(hq, ana, 2)
    hq.cli("assign", moved["id"], bo)
    hq.cli("cancel", cancelled["id"], "--reason", "customer moved away")

    prepared = device(hq, tmp_path, "prepared", fresh_code(hq, ana))
    assert from_preparation(answer(prepared))
    report = prepared.sync()
    assert report.pulled > JOBS
    # The same technician's device primed live: pages of another size are never prepared.
    live = device(hq, tmp_path, "live", fresh_code(hq, ana), page_bytes=32 * 1024)
    assert not from_preparation(answer(live))
    live.sync()
    assert held(prepared) == held(live)
    jobs = {
        r[0]: r for r in prepared.store.db.execute("SELECT id, status, technician_id FROM jobs")
    }
    assert len([j for j in jobs if j]) == JOBS + 3
    assert jobs[moved["id"]][2] == bo
    assert jobs[cancelled["id"]][1] == "cancelled"
    refs = {r[0] for r in prepared.store.db.execute("SELECT ref FROM jobs WHERE ref LIKE 'K-%'")}
    assert len(refs) == 3
    # Every job kept is found by search, as after a live priming.
    searchable = {r[0] for r in prepared.store.db.execute("SELECT job_id FROM jobs_fts")}
    assert searchable == set(jobs)
    for c in (prepared, live):
        c.close()


def test_a_prepared_priming_cut_anywhere_keeps_every_whole_page_and_resumes(hq, tmp_path):
    ana = hq.add_user("Ana Lima")["user"]["id"]
    dispatch_many(hq, ana, JOBS)
    hq.cli("user", "prepare", ana)
    whole = device(hq, tmp_path, "whole", fresh_code(hq, ana))
    data = answer(whole)
    assert from_preparation(data)
    ends = read_ends(data)
    assert len(ends) > 4
    whole.sync()
    want = held(whole)
    # At every frame's end, and a byte either side of it (in turn).
    cases = [(b, (-1, 0, 1)[b % 3]) for b in range(len(ends) - 1)]
    for k, (boundary, delta) in enumerate(cases):
        t = Cut()
        client = device(hq, tmp_path, f"cut{k}", fresh_code(hq, ana), transport=t)
        t.after = ends[boundary][0] + delta
        with pytest.raises(SyncError):
            client.sync()
        got = read_ends(t.delivered)
        assert client.store.pull_cursor() == (got[-1][1] if got else 0), (boundary, delta)
        on_device = {r[0] for r in client.store.db.execute("SELECT id FROM jobs")}
        assert on_device == (got[-1][2] if got else frozenset()), (boundary, delta)
        client.sync()  # the link is back: on from the kept page, live
        assert held(client) == want, (boundary, delta)
        client.close()
    whole.close()


def test_nobody_else_is_sent_a_technicians_prepared_pages(hq, tmp_path):
    ana = hq.add_user("Ana Lima")["user"]["id"]
    bo = hq.add_user("Bo Chen")["user"]["id"]
    sue = hq.add_user("Sue Pervis", role="supervisor", team="south")
    dispatch_many(hq, ana, 120)
    hq.cli("seed", "--jobs", "5", "--technician", bo, "--prefix", "B-", "--seed", "3")
    hq.cli("user", "prepare", ana)
    his = device(hq, tmp_path, "bo", fresh_code(hq, bo))
    assert not from_preparation(answer(his))
    his.sync()
    refs = {r[0] for r in his.store.db.execute("SELECT ref FROM jobs")}
    assert len(refs) == 5 and all(r.startswith("B-") for r in refs)
    boss = device(hq, tmp_path, "sue", sue["enrollment_code"])
    assert not from_preparation(answer(boss))
    boss.sync()
    assert boss.store.count_jobs() == 0  # another team's supervisor
    for c in (his, boss):
        c.close()


def test_the_serving_hq_prepares_while_a_code_waits(tmp_path):
    home = tmp_path / "hq-prepares"
    home.mkdir()
    server = start_hq(home, prepare_every=0.2)
    try:
        ana = server.add_user("Ana Lima")["user"]["id"]
        dispatch_many(server, ana, 120)
        # Its first look may come before the jobs do: whatever it made, the jobs follow live.
        deadline = time.monotonic() + 30
        while True:
            client = device(server, tmp_path, f"ana{time.monotonic_ns()}", fresh_code(server, ana))
            if from_preparation(answer(client)):
                break
            client.close()
            assert time.monotonic() < deadline, "HQ never prepared a first sync while codes waited"
            time.sleep(0.3)  # the preparer's next look
        client.sync()
        assert client.store.count_jobs() == 120
        client.close()
    finally:
        server.stop()


def test_preparing_for_someone_who_is_not_a_technician_says_so_in_one_line(hq):
    sue = hq.add_user("Sue Pervis", role="supervisor")
    for who in ("nobody-here", sue["user"]["id"]):
        r = hq.cli("user", "prepare", who, check=False)
        assert r.returncode != 0
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
        assert who in r.stderr

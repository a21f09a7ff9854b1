"""Sync over a link that breaks: a real HQ process over real HTTP, with the device's
transport cutting HQ's answer at chosen byte offsets or losing it after HQ committed.

What must hold: every page wholly received is kept (applied with its cursor in one local
transaction), nothing past it is; the next sync resumes from there and ends where an unbroken
sync ends; an answer lost after HQ committed costs one resend and applies nothing twice; the
push's outcome is a watermark, not an echo of every id.
"""

from __future__ import annotations

import json
import random

import httpx
import pytest

from fieldtech.services import jobs
from fieldtech.sync import protocol
from fieldtech.sync.client import Backoff, SyncClient, SyncError
from tests.integration.conftest import enroll_device

pytestmark = pytest.mark.integration

WORDS = [
    "valve",
    "hose",
    "leak",
    "drain",
    "filter",
    "pump",
    "gasket",
    "seal",
    "bracket",
    "wire",
    "fuse",
    "relay",
    "motor",
]
JOBS = 120
PAGE = 8 * 1024  # small pages, so a modest queue makes many of them


class Cut(httpx.BaseTransport):
    """A real HTTP transport whose answers stop after `after` bytes of body (then the link
    fails), or, with `lose=True`, are lost whole after HQ has answered."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.after: int | None = None
        self.lose = False
        self.drop = False  # the next request is lost on its way up: HQ never sees it
        self.requests = 0
        self.sent: list[dict] = []  # every request body, decoded
        self.delivered = b""  # the body bytes of the last cut answer that got through

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        raw = request.read()
        self.sent.append(protocol.decode(raw, request.headers.get("content-encoding")))
        if self.drop:
            self.drop = False
            raise httpx.WriteError("the request was lost on the way")
        r = self.real.handle_request(request)
        if self.lose:
            self.lose = False
            r.read()  # HQ answered in full, and committed
            r.close()
            raise httpx.ReadError("the answer was lost on the way")
        if self.after is None:
            return r
        after, self.after = self.after, None

        self.delivered = b""

        def stream():
            left = after
            for chunk in r.stream:
                if len(chunk) >= left:
                    self.delivered += chunk[:left]
                    yield chunk[:left]
                    r.close()
                    raise httpx.ReadError("the link dropped")
                left -= len(chunk)
                self.delivered += chunk
                yield chunk

        return httpx.Response(r.status_code, headers=r.headers, stream=_Stream(stream()))


class _Stream(httpx.SyncByteStream):
    def __init__(self, it) -> None:
        self.it = it

    def __iter__(self):
        yield from self.it


def dispatch_many(hq, tech_id: str, n: int) -> None:
    hq.cli("seed", "--jobs", str(n), "--technician", tech_id)


def fresh_code(hq, tech_id: str) -> str:
    return hq.cli("user", "enrollment", tech_id).stdout.strip()


def device(hq, tmp_path, name: str, code: str, transport: Cut) -> SyncClient:
    h = enroll_device(hq, tmp_path / name, code)
    h.client.close()
    cred = json.loads((h.home / "config" / "credential.json").read_text())
    return SyncClient(
        h.device,
        cred["hq_url"],
        cred["token"],
        transport=transport,
        backoff=Backoff(attempts=1, base=0.01),
        page_bytes=PAGE,
    )


def frame_ends(client: SyncClient) -> list[tuple[int, int, frozenset[str]]]:
    """(byte offset where each frame ends, cursor after it, the jobs sent so far) of a
    priming answer, read whole without applying it."""
    body = protocol.encode(client._body([]))
    r = httpx.post(
        client.base_url + "/v1/sync",
        content=body,
        # Asked as the device asks (zstd frames), so the probe's byte offsets are the device's
        # (the client's headers come lower-cased: the same keys, replaced).
        headers={**client.http.headers, "content-encoding": "gzip", "accept-encoding": "zstd"},
        timeout=30,
    )
    return read_ends(r.content)


def read_ends(data: bytes) -> list[tuple[int, int, frozenset[str]]]:
    """The same, of the whole frames in `data` (an answer, or what got through of one)."""
    out, at, cursor = [], 0, 0
    jobs_so_far: set[str] = set()
    reader = protocol.Frames()
    while at + 4 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if at + 4 + size > len(data):
            break
        (frame,) = reader.feed(data[at : at + 4 + size])
        at += 4 + size
        block = (frame.get("changes") or {}).get("jobs")
        if block:
            where = block["cols"].index("id")
            jobs_so_far |= {row[where] for row in block["rows"]}
        cursor = frame.get("cursor", cursor)
        out.append((at, cursor, frozenset(jobs_so_far)))
    return out


def test_a_priming_cut_anywhere_keeps_every_whole_page_and_resumes(hq, tmp_path):
    tech = hq.add_user("Ana Lima")
    dispatch_many(hq, tech["user"]["id"], JOBS)
    probe = device(hq, tmp_path, "probe", tech["enrollment_code"], Cut())
    ends = frame_ends(probe)
    assert len(ends) >= 5, ends  # the outcome, then several pages
    assert len(ends[-1][2]) == JOBS
    # Cut at every page boundary, and one byte before or after it (in turn), aimed by the
    # probe's answer. HQ's feed moves meanwhile (its escalation sweep, enrollments), so what
    # must have been kept is read from the bytes that reached each device.
    cases = [(b, (-1, 0, 1)[b % 3]) for b in range(len(ends) - 1)] + [(0, -1), (1, 1)]
    kept_pages: list[int] = []
    for k, (boundary, delta) in enumerate(cases):
        t = Cut()
        client = device(hq, tmp_path, f"cut{k}", fresh_code(hq, tech["user"]["id"]), t)
        t.after = ends[boundary][0] + delta
        with pytest.raises(SyncError):
            client.sync()
        got = read_ends(t.delivered)
        kept_pages.append(len(got) - 1)
        assert client.store.pull_cursor() == (got[-1][1] if got else 0), (boundary, delta)
        assert _jobs(client) == (got[-1][2] if got else frozenset()), (boundary, delta)
        # Indexed at the end of the sync that was cut: every job kept is found by search.
        assert _searchable(client) == _jobs(client), (boundary, delta)
        client.sync()  # the link is back: resumes from the kept page
        assert _jobs(client) >= ends[-1][2]
        assert _searchable(client) == _jobs(client), (boundary, delta)
        assert client.store.pull_cursor() >= ends[-1][1]
        client.close()
    # The cuts fell all along the answer: from before the first page to the last one.
    assert min(kept_pages) <= 0 and max(kept_pages) >= len(ends) - 3, kept_pages


def _jobs(client: SyncClient) -> frozenset[str]:
    return frozenset(r[0] for r in client.store.db.execute("SELECT id FROM jobs"))


def _searchable(client: SyncClient) -> frozenset[str]:
    return frozenset(r[0] for r in client.store.db.execute("SELECT job_id FROM jobs_fts"))


def notes_at_hq(hq, job_id: str) -> list[str]:
    history = hq.api().get(f"/v1/jobs/{job_id}").json()["history"]
    return sorted(e["body"] for e in history if e["kind"] == "note")


def primed(hq, tmp_path, name: str, jobs_: int) -> tuple[SyncClient, Cut, dict]:
    """A device of a new technician with `jobs_` dispatched jobs, primed through a Cut link
    that retries three times: the client, its link, and its first job."""
    tech = hq.add_user(name)
    dispatch_many(hq, tech["user"]["id"], jobs_)
    t = Cut()
    client = device(hq, tmp_path, name.split()[0].lower(), tech["enrollment_code"], t)
    client.backoff = Backoff(attempts=3, base=0.01)
    client.sync()
    return client, t, client.store.queue(limit=1)[0]


def test_an_answer_lost_after_hq_committed_costs_one_small_check_not_a_resend(hq, tmp_path):
    client, t, job = primed(hq, tmp_path, "Bo Chen", 5)
    for i in range(40):
        jobs.note(client.device, job["id"], f"note {i}")
    sent = [o["id"] for o in sorted(client.store.outbox("pending"), key=lambda o: o["id"])]
    t.lose = True
    before = t.requests
    report = client.sync()
    assert t.requests - before == 2  # the lost answer, then one check
    lost, check = t.sent[-2:]
    assert len(lost["ops"]) == 40
    assert [o["i"] for o in lost["ops"]] == sent
    assert "ops" not in check and check["check"] == protocol.request_key(sent)  # not resent
    assert report.pending == 0 and not client.store.outbox("pending")
    assert report.acknowledged == 40
    assert notes_at_hq(hq, job["id"]) == sorted(f"note {i}" for i in range(40))  # each once
    client.close()


def test_a_request_lost_on_its_way_up_is_checked_then_sent_and_held_once(hq, tmp_path):
    client, t, job = primed(hq, tmp_path, "Di Wu", 3)
    for i in range(25):
        jobs.note(client.device, job["id"], f"word {i}")
    t.drop = True
    before = t.requests
    report = client.sync()
    bodies = t.sent[before:]
    assert [len(b.get("ops", [])) for b in bodies] == [25, 0, 25]  # lost, checked (not held), sent
    assert "check" in bodies[1] and "check" not in bodies[2]
    assert report.pending == 0 and report.acknowledged == 25
    assert notes_at_hq(hq, job["id"]) == sorted(f"word {i}" for i in range(25))
    client.close()


def test_a_refusal_inside_a_lost_answer_still_reaches_the_device(hq, tmp_path):
    client, t, job = primed(hq, tmp_path, "Eli Ross", 2)
    jobs.note(client.device, job["id"], "kept")
    with client.store.transaction():  # an op HQ will refuse: a note on a job it never made
        client.device.record(
            "job.note",
            "job",
            "01a2356e-0000-7000-8000-000000000000",
            {"body": "on no job"},
            hlc=client.device.stamp(),
        )
    jobs.note(client.device, job["id"], "kept too")
    (refused_id,) = [
        o["id"] for o in client.store.outbox("pending") if o["payload"]["body"] == "on no job"
    ]
    t.lose = True
    report = client.sync()
    assert [r["id"] for r in report.rejected] == [refused_id]
    assert report.acknowledged == 2 and report.pending == 0
    parked = client.store.outbox("rejected")
    assert [o["id"] for o in parked] == [refused_id] and parked[0]["reason"]
    assert notes_at_hq(hq, job["id"]) == ["kept", "kept too"]
    client.close()


def test_the_push_outcome_is_a_watermark_with_its_refusals(hq, tmp_path):
    tech = hq.add_user("Cy Park")
    dispatch_many(hq, tech["user"]["id"], 2)
    client = device(hq, tmp_path, "cy", tech["enrollment_code"], Cut())
    client.sync()
    job = client.store.queue(limit=1)[0]
    for i in range(30):
        jobs.note(client.device, job["id"], f"n{i}")
    ops = client.store.outbox("pending")
    body = protocol.encode(client._body(ops))
    r = client.http.post("/v1/sync", content=body, headers={"Content-Encoding": "gzip"})
    first = protocol.Frames().feed(r.content)[0]
    assert first["through"] == ops[-1]["id"] and first["rejected"] == []
    assert len(json.dumps(first)) < 200  # not 30 ids echoed back
    client.close()


def test_a_budget_stops_mid_outbox_urgent_first_nothing_reordered_on_a_job(hq, tmp_path):
    from fieldtech.services.escalations import escalate

    tech = hq.add_user("Di Wu")
    dispatch_many(hq, tech["user"]["id"], 30)
    client = device(hq, tmp_path, "di", tech["enrollment_code"], Cut())
    client.sync()
    # Jobs of normal urgency: an emergency's or a VIP's work would all go first.
    rows = [r for r in client.store.queue(limit=100) if r["priority"] in ("normal", "low")]
    b = next(r["id"] for r in rows if r["status"] == "assigned")
    a, c = [r["id"] for r in rows if r["id"] != b and r["status"] != "completed"][:2]
    made = []
    rng = random.Random(5)
    for i in range(40):  # notes on a, made first: more than 2,500 bytes of them gzip'd
        words = " ".join(rng.choice(WORDS) for _ in range(80))
        made.append(jobs.note(client.device, a, f"note {i} {words}")["id"])
    jobs.start(client.device, b)  # a status change on b, after them
    escalate(client.device, c, "gas smell, need a supervisor")  # the most urgent, made last
    ordered = [o["id"] for o in sorted(client.store.outbox("pending"), key=lambda o: o["id"])]
    kind_of = {o["id"]: o["op"] for o in client.store.outbox("pending")}
    client.budget = 2500
    report = client.sync()
    assert report.budget_spent and report.bytes_up + report.bytes_down <= 2500
    left = {o["id"] for o in client.store.outbox("pending")}
    gone = [i for i in ordered if i not in left]
    assert {"escalation.raise", "job.status"} <= {kind_of[i] for i in gone}  # urgent first
    at_hq = _ops_at_hq(hq, set(gone), (a, b, c))
    assert sorted(at_hq) == sorted(kind_of[i] for i in gone)  # and HQ holds them
    notes_gone = [i for i in made if i not in left]
    assert notes_gone == made[: len(notes_gone)] and len(notes_gone) < len(made)
    # The rest waits, then goes, in the order it was made.
    client.budget = None
    client.sync()
    assert not client.store.outbox("pending")
    history = hq.api().get(f"/v1/jobs/{a}").json()["history"]
    bodies = [e["body"] for e in history if e["kind"] == "note"]
    assert [x.split()[1] for x in bodies] == [str(i) for i in range(40)]
    client.close()


def _ops_at_hq(hq, ids, job_ids):
    """The kinds HQ holds of these operations, read back from the jobs' histories."""
    kinds = {"note": "job.note", "escalation": "escalation.raise", "status": "job.status"}
    found = []
    for job_id in job_ids:
        for e in hq.api().get(f"/v1/jobs/{job_id}").json()["history"]:
            if e["id"] in ids:
                found.append(kinds.get(e["kind"], e["kind"]))
    return found


def test_sync_budget_and_dry_run_on_the_command_line(hq, tmp_path):
    from tests.integration.conftest import run

    tech = hq.add_user("Eli Moss")
    dispatch_many(hq, tech["user"]["id"], 3)
    h = enroll_device(hq, tmp_path / "eli", tech["enrollment_code"])
    h.sync()
    job = h.store.queue(limit=1)[0]["id"]
    rng = random.Random(6)
    for i in range(20):
        jobs.note(h.device, job, f"note {i} " + " ".join(rng.choice(WORDS) for _ in range(30)))
    h.close()
    plan = run(h.home, "sync", "--dry-run", "--budget", "1.5KB").stdout
    assert "would send" in plan and "within 1,500 bytes" in plan and "wait" in plan
    bad = run(h.home, "sync", "--budget", "lots", check=False)
    assert bad.returncode != 0 and "50KB" in bad.stderr and bad.stderr.count("\n") == 1
    out = run(h.home, "sync", "--budget", "1.5KB").stdout
    assert "the budget was spent" in out
    assert "0 still waiting" in run(h.home, "sync").stdout


def rows_in(data: bytes) -> list[tuple[str, str]]:
    """(table, key) of every row the frames in `data` carry, in order, repeats included."""
    out = []
    for frame in protocol.Frames().feed(data):
        for name, block in (frame.get("changes") or {}).items():
            key = block["cols"].index("sku" if name == "parts" else "id")
            out.extend((name, row[key]) for row in block["rows"])
    return out


def test_a_priming_stream_carries_each_row_once_and_the_device_gets_them_all(hq, tmp_path):
    tech = hq.add_user("Fay Ng")
    dispatch_many(hq, tech["user"]["id"], JOBS)
    client = device(hq, tmp_path, "fay", tech["enrollment_code"], Cut())
    body = protocol.encode(client._body([]))
    r = httpx.post(
        client.base_url + "/v1/sync",
        content=body,
        # Asked as the device asks (zstd frames), so the probe's byte offsets are the device's
        # (the client's headers come lower-cased: the same keys, replaced).
        headers={**client.http.headers, "content-encoding": "gzip", "accept-encoding": "zstd"},
        timeout=30,
    )
    carried = rows_in(r.content)
    frames = protocol.Frames().feed(r.content)
    assert len(frames) > 5  # many pages: where a page repeated what earlier pages carried
    assert len(carried) == len(set(carried)), len(carried) - len(set(carried))
    client.sync()
    on_device = set(_jobs(client))
    assert {k for t, k in carried if t == "jobs"} == on_device
    customers = {r[0] for r in client.store.db.execute("SELECT customer_id FROM jobs")}
    held = {r[0] for r in client.store.db.execute("SELECT id FROM customers")}
    assert customers <= held  # every job's customer came, once
    client.close()


def test_a_row_changed_between_two_pages_of_a_stream_is_carried_again(tmp_path):
    """Pull's `carried` skips only a row whose last carried copy is the row as it is now."""
    from sqlalchemy import update

    from fieldtech.hq import auth, dispatch, schema
    from fieldtech.hq.auth import Principal
    from fieldtech.hq.db import HQ, Seq, sqlite_url
    from fieldtech.hq.pull import pull
    from tests.integration.world import ADMIN

    hq = HQ.open(sqlite_url(tmp_path / "hq.sqlite"))
    user, _ = auth.add_user(hq, name="Gil Roy", role="technician", team="north")
    spec = {"kind": "repair", "customer_name": "C", "address": "1 St", "technician": user["id"]}
    job = dispatch.create_job(hq, ADMIN, {**spec, "summary": "first words"})
    tech = Principal(user["id"], "Gil Roy", "technician", "north", None, "c")
    carried: dict = {}

    def summaries() -> list[str]:
        block = pull(hq, tech, 0, 500, carried=carried)["changes"].get("jobs")
        return [r[block["cols"].index("summary")] for r in block["rows"]] if block else []

    def set_summary(words: str) -> None:
        with hq.tx() as conn:
            J = schema.jobs
            conn.execute(
                update(J).where(J.c.id == job["id"]).values(summary=words, seq=Seq(conn)())
            )

    assert summaries() == ["first words"]
    assert summaries() == []  # the same copy again: not sent
    set_summary("second words")
    assert summaries() == ["second words"]
    set_summary("first words")
    assert summaries() == ["first words"]  # changed back: sent again
    hq.dispose()


def test_pages_keep_near_their_size_with_the_customer_files_they_bring(hq, tmp_path):
    """A page's rows bring customer files (each with the customer's job history) and the
    urgent lane: the page as sent stays near `page_bytes`, so on a link that goes down
    the first pages arrive whole and are kept."""
    tech = hq.add_user("Hal Ito")
    dispatch_many(hq, tech["user"]["id"], JOBS)
    client = device(hq, tmp_path, "hal", tech["enrollment_code"], Cut())
    body = protocol.encode(client._body([]))
    r = httpx.post(
        client.base_url + "/v1/sync",
        content=body,
        # Asked as the device asks (zstd frames), so the probe's byte offsets are the device's
        # (the client's headers come lower-cased: the same keys, replaced).
        headers={**client.http.headers, "content-encoding": "gzip", "accept-encoding": "zstd"},
        timeout=30,
    )
    pages = [f for f in protocol.Frames().feed(r.content) if "changes" in f]
    sizes = [len(json.dumps(f["changes"])) for f in pages]
    assert len(pages) > 5
    # 5/4 of a page, and one customer file's worth more where a single row's files overran
    assert max(sizes) <= PAGE * 5 // 4 + 4096, sizes
    first = pages[0]["changes"]
    assert first.get("jobs"), "the first page brings jobs (the urgent lane), not only files"
    client.close()

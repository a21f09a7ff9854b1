"""Sync over a link that breaks: a real HQ process over real HTTP, with the device's
transport cutting HQ's answer at chosen byte offsets or losing it after HQ committed.

What must hold: every page wholly received is kept (applied with its cursor in one local
transaction), nothing past it is; the next sync resumes from there and ends where an unbroken
sync ends; an answer lost after HQ committed costs one resend and applies nothing twice; the
push's outcome is a watermark, not an echo of every id.
"""

from __future__ import annotations

import json

import httpx
import pytest

from fieldtech.services import jobs
from fieldtech.sync import protocol
from fieldtech.sync.client import Backoff, SyncClient, SyncError
from tests.integration.conftest import enroll_device

pytestmark = pytest.mark.integration

JOBS = 120
PAGE = 8 * 1024  # small pages, so a modest queue makes many of them


class Cut(httpx.BaseTransport):
    """A real HTTP transport whose answers stop after `after` bytes of body (then the link
    fails), or, with `lose=True`, are lost whole after HQ has answered."""

    def __init__(self) -> None:
        self.real = httpx.HTTPTransport()
        self.after: int | None = None
        self.lose = False
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        r = self.real.handle_request(request)
        if self.lose:
            self.lose = False
            r.read()  # HQ answered in full, and committed
            r.close()
            raise httpx.ReadError("the answer was lost on the way")
        if self.after is None:
            return r
        after, self.after = self.after, None

        def stream():
            left = after
            for chunk in r.stream:
                if len(chunk) >= left:
                    yield chunk[:left]
                    r.close()
                    raise httpx.ReadError("the link dropped")
                left -= len(chunk)
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
        headers={**client.http.headers, "Content-Encoding": "gzip"},
        timeout=30,
    )
    data, out, at, cursor = r.content, [], 0, 0
    jobs_so_far: set[str] = set()
    reader = protocol.Frames()
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
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
    # Cut at every page boundary, just before and just after it.
    offsets = sorted({o + d for o, _, _ in ends[:-1] for d in (-1, 0, 1)})
    for k, offset in enumerate(offsets[::2]):  # every other one keeps the test quick
        t = Cut()
        client = device(hq, tmp_path, f"cut{k}", fresh_code(hq, tech["user"]["id"]), t)
        t.after = offset
        with pytest.raises(SyncError):
            client.sync()
        kept = max((c for o, c, _ in ends if o <= offset), default=0)
        assert client.store.pull_cursor() == kept, offset
        jobs_kept = max((j for o, _, j in ends if o <= offset), key=len, default=frozenset())
        assert _jobs(client) == jobs_kept, offset
        client.sync()  # the link is back: resumes from the kept page
        assert client.store.pull_cursor() == ends[-1][1]
        assert _jobs(client) == ends[-1][2]
        client.close()


def _jobs(client: SyncClient) -> frozenset[str]:
    return frozenset(r[0] for r in client.store.db.execute("SELECT id FROM jobs"))


def test_an_answer_lost_after_hq_committed_costs_one_resend_and_applies_nothing_twice(hq, tmp_path):
    tech = hq.add_user("Bo Chen")
    dispatch_many(hq, tech["user"]["id"], 5)
    t = Cut()
    client = device(hq, tmp_path, "bo", tech["enrollment_code"], t)
    client.backoff = Backoff(attempts=3, base=0.01)
    client.sync()
    job = client.store.queue(limit=1)[0]
    for i in range(40):
        jobs.note(client.device, job["id"], f"note {i}")
    t.lose = True
    before = t.requests
    report = client.sync()
    assert t.requests - before == 2  # the lost answer, then one resend
    assert report.pending == 0 and not client.store.outbox("pending")
    history = hq.api().get(f"/v1/jobs/{job['id']}").json()["history"]
    notes = [e["body"] for e in history if e["kind"] == "note"]
    assert sorted(notes) == sorted(f"note {i}" for i in range(40))  # each once
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

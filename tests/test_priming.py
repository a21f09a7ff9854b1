"""A technician's first sync, prepared while their enrollment code waits (fieldtech.hq.priming):
who gets one, when it is made again and forgotten, which requests it answers, and that its
frames join the live stream's as one stream. HQ on a real SQLite file, in-process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from fieldtech.domain.jobs import Status
from fieldtech.hq import auth, dispatch, priming, schema
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.seed import seed_hq
from fieldtech.sync import protocol, wire_models

NOW = datetime.now(UTC)  # each look at HQ is told the time: the tests' clock, not the wall's
OPEN = [s.value for s in Status if s.is_open]


@pytest.fixture
def hq(tmp_path):
    h = HQ.open(sqlite_url(tmp_path / "hq.sqlite"))
    yield h
    h.dispose()


def technician(hq: HQ, name: str, jobs: int = 30, prefix: str = "J-") -> tuple[dict, str]:
    user, code = auth.add_user(hq, name=name, role="technician", team="north")
    if jobs:
        seed_jobs(hq, user["id"], jobs, prefix)
    return user, code


SEEDS = iter(range(1, 1_000))  # seed_hq's ids follow its seed: each call its own


def seed_jobs(hq: HQ, tech_id: str, jobs: int, prefix: str) -> None:
    seed_hq(
        hq, jobs, technician_id=tech_id, team="north", now=NOW, seed=next(SEEDS), ref_prefix=prefix
    )


def kept(hq: HQ) -> dict[str, tuple[str, int, str]]:
    P = schema.primings.c
    with hq.engine.connect() as conn:
        rows = conn.execute(select(P.technician_id, P.release, P.cursor, P.built_at))
        return {r.technician_id: (r.release, r.cursor, r.built_at) for r in rows}


def request(**fields) -> wire_models.SyncRequest:
    # As a device of this release asks for its first sync (fieldtech.sync.outgoing).
    asked = {"v": 2, "stream": True, "limit": protocol.MAX_PAGE, **fields}
    return wire_models.SyncRequest.model_validate(asked)


def principal(user: dict, role: str = "technician") -> auth.Principal:
    return auth.Principal(user["id"], user["name"], role, "north", "dev-1", "cred-1")


def test_frames_of_two_writers_joined_are_read_as_one_stream():
    pages = [{"changes": {}, "cursor": n, "more": n < 4, "pad": "x" * (n * 700)} for n in (1, 2)]
    first = protocol.FrameWriter(protocol.ZSTD)
    body = first.frame(pages[0], bulk=True) + first.frame(pages[1], bulk=True, last=True)
    second = protocol.FrameWriter(protocol.ZSTD)
    tail = [{"changes": {}, "cursor": 3, "more": True}, {"changes": {}, "cursor": 4, "more": False}]
    body += second.frame(tail[0], bulk=True) + second.frame(tail[1])
    assert protocol.Frames().feed(body) == [*pages, *tail]
    # Fed a byte at a time, as a slow link brings it: the same frames.
    reader = protocol.Frames()
    got = [f for i in range(len(body)) for f in reader.feed(body[i : i + 1])]
    assert got == [*pages, *tail]
    with pytest.raises(ValueError, match="zstd"):
        protocol.FrameWriter("gzip").frame(pages[0], last=True)


def test_only_technicians_whose_code_waits_are_prepared(hq):
    waiting, _ = technician(hq, "Ana Lima")
    spent, code = technician(hq, "Bo Chen", prefix="B-")
    auth.enroll(hq, code, "dev-bo", "Bo's phone")
    expired, _ = technician(hq, "Cy Dee", prefix="C-")
    with hq.tx() as conn:
        C = schema.credentials.c
        conn.execute(
            update(schema.credentials)
            .where(C.user_id == expired["id"])
            .values(expires_at="2000-01-01T00:00:00Z")
        )
    revoked, _ = technician(hq, "Di Eto", prefix="D-")
    with hq.engine.connect() as conn:
        cred = conn.execute(
            select(schema.credentials.c.id).where(schema.credentials.c.user_id == revoked["id"])
        ).scalar_one()
    auth.revoke(hq, cred)
    auth.add_user(hq, name="Sue Pervis", role="supervisor", team="north")
    assert priming.prepare_due(hq, NOW) == [waiting["id"]]
    assert set(kept(hq)) == {waiting["id"]}
    release, cursor, _ = kept(hq)[waiting["id"]]
    assert release == priming.RELEASE and cursor > 0


def test_made_again_only_when_behind_and_at_most_once_a_minute(hq):
    ana, _ = technician(hq, "Ana Lima")
    assert priming.prepare_due(hq, NOW) == [ana["id"]]
    first = kept(hq)[ana["id"]]
    later = NOW + priming.REFRESH_AFTER + timedelta(seconds=5)
    assert priming.prepare_due(hq, later) == []  # nothing in her scope changed
    seed_jobs(hq, ana["id"], 3, "K-")
    assert priming.prepare_due(hq, NOW) == []  # changed, but made less than a minute ago
    assert priming.prepare_due(hq, later) == [ana["id"]]
    assert kept(hq)[ana["id"]][1] > first[1]
    # A job of another technician's cancelled does not make hers again; one of hers does.
    # His seeding adds to the parts catalogue, which is hers too: both are behind.
    other, _ = technician(hq, "Bo Chen", jobs=3, prefix="L-")
    settled = later + priming.REFRESH_AFTER + timedelta(seconds=5)
    assert priming.prepare_due(hq, settled) == [ana["id"], other["id"]]
    before = kept(hq)[ana["id"]]
    admin = auth.Principal("hq-admin", "HQ", "admin", None, None, "cred-admin")
    again = settled + priming.REFRESH_AFTER + timedelta(seconds=5)
    dispatch.cancel(hq, admin, job_of(hq, other["id"]), "customer moved")
    assert priming.prepare_due(hq, again) == [other["id"]]
    assert kept(hq)[ana["id"]] == before
    dispatch.cancel(hq, admin, job_of(hq, ana["id"]), "customer moved")
    assert priming.prepare_due(hq, again + priming.REFRESH_AFTER) == [ana["id"]]


def job_of(hq: HQ, tech_id: str) -> str:
    J = schema.jobs.c
    with hq.engine.connect() as conn:
        return conn.execute(
            select(J.id)
            .where(J.technician_id == tech_id, J.status.in_(OPEN))
            .order_by(J.id)
            .limit(1)
        ).scalar_one()


def test_forgotten_an_hour_after_no_code_waits_and_made_again_for_another_release(hq):
    ana, code = technician(hq, "Ana Lima")
    bo, _ = technician(hq, "Bo Chen", prefix="B-")
    priming.prepare_due(hq, NOW)
    auth.enroll(hq, code, "dev-ana", "Ana's phone")  # her device primes now: kept a while
    assert set(kept(hq)) == {ana["id"], bo["id"]}
    priming.prepare_due(hq, NOW + timedelta(minutes=30))
    assert set(kept(hq)) == {ana["id"], bo["id"]}
    with hq.tx() as conn:
        conn.execute(update(schema.primings).values(release="0.0.1/1"))
    assert priming.prepare_due(hq, NOW + timedelta(hours=2)) == [bo["id"]]
    assert set(kept(hq)) == {bo["id"]}
    assert kept(hq)[bo["id"]][0] == priming.RELEASE


def test_only_a_priming_request_of_the_technician_it_was_made_for_is_answered_from_it(hq):
    ana, _ = technician(hq, "Ana Lima")
    bo, _ = technician(hq, "Bo Chen", prefix="B-")
    made = priming.prepare(hq, ana["id"])
    assert made is not None and made.pages >= 1
    zstd = protocol.ZSTD
    got = priming.ready(hq, principal(ana), request(), zstd)
    assert got is not None and got.body == made.body and got.cursor == made.cursor
    op = {"i": "op-1", "o": "job.note", "e": "j", "p": {}}
    not_a_priming = [
        (principal(ana), request(cursor=5), zstd),
        (principal(ana), request(ops=[op]), zstd),
        (principal(ana), request(check="k"), zstd),
        (principal(ana), request(max_bytes=50_000), zstd),
        (principal(ana), request(page_bytes=8 * 1024), zstd),
        (principal(ana), request(limit=100), zstd),
        (principal(ana), request(), "gzip"),
        (principal(ana), request(stream=False), zstd),
        (principal(ana, "supervisor"), request(), zstd),
        (principal(bo), request(), zstd),  # nothing made for him
    ]
    for who, req, coding in not_a_priming:
        assert priming.ready(hq, who, req, coding) is None, (who.role, req, coding)


def test_the_prepared_frames_are_the_pages_a_live_priming_sends(hq):
    ana, _ = technician(hq, "Ana Lima", jobs=120)
    made = priming.prepare(hq, ana["id"])
    assert made is not None
    frames = protocol.Frames(limit=protocol.MAX_INFLATED).feed(made.body)
    assert len(frames) == made.pages > 1
    assert all(f["more"] for f in frames)  # the live stream goes on after the last
    cursors = [f["cursor"] for f in frames]
    assert cursors == sorted(cursors) and cursors[-1] == made.cursor
    refs = {
        row[f["changes"]["jobs"]["cols"].index("ref")]
        for f in frames
        if "jobs" in f["changes"]
        for row in f["changes"]["jobs"]["rows"]
    }
    with hq.engine.connect() as conn:
        at_hq = set(conn.execute(select(schema.jobs.c.ref)).scalars())
    assert refs == at_hq and len(refs) == 120

"""A stream's pages send rows they read ahead of themselves (hq/pull.py ReadAhead): what
changes or arrives at HQ while a stream is under way still reaches the device, as it is now."""

from datetime import UTC, datetime

from sqlalchemy import select, update

from fieldtech.hq import auth, schema
from fieldtech.hq.db import HQ, Seq, sqlite_url
from fieldtech.hq.pull import pull
from fieldtech.hq.seed import seed_hq


def _stream(hq, p, cursor, between=None, page_bytes=4096):
    """Pages of one stream (one `carried`, one `ahead`), calling `between` after each."""
    carried, ahead, pages = {}, {}, []
    while True:
        page = pull(hq, p, cursor, 2000, max_bytes=page_bytes, carried=carried, ahead=ahead)
        pages.append(page)
        if between:
            between(len(pages))
        if not page["more"] or page["cursor"] == cursor:
            return pages, page["cursor"]
        cursor = page["cursor"]


def _latest(pages, table):
    held = {}
    for page in pages:
        block = page["changes"].get(table)
        for row in block["rows"] if block else []:
            row = dict(zip(block["cols"], row, strict=True))
            held[row["id"]] = row
    return held


def test_what_changes_at_hq_mid_stream_arrives_as_it_is_now(tmp_path):
    hq = HQ.open(sqlite_url(tmp_path / "hq.sqlite"))
    user, _code = auth.add_user(hq, name="Ana", role="technician", team="north")
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    seed_hq(hq, 300, technician_id=user["id"], team="north", now=now)
    with hq.engine.connect() as conn:
        J = schema.jobs.c
        ids = [r.id for r in conn.execute(select(J.id).order_by(J.seq))]
    p = auth.Principal(user["id"], "Ana", "technician", "north", "dev-1", "cred")
    late = ids[-1]  # read ahead by an early page, sent by a late one
    extra = "added while the stream ran"

    def change(n: int) -> None:
        if n != 2:
            return
        with hq.tx() as conn:
            seq = Seq(conn)
            conn.execute(
                update(schema.jobs).where(J.id == late).values(summary="changed", seq=seq())
            )
            # A table read to its end by the first pages (users) changes before a job does:
            # the job's later seq must not carry the cursor past the change.
            U = schema.users.c
            conn.execute(
                update(schema.users).where(U.id == user["id"]).values(name="Ana Lima", seq=seq())
            )
            conn.execute(update(schema.jobs).where(J.id == ids[0]).values(summary=extra, seq=seq()))

    pages, cursor = _stream(hq, p, 0, between=change)
    assert len(pages) > 3
    again, _ = _stream(hq, p, cursor)  # the device asks again from where the stream ended
    jobs = _latest(pages + again, "jobs")
    assert set(jobs) == set(ids)
    assert jobs[late]["summary"] == "changed"
    assert jobs[ids[0]]["summary"] == extra  # sent early, changed, and sent again
    with hq.engine.connect() as conn:
        kept = {r.id: r.summary for r in conn.execute(select(J.id, J.summary))}
    assert {i: j["summary"] for i, j in jobs.items()} == kept
    assert _latest(pages + again, "users")[user["id"]]["name"] == "Ana Lima"
    hq.dispose()


def test_code_hashes_go_whole_to_older_devices_and_compact_to_this_release(tmp_path):
    from fieldtech.domain.jobs import code_matches, hash_from_wire

    hq = HQ.open(sqlite_url(tmp_path / "hq.sqlite"))
    user, _code = auth.add_user(hq, name="Ana", role="technician", team="north")
    seed_hq(hq, 20, technician_id=user["id"], team="north", now=datetime(2026, 12, 1, tzinfo=UTC))
    with hq.engine.connect() as conn:
        J = schema.jobs.c
        codes = {r.id: r.confirmation_code for r in conn.execute(select(J.id, J.confirmation_code))}
    p = auth.Principal(user["id"], "Ana", "technician", "north", "dev-1", "cred")
    for compact in (False, True):
        page = pull(hq, p, 0, 2000, compact=compact)
        jobs = _latest([page], "jobs")
        assert set(jobs) == set(codes)
        for job_id, job in jobs.items():
            scheme, rounds, salt, digest = job["confirmation_hash"].split("$")
            # The release before reads only 32-hex digests, salted with the job's id.
            assert (salt, len(digest)) == (("", 12) if compact else (job_id, 32))
            kept = hash_from_wire(job["confirmation_hash"], job_id)
            assert code_matches(codes[job_id], kept)
            assert not code_matches(codes[job_id] + "X", kept)
    hq.dispose()

"""What a device receives: every change in its scope since its cursor, in pages.

Rows go out column-wise (names once, then value lists), which gzip's well and keeps a
first sync of thousands of jobs to a handful of requests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, exists, false, select

from fieldtech.domain.jobs import hash_for_wire, with_code_hashed
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.customer_file import Change, Page, complete_page
from fieldtech.hq.db import HQ

# Columns HQ keeps for itself (scope and bookkeeping), never sent to devices.
PRIVATE = {"seq", "technician_id", "team", "origin", "match_key"}
# Whose request or call-back it is matters on a supervisor's board.
KEEP_ON_DEVICE = {
    "jobs": {"technician_id", "team"},
    "users": {"team"},
    "part_requests": {"technician_id"},
    "callbacks": {"technician_id"},
}

ORDER = (
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
    "conflicts",
    "callbacks",
    "attachments",  # references only: a file's bytes come on demand (GET /v1/files/…)
)


def _team_users(p: Principal) -> Select[str]:
    return select(schema.users.c.id).where(schema.users.c.team == p.team)


def _job_visible(p: Principal, job_id_col: ColumnElement[str]) -> ColumnElement[bool]:
    """EXISTS-style check that a job id is in p's scope.

    Correlated, so the planner walks the table by `seq` (usually few rows past the cursor)
    and probes each one, instead of listing every job in scope first. The jobs table is
    aliased so the check can never correlate with an outer `jobs` by accident."""
    A = schema.job_assignments.c
    if p.role == "technician":
        return exists().where(A.job_id == job_id_col, A.technician_id == p.user_id)
    inner = schema.jobs.alias("scope_jobs")
    return exists().where(inner.c.id == job_id_col, inner.c.team == p.team)


def scope_where(name: str, p: Principal) -> ColumnElement[bool] | None:
    """The WHERE clause limiting table `name` to what `p` may read (None: everything)."""
    t: Table = getattr(schema, name)
    J = schema.jobs.c
    if name in ("parts", "templates") or p.is_admin:
        return None
    if p.role == "supervisor" and not p.team:
        return false()
    if name == "jobs":
        if p.role == "supervisor":
            return t.c.team == p.team
        return _job_visible(p, t.c.id)
    if name in ("job_events", "readings", "attachments"):
        return _job_visible(p, t.c.job_id)
    if name in ("customers", "appliances"):
        col = t.c.id if name == "customers" else t.c.customer_id
        return exists().where(J.customer_id == col, _job_visible(p, J.id))
    if name == "sites":
        return exists().where(J.site_id == t.c.id, _job_visible(p, J.id))
    if name == "users":
        # A supervisor's roster is their team; a technician learns only who they are.
        if p.role == "supervisor":
            return t.c.team == p.team
        return t.c.id == p.user_id
    if name in ("stock_ledger", "part_requests", "conflicts", "callbacks"):
        if p.role == "supervisor":
            return t.c.technician_id.in_(_team_users(p))
        return t.c.technician_id == p.user_id
    raise KeyError(name)


def _columns(name: str, table: Table) -> list[str]:
    keep = KEEP_ON_DEVICE.get(name, set())
    return [c for c in table.c.keys() if c not in PRIVATE or c in keep]  # noqa: SIM118


ECHOED = ("jobs", "job_events", "readings", "stock_ledger", "part_requests", "attachments")


def pull(
    hq: HQ,
    p: Principal,
    cursor: int,
    limit: int,
    device_id: str | None = None,
    max_bytes: int | None = None,
    urgent: bool = True,
    carried: dict[tuple[str, Any], bytes] | None = None,
    compact: bool = False,
    ahead: ReadAhead | None = None,
) -> dict[str, Any]:
    """Changes since `cursor`, at most `limit` rows (and about `max_bytes` of JSON), in seq
    order across tables. `compact`: a job's code hash goes without the salt the device
    puts back (jobs.hash_for_wire), for a device of this release (it reads zstd frames).

    Rows this very device wrote, as HQ took them, are not sent back to it: they still move
    the cursor, but cost nothing on the wire. `carried`: the last copy of each row earlier
    pages of the same stream carried (a digest, by table and key; this adds its own); a row
    whose last copy carried is as it is now is not sent again (a page brings each job's
    customer file and the jobs its history belongs to, which later pages would otherwise
    bring again: priming sent each row ~5 times). `ahead`: the rows earlier pages of the
    stream read past their end, to be sent from (ReadAhead)."""
    carried = {} if carried is None else carried
    ahead = {} if ahead is None else ahead
    sizes: Sizes = {}  # each row's size, while this page is built
    with hq.snapshot() as conn:  # every read of the page sees the same committed state
        found, more = _feed(conn, p, cursor, limit, device_id, max_bytes, ahead, sizes)
        kept = len(found) if max_bytes is None else _within(found, max_bytes, sizes)
        lane = URGENT_LANE
        for _ in range(PAGE_TRIES):
            page = found[:kept]
            cut = more or kept < len(found)
            new_cursor = page[-1][0] if page else cursor
            if cut and urgent:
                # Emergency and VIP jobs jump the queue: they come now, with their customer
                # file, even when the pages before them are still to come. Again in order
                # later (where `carried` leaves out what did not change).
                page.extend(_urgent(conn, p, new_cursor, device_id, lane))
            page.extend(_jobs_of_history(conn, p, new_cursor, page))
            # Each job's customer file, if the device lacks it.
            looked = complete_page(conn, p, cursor, page, carried)
            marks = dict(carried)  # what the stream will have carried, should this page go
            marks.update(dict.fromkeys(looked, b""))
            changes = _changes(page, marks, compact)
            if max_bytes is None:
                break
            size = len(_spaced(changes))
            if size <= max_bytes * 5 // 4 or (kept <= 1 and lane <= 1):
                break
            # What the page brings with its rows (customer files with their histories, the
            # urgent lane) made it larger than asked: fewer rows, a shorter lane.
            kept = max(1, int(kept * max_bytes / size))
            lane = max(1, int(lane * max_bytes / size / 2))  # the lane gives way faster
    carried.update(marks)
    return {"changes": changes, "cursor": new_cursor, "more": cut}


FIRST_READ = 64  # rows read from each table for a page bounded by bytes, at first


@dataclass
class _Read:
    """What a stream has read of one table: its rows past the stream's cursor, in seq
    order, read up to `to`; `done_at`: the cursor of the page that found no more (true of
    that page's snapshot only)."""

    rows: list[Change]
    to: int
    done_at: int | None = None


# By table: the rows a stream's pages read and did not send yet. A page takes them rather
# than read them again (priming read each row ~3 times, each page reading 65 rows of every
# table to send a few of one), and reads each table on from where the stream had read it.
# A row changed since it was read comes again later in the feed with its new seq; a row
# committed since has a seq past every one read, and the next page reads it: a table that
# had no more is read again each page (one indexed query), since a later page's snapshot
# can hold rows committed after it.
ReadAhead = dict[str, _Read]


def _read(
    conn: Connection,
    name: str,
    p: Principal,
    cursor: int,
    want: int,
    device_id: str | None,
    ahead: ReadAhead,
) -> list[Change]:
    """Up to `want` + 1 rows of table `name` past `cursor` (one more than asked: it has more)."""
    got = ahead.get(name)
    if got is None or got.to < cursor:  # the stream is past all it read of the table
        got = ahead[name] = _Read([], cursor)
    got.rows = [c for c in got.rows if c[0] > cursor]
    if len(got.rows) <= want and got.done_at != cursor:
        n = want + 1 - len(got.rows)
        fresh = list(_table_page(conn, name, p, got.to, n - 1, device_id))
        got.rows += fresh
        got.done_at = cursor if len(fresh) < n else None
        got.to = fresh[-1][0] if fresh else got.to
    return got.rows[: want + 1]


def _feed(
    conn: Connection,
    p: Principal,
    cursor: int,
    limit: int,
    device_id: str | None,
    max_bytes: int | None,
    ahead: ReadAhead,
    sizes: Sizes,
) -> tuple[Page, bool]:
    """The changes after `cursor` in seq order across the tables, at most `limit` of them,
    and whether more follow. A page bounded by bytes holds a few hundred rows, not the
    thousands `limit` allows a first sync: each table is read a little at a time, more
    only while the rows read do not fill `max_bytes` (reading `limit` rows of every table
    for each page made priming quadratic: 10,000 jobs took 26 s at HQ)."""
    first = limit if max_bytes is None else min(limit, FIRST_READ)
    reads = dict.fromkeys(ORDER, first)
    rows = {name: _read(conn, name, p, cursor, first, device_id, ahead) for name in ORDER}
    while True:
        # A table that returned more than it was asked for has more: its rows from its
        # first unread one on may be missing, and so may every table's past that seq.
        edges = {n: r[reads[n]][0] for n, r in rows.items() if len(r) > reads[n]}
        edge = min(edges.values(), default=None)
        found = sorted(
            (c for r in rows.values() for c in r if edge is None or c[0] < edge),
            key=lambda c: c[0],
        )
        more = edge is not None or len(found) > limit
        found = found[:limit]
        full = max_bytes is None or _within(found, max_bytes, sizes) < len(found)
        short = [n for n, e in edges.items() if e == edge and reads[n] < limit]
        if full or not short:
            return found, more
        for name in short:  # read further only where the page was cut short
            reads[name] = min(limit, reads[name] * 4)
            rows[name] = _read(conn, name, p, cursor, reads[name], device_id, ahead)


PAGE_TRIES = 6  # each try shrinks the page: most pages fit at the first


def _changes(
    page: Page, carried: dict[tuple[str, Any], bytes], compact: bool = False
) -> dict[str, dict[str, Any]]:
    """The page's rows as the wire carries them, table by table, less what `carried` says
    the device was already sent as it is (and noting what this carries)."""
    changes: dict[str, dict[str, Any]] = {}
    here = {(n, r.get("id", r.get("sku"))) for _, n, r in page if r is not None}
    for _, name, row in page:
        if row is None:
            continue
        if name == "jobs":
            # HQ keeps the customer's code (it gives it to them); a device gets its hash.
            row = with_code_hashed(row)
            if compact and row.get("confirmation_hash"):
                row["confirmation_hash"] = hash_for_wire(row["confirmation_hash"], row["id"])
        key = (name, row.get("id", row.get("sku")))
        mark = _digest(name, row)
        if key[1] is not None:
            if carried.get(key) == mark:
                continue
            if _whole_on_arrival(name, row, here, carried):
                carried[key] = mark
        block = changes.setdefault(name, {"cols": list(row), "rows": []})
        block["rows"].append([row[c] for c in block["cols"]])
    return changes


# References a device clears when it lacks their row (store.sync.DANGLING "clear"): a copy
# sent before its parent arrives is kept without the reference, so a later copy must go.
CLEARED = {
    "jobs": (("parent_job_id", "jobs"),),
    "appliances": (("site_id", "sites"),),
    "stock_ledger": (("job_id", "jobs"),),
    "part_requests": (("job_id", "jobs"),),
}


def _whole_on_arrival(
    name: str, row: dict[str, Any], here: set[tuple[str, Any]], carried: dict[Any, bytes]
) -> bool:
    """Whether the device keeps this row as sent: each reference it would clear names a row
    of the same page or one the stream already carried."""
    for col, parent in CLEARED.get(name, ()):
        ref = (parent, row.get(col))
        if ref[1] is not None and ref not in here and ref not in carried:
            return False
    return True


# One encoder each, made once: json.dumps with `default=` builds a new encoder per call,
# and a priming digests and sizes ~60,000 rows (a fifth of HQ's time to stream it).
_compact = json.JSONEncoder(default=str, separators=(",", ":")).encode
_spaced = json.JSONEncoder(default=str).encode


def _digest(name: str, row: dict[str, Any]) -> bytes:
    text = _compact([name, *row.items()])
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


Sizes = dict[int, tuple[dict[str, Any], int]]  # by a row's identity: the row, its size


def _within(page: Page, max_bytes: int, sizes: Sizes | None = None) -> int:
    """How many of the page's rows (in seq order) fit `max_bytes` of JSON; at least one,
    so a page always moves the cursor. `sizes`: each row's size, for a page sized several
    times as it is built (holding the row, so its identity is never another's)."""
    size = 0
    sizes = {} if sizes is None else sizes
    for n, (_, _, row) in enumerate(page):
        if row is not None:
            got = sizes.get(id(row))
            if got is None:
                got = sizes[id(row)] = (row, len(_spaced(list(row.values()))))
            size += got[1]
        if size > max_bytes and n:
            return n
    return len(page)


URGENT_LANE = 100
HISTORY_OF_JOBS = (
    "job_events",
    "readings",
    "stock_ledger",
    "part_requests",
    "callbacks",
    "attachments",
)


def _jobs_of_history(conn: Connection, p: Principal, after: int, page: Page) -> Page:
    """The jobs that rows of this page belong to, when the job's latest change comes later
    in the feed (past this page): a job's row moves up the feed each time it changes, so
    its older events can reach a page before it does. Parents first, in the same page."""
    have = {row["id"] for _, name, row in page if name == "jobs" and row is not None}
    wanted = {
        row["job_id"]
        for _, name, row in page
        if name in HISTORY_OF_JOBS and row is not None and row.get("job_id")
    } - have
    if not wanted:
        return []
    J = schema.jobs
    out: Page = []
    for chunk in [sorted(wanted)[i : i + 500] for i in range(0, len(wanted), 500)]:
        q = select(*[J.c[c] for c in _columns("jobs", J)]).where(J.c.id.in_(chunk), J.c.seq > after)
        where = scope_where("jobs", p)
        if where is not None:
            q = q.where(where)
        out.extend((0, "jobs", dict(r)) for r in conn.execute(q).mappings())
    return out


def _urgent(
    conn: Connection, p: Principal, after: int, device_id: str | None, lane: int = URGENT_LANE
) -> Page:
    J = schema.jobs
    q = (
        select(*[J.c[c] for c in _columns("jobs", J)])
        .where(J.c.seq > after)
        .where(
            J.c.priority_rank <= 1, J.c.status.notin_(("completed", "cannot_complete", "cancelled"))
        )
    )
    where = scope_where("jobs", p)
    if where is not None:
        q = q.where(where)
    jobs = [dict(r) for r in conn.execute(q.order_by(J.c.seq).limit(lane)).mappings()]
    if not jobs:
        return []
    out: Page = []
    for name, key, col in (
        ("customers", "customer_id", "id"),
        ("sites", "site_id", "id"),
        ("appliances", "customer_id", "customer_id"),
    ):
        t: Table = getattr(schema, name)
        ids = {j[key] for j in jobs if j[key]}
        rows = conn.execute(
            select(*[t.c[c] for c in _columns(name, t)]).where(t.c[col].in_(ids))
        ).mappings()
        out.extend((0, name, dict(r)) for r in rows)
    out.extend((0, "jobs", j) for j in jobs)
    return out


def _table_page(
    conn: Connection, name: str, p: Principal, cursor: int, limit: int, device_id: str | None
) -> Iterator[Change]:
    t: Table = getattr(schema, name)
    cols = _columns(name, t)
    extra = [t.c.origin] if name in ECHOED else []
    q = select(t.c.seq, *extra, *[t.c[c] for c in cols]).where(t.c.seq > cursor)
    where = scope_where(name, p)
    if where is not None:
        q = q.where(where)
    q = q.order_by(t.c.seq).limit(limit + 1)
    for r in conn.execute(q).mappings():
        row = dict(r)
        seq = row.pop("seq")
        origin = row.pop("origin", None)
        yield seq, name, None if (device_id and origin == device_id) else row


def checksum(hq: HQ, p: Principal) -> dict[str, int]:
    """Cheap per-scope counts and top seq, to detect drift without a full download."""
    from sqlalchemy import func

    out: dict[str, int] = {}
    with hq.engine.connect() as conn:
        for name in ("jobs", "job_events", "readings", "stock_ledger", "part_requests"):
            t: Table = getattr(schema, name)
            q = select(func.count(), func.coalesce(func.max(t.c.seq), 0)).select_from(t)
            where = scope_where(name, p)
            if where is not None:
                q = q.where(where)
            n, _top = conn.execute(q).one()
            out[name] = int(n)
    return out

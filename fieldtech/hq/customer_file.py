"""The customer file that travels with a job: the customer, their site and every appliance
on record, and their earlier jobs as a compact history, whoever did them.

A technician reads only their own jobs, yet on site they need the whole customer's story
(service standard: "on a job the technician sees the customer's earlier jobs and
appliances, offline"). So a pull page that carries a job also carries its customer's file
when the device may not have it: when the file's rows are at or below the device's cursor
(it synced past them while they were out of its scope) or later in the feed than the job.
Every customer row carries `history`: their most recent jobs at HQ that the device does not
hold, a few fields each. The jobs in the device's own scope are not repeated there: it holds
them (or they come later in the same feed), and a job never leaves a technician's scope once
assigned, so the device's customer file joins its own jobs and HQ's history (store
`customer_history`). Repeating them was ~40% of priming a technician on the wire.
"""

from __future__ import annotations

import json
from collections.abc import Container
from typing import Any

from sqlalchemy import ColumnElement, Connection, not_, select

from fieldtech.hq import schema
from fieldtech.hq.auth import Principal

HISTORY_JOBS = 25  # the most recent jobs of a customer that travel with their record
HISTORY_FIELDS = (
    "id",
    "ref",
    "kind",
    "status",
    "summary",
    "created_at",
    "closed_at",
    "outcome",
    "rating",
)
SUMMARY_CHARS = 200

# One row of a pull page: (seq, table, row); no row when it is the device's own write, which
# still moves the cursor.
Change = tuple[int, str, dict[str, Any] | None]
Page = list[Change]


def complete_page(
    conn: Connection,
    p: Principal,
    cursor: int,
    page: Page,
    sent: Container[tuple[str, Any]] = (),
) -> set[tuple[str, Any]]:
    """Add to `page` the customer files of its jobs that the device may lack, then give
    every customer row in it the customer's history (outside what `p` may read). In place;
    added rows carry seq 0 (the page's cursor is already decided). `sent`: what earlier
    pages of the same stream carried (pull's `carried`): a customer or site sent there, or a
    customer whose appliances were looked up there, is not read again (a change since has a
    later seq, and the feed brings it). Returns the marks of the appliance look-ups made,
    for the stream to carry once this page goes."""
    from fieldtech.hq.pull import _columns, scope_where

    jobs = [(seq, row) for seq, name, row in page if name == "jobs" and row is not None]
    have = {(name, row["id"]) for _, name, row in page if row is not None and "id" in row}
    looked: set[tuple[str, Any]] = set()
    if jobs:
        for name, key, col in (
            ("customers", "customer_id", "id"),
            ("sites", "site_id", "id"),
            ("appliances", "customer_id", "customer_id"),
        ):
            t = schema.metadata.tables[name]
            first_job: dict[str, int] = {}
            for seq, job in jobs:
                ref = job.get(key)
                if ref and (APPLIANCES_OF if name == "appliances" else name, ref) not in sent:
                    first_job[ref] = min(seq, first_job.get(ref, seq))
            if not first_job:
                continue
            cols = [t.c[c] for c in _columns(name, t)]
            # A customer's appliances are marked looked up only when each one's site is in
            # this page or was carried: one kept without its site (the device clears the
            # reference) must go again with a later page that brings the site.
            whole = set(first_job) if name == "appliances" else set()
            for chunk in _chunks(sorted(first_job)):
                for r in conn.execute(select(t.c.seq, *cols).where(t.c[col].in_(chunk))).mappings():
                    row = dict(r)
                    seq = row.pop("seq")
                    site = ("sites", row.get("site_id"))
                    if name == "appliances" and site[1] and site not in have and site not in sent:
                        whole.discard(row[col])
                    missed = seq <= cursor or seq > first_job[row[col]]
                    if missed and (name, row["id"]) not in have:
                        have.add((name, row["id"]))
                        page.append((0, name, row))
            looked |= {(APPLIANCES_OF, ref) for ref in whole}
    customers = [row for _, name, row in page if name == "customers" and row is not None]
    if customers:
        held = scope_where("jobs", p)
        files = histories(conn, [c["id"] for c in customers], held)
        for c in customers:
            c["history"] = json.dumps(files.get(c["id"], []), separators=(",", ":"))
    return looked


APPLIANCES_OF = "appliances of"  # a mark: the customer's appliances were looked up


def histories(
    conn: Connection, customer_ids: list[str], held: ColumnElement[bool] | None
) -> dict[str, list[dict[str, Any]]]:
    """Each customer's most recent jobs at HQ, newest first, less those `held` (the jobs the
    device reads in its scope: None is every job)."""
    if held is None:
        return {}  # the device reads every job: it holds all of their history
    j = schema.jobs.c
    out: dict[str, list[dict[str, Any]]] = {}
    cols = [j[c] for c in HISTORY_FIELDS]
    for chunk in _chunks(sorted(set(customer_ids))):
        rows = conn.execute(
            select(j.customer_id, *cols)
            .where(j.customer_id.in_(chunk), not_(held))
            .order_by(j.customer_id, j.created_at.desc(), j.id.desc())
        ).mappings()
        for r in rows:
            mine = out.setdefault(r["customer_id"], [])
            if len(mine) < HISTORY_JOBS:
                entry = {k: r[k] for k in HISTORY_FIELDS}
                entry["summary"] = (entry["summary"] or "")[:SUMMARY_CHARS]
                mine.append(entry)
    return out


def _chunks(items: list[str], size: int = 500) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]

"""Rows for customers, sites, appliances, jobs and their history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from fieldtech.domain.errors import NotFound
from fieldtech.store.migrations import QUEUE_KEY_SQL

if TYPE_CHECKING:
    from fieldtech.store.database import Database
    from fieldtech.store.rows import (
        CustomerFile,
        JobCard,
        JobEvent,
        JobRow,
        QueueCursor,
        QueueRow,
    )

# What the queue shows per row: enough for the list, nothing more.
QUEUE_SQL = """
SELECT j.id, j.ref, j.kind, j.priority, j.priority_rank, j.status, j.summary, j.sla_due,
       j.window_start, j.window_end, j.escalation_level, j.search_key, j.technician_id,
       c.name AS customer,
       s.address, s.city
FROM jobs j JOIN customers c ON c.id = j.customer_id JOIN sites s ON s.id = j.site_id
"""


# What a person may type to find a job: its ref, customer, address, appliance.
_SEARCHED = [
    "j.ref",
    "j.id",
    "j.kind",
    "j.summary",
    "c.name",
    "c.phone",
    "s.address",
    "s.city",
    "a.category",
    "a.brand",
    "a.model",
    "a.serial",
]
SEARCH_INSERT = (
    "INSERT INTO jobs_fts (rowid, job_id, body) SELECT j.search_key, j.id, "
    + " || ' ' || ".join(f"coalesce({c}, '')" for c in _SEARCHED)
    + " FROM jobs j JOIN customers c ON c.id = j.customer_id"
    " JOIN sites s ON s.id = j.site_id LEFT JOIN appliances a ON a.id = j.appliance_id"
)


@dataclass(frozen=True)
class QueueFilter:
    text: str | None = None
    status: str | None = None
    kind: str | None = None
    priority: str | None = None
    open_only: bool = False
    technician_id: str | None = None  # on a technician's device: hide jobs moved to others


def fts_query(text: str) -> str | None:
    """Turn what a person types into a safe FTS5 prefix query."""
    # One letter matches nearly everything and costs a scan of every term: wait for two.
    words = [w for w in "".join(ch if ch.isalnum() else " " for ch in text).split() if len(w) >= 2]
    if not words:
        return None
    return " ".join(f'"{w}"*' for w in words)


class JobRows:
    db: Database

    # -- writes (called by services inside a transaction) ---------------------------
    def put_customer(self, row: dict[str, Any]) -> None:
        self.db["customers"].upsert(row, pk="id")

    def put_site(self, row: dict[str, Any]) -> None:
        row = dict(row)
        if isinstance(row.get("hazards"), list | tuple):
            row["hazards"] = json.dumps(list(row["hazards"]))
        self.db["sites"].upsert(row, pk="id")

    def put_appliance(self, row: dict[str, Any]) -> None:
        self.db["appliances"].upsert(row, pk="id")

    def put_job(self, row: dict[str, Any]) -> None:
        row = dict(row)
        if isinstance(row.get("stamps"), dict):
            row["stamps"] = json.dumps(row["stamps"], sort_keys=True)
        if "status" in row:
            from fieldtech.domain.jobs import Status

            row["open"] = int(Status(row["status"]).is_open)
        self.db["jobs"].upsert(row, pk="id")
        self.refresh_job_search(row["id"])

    def update_job(self, job_id: str, fields: dict[str, Any]) -> None:
        fields = dict(fields)
        if "stamps" in fields and isinstance(fields["stamps"], dict):
            fields["stamps"] = json.dumps(fields["stamps"], sort_keys=True)
        if "status" in fields:
            from fieldtech.domain.jobs import Status

            fields["open"] = int(Status(fields["status"]).is_open)
        cols = ", ".join(f"{k} = ?" for k in fields)
        cur = self.db.execute(f"UPDATE jobs SET {cols} WHERE id = ?", [*fields.values(), job_id])
        if cur.rowcount != 1:
            raise NotFound(f"no job {job_id}")

    def add_job_event(self, row: dict[str, Any]) -> bool:
        """Append to a job's history. Returns False when the event was already there."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO job_events (id, job_id, kind, from_status, to_status, body, "
            "actor, hlc, at) VALUES (:id, :job_id, :kind, :from_status, :to_status, :body, "
            ":actor, :hlc, :at)",
            {"from_status": None, "to_status": None, "body": None, "actor": None, **row},
        )
        return cur.rowcount == 1

    def refresh_job_search(self, job_id: str) -> None:
        old = self.db.execute("SELECT search_key FROM jobs WHERE id = ?", [job_id]).fetchone()
        if old and old[0] is not None:
            self.db.execute("DELETE FROM jobs_fts WHERE rowid = ?", [old[0]])
        self.db.execute(f"UPDATE jobs AS j SET search_key = {QUEUE_KEY_SQL} WHERE id = ?", [job_id])
        self.db.execute(
            SEARCH_INSERT + " WHERE j.id = ?",
            [job_id],
        )

    def rebuild_job_search(self) -> None:
        self.db.execute("DELETE FROM jobs_fts")
        self.db.execute(f"UPDATE jobs AS j SET search_key = {QUEUE_KEY_SQL}")
        self.db.execute(SEARCH_INSERT)

    # -- reads ----------------------------------------------------------------------
    def job(self, job_id: str) -> JobRow:
        """A job by full id, by its ref (J-…), or by the unique tail people type."""
        row = self._one("SELECT * FROM jobs WHERE id = ? OR ref = ?", [job_id, job_id.upper()])
        if row is None and 4 <= len(job_id) <= 36:  # a tail of an id, never longer
            rows = self._all(
                "SELECT * FROM jobs WHERE replace(id, '-', '') LIKE ? LIMIT 2",
                ["%" + job_id.replace("-", "").lower()],
            )
            if len(rows) == 1:
                row = rows[0]
        if row is None:
            raise NotFound(f"no job {job_id!r} on this device")
        row["stamps"] = json.loads(row["stamps"] or "{}")
        return cast("JobRow", row)

    def open_jobs_due(self, by: str) -> list[str]:
        """Ids of the open jobs whose window opens or whose promised time falls by `by`
        (UTC, ISO), overdue ones too, soonest first."""
        rows = self.db.execute(
            "SELECT id FROM jobs WHERE open = 1 AND (window_start <= ? OR sla_due <= ?) "
            "ORDER BY window_start, id",
            [by, by],
        )
        return [str(r[0]) for r in rows]

    def job_exists(self, job_id: str) -> bool:
        return self._one("SELECT 1 AS x FROM jobs WHERE id = ?", [job_id]) is not None

    def job_card(self, job_id: str) -> JobCard:
        """Job with its customer, site and appliance, as the job screen and `job show` need."""
        job: dict[str, Any] = dict(self.job(job_id))
        job["customer"] = self._one("SELECT * FROM customers WHERE id = ?", [job["customer_id"]])
        site = self._one("SELECT * FROM sites WHERE id = ?", [job["site_id"]])
        if site:
            site["hazards"] = json.loads(site["hazards"] or "[]")
        job["site"] = site
        job["appliance"] = (
            self._one("SELECT * FROM appliances WHERE id = ?", [job["appliance_id"]])
            if job["appliance_id"]
            else None
        )
        return cast("JobCard", job)

    def job_events(self, job_id: str) -> list[JobEvent]:
        rows = self._all("SELECT * FROM job_events WHERE job_id = ? ORDER BY hlc, id", [job_id])
        return cast("list[JobEvent]", rows)

    def customer_history(self, customer_id: str, exclude_job: str | None = None) -> CustomerFile:
        """The customer file: earlier jobs and every appliance on record. Jobs on this
        device, and those HQ sent with the customer (their history, whoever did them)."""
        jobs = self._all(
            "SELECT id, ref, kind, status, summary, created_at, closed_at, outcome, rating "
            "FROM jobs WHERE customer_id = ? AND id IS NOT ? ORDER BY created_at DESC",
            [customer_id, exclude_job],
        )
        here = {j["id"] for j in jobs}
        row = self._one("SELECT history FROM customers WHERE id = ?", [customer_id])
        try:
            from_hq = json.loads((row or {}).get("history") or "[]")
        except ValueError:
            from_hq = []
        keys = ("ref", "kind", "status", "summary", "created_at", "closed_at", "outcome", "rating")
        for j in from_hq if isinstance(from_hq, list) else []:
            if isinstance(j, dict) and j.get("id") not in here and j.get("id") != exclude_job:
                here.add(j.get("id"))
                jobs.append({"id": j.get("id"), **{k: j.get(k) for k in keys}})
        jobs.sort(key=lambda j: str(j["created_at"] or ""), reverse=True)
        appliances = self._all(
            "SELECT * FROM appliances WHERE customer_id = ? ORDER BY installed_on", [customer_id]
        )
        return cast("CustomerFile", {"jobs": jobs, "appliances": appliances})

    def queue(
        self,
        flt: QueueFilter = QueueFilter(),
        *,
        after: QueueCursor | None = None,
        limit: int = 50,
    ) -> list[QueueRow]:
        """One window of the queue in priority, SLA, appointment order (keyset pagination).

        `after` is the `cursor` of the last row already shown; the next rows follow it.
        A text search walks the full-text matches in queue order (their rowid is the queue
        key), so it stops after `limit` rows however many jobs match.
        """
        where: list[str] = []
        params: list[Any] = []
        q = fts_query(flt.text) if flt.text else None
        if flt.open_only:
            where.append("j.open = 1")
        if flt.technician_id:
            where.append("j.technician_id = ?")
            params.append(flt.technician_id)
        if flt.status:
            where.append("j.status = ?")
            params.append(flt.status)
        if flt.kind:
            where.append("j.kind = ?")
            params.append(flt.kind)
        if flt.priority:
            where.append("j.priority = ?")
            params.append(flt.priority)
        if q:
            if after is not None:
                where.append("f.rowid > ?")
                params.append(after[0])
            sql = (
                # CROSS JOIN keeps the text index outermost, walking its matches in queue
                # order so LIMIT stops the walk; each finds its job by the key (m010).
                QUEUE_SQL.replace(
                    "FROM jobs j", "FROM jobs_fts f CROSS JOIN jobs j ON j.search_key = f.rowid"
                )
                + " WHERE jobs_fts MATCH ?"
                + "".join(f" AND {w}" for w in where)
                + " ORDER BY f.rowid LIMIT ?"
            )
            rows = self._all(sql, [q, *params, limit])
            for r in rows:
                r["cursor"] = (r["search_key"],)
            return cast("list[QueueRow]", rows)
        if after is not None:
            where.append("(j.priority_rank, j.sla_due, j.window_start, j.id) > (?, ?, ?, ?)")
            params.extend(after)
        sql = QUEUE_SQL + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY j.priority_rank, j.sla_due, j.window_start, j.id LIMIT ?"
        params.append(limit)
        rows = self._all(sql, params)
        for r in rows:
            r["cursor"] = (r["priority_rank"], r["sla_due"], r["window_start"], r["id"])
        return cast("list[QueueRow]", rows)

    def count_jobs(self, flt: QueueFilter = QueueFilter()) -> int:
        where: list[str] = []
        params: list[Any] = []
        if flt.open_only:
            where.append("open = 1")
        if flt.technician_id:
            where.append("technician_id = ?")
            params.append(flt.technician_id)
        for col in ("status", "kind", "priority"):
            if getattr(flt, col):
                where.append(f"{col} = ?")
                params.append(getattr(flt, col))
        if flt.text and (q := fts_query(flt.text)):
            where.append("id IN (SELECT job_id FROM jobs_fts WHERE jobs_fts MATCH ?)")
            params.append(q)
        sql = "SELECT count(*) FROM jobs" + (" WHERE " + " AND ".join(where) if where else "")
        return int(self.db.execute(sql, params).fetchone()[0])

    def next_job_ref(self, prefix: str) -> str:
        row = self.db.execute(
            "SELECT count(*) FROM jobs WHERE ref LIKE ?", [prefix + "%"]
        ).fetchone()
        return f"{prefix}{row[0] + 1:04d}"

    # -- helpers ----------------------------------------------------------------------
    def _one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        cur = self.db.execute(sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([d[0] for d in cur.description], row, strict=True))

    def _all(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

"""Rows arriving from HQ: applied under the shared merge rules, never through the outbox."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fieldtech.domain.jobs import Status
from fieldtech.domain.merge import lww, newer

if TYPE_CHECKING:
    import sqlite_utils

# Tables whose rows HQ alone writes: the newest copy simply replaces the old.
HQ_OWNED = {"customers": "id", "sites": "id", "appliances": "id", "parts": "sku"}
# Append-only histories: merge by union of ids.
HISTORIES = ("job_events", "readings", "stock_ledger", "conflicts")


class SyncRows:
    db: sqlite_utils.Database

    def _columns(self, table: str) -> set[str]:
        cache = self.__dict__.setdefault("_column_cache", {})
        if table not in cache:
            cache[table] = {c.name for c in self.db[table].columns}
        return cache[table]

    def _fit(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        cols = self._columns(table)
        return {k: v for k, v in row.items() if k in cols}

    def put_owned(self, table: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.db[table].upsert_all([self._fit(table, r) for r in rows], pk=HQ_OWNED[table])

    def add_history(self, table: str, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        before = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        self.db[table].insert_all([self._fit(table, r) for r in rows], ignore=True)
        return self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before

    def merge_jobs(self, rows: list[dict[str, Any]]) -> list[str]:
        """Merge jobs from HQ field by field (last writer wins by clock stamp)."""
        changed: list[str] = []
        fresh: list[dict[str, Any]] = []
        for incoming in rows:
            incoming = self._fit("jobs", incoming)
            theirs = json.loads(incoming.get("stamps") or "{}")
            local = self.db.execute("SELECT * FROM jobs WHERE id = ?", [incoming["id"]]).fetchone()
            if local is None:
                incoming["open"] = int(Status(incoming["status"]).is_open)
                fresh.append(incoming)
                changed.append(incoming["id"])
                continue
            cols = [d[0] for d in self.db.execute("SELECT * FROM jobs LIMIT 0").description]
            current = dict(zip(cols, local, strict=True))
            mine = json.loads(current["stamps"] or "{}")
            updates: dict[str, Any] = {}
            merged_stamps = dict(mine)
            for name, value in incoming.items():
                if name in ("id", "stamps") or current.get(name) == value:
                    continue
                their_stamp = theirs.get(name)
                if their_stamp is None:
                    # A field HQ never stamped (set at creation): take it unless ours is stamped.
                    if name not in mine:
                        updates[name] = value
                    continue
                won, merged_stamps = lww(
                    {name: current.get(name)}, merged_stamps, {name: value}, their_stamp
                )
                updates.update(won)
            for name, stamp in theirs.items():
                if newer(stamp, merged_stamps.get(name)):
                    merged_stamps[name] = stamp
            if updates or merged_stamps != mine:
                if "status" in updates:
                    updates["open"] = int(Status(updates["status"]).is_open)
                updates["stamps"] = json.dumps(merged_stamps, sort_keys=True)
                sets = ", ".join(f"{k} = ?" for k in updates)
                self.db.execute(
                    f"UPDATE jobs SET {sets} WHERE id = ?", [*updates.values(), incoming["id"]]
                )
                changed.append(incoming["id"])
        if fresh:
            self.db["jobs"].insert_all(fresh, pk="id", replace=True)
        return changed

    def merge_requests(self, rows: list[dict[str, Any]]) -> None:
        for incoming in rows:
            incoming = self._fit("part_requests", incoming)
            local = self.db.execute(
                "SELECT hlc FROM part_requests WHERE id = ?", [incoming["id"]]
            ).fetchone()
            if local is None or newer(incoming["hlc"], local[0]) or incoming["hlc"] == local[0]:
                self.db["part_requests"].upsert(incoming, pk="id")

    def refresh_search(self, job_ids: list[str]) -> None:
        from fieldtech.store.jobs import SEARCH_INSERT

        if len(job_ids) > 2000:
            self.rebuild_job_search()
            return
        for i in range(0, len(job_ids), 500):
            chunk = job_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM jobs_fts WHERE job_id IN ({marks})", chunk)
            self.db.execute(SEARCH_INSERT + f" WHERE j.id IN ({marks})", chunk)

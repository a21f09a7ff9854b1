"""Rows arriving from HQ: applied under the shared merge rules, never through the outbox."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from fieldtech.domain.jobs import Status, with_code_hashed
from fieldtech.domain.merge import lww, newer

if TYPE_CHECKING:
    from fieldtech.store.database import Database

# Tables whose rows HQ alone writes: the newest copy simply replaces the old.
HQ_OWNED = {
    "users": "id",
    "customers": "id",
    "sites": "id",
    "appliances": "id",
    "parts": "sku",
}
# Tables a store may be filled with before any sync (the demo), by their keys.
SEEDED_KEYS = {**HQ_OWNED, "jobs": "id", "stock_ledger": "id"}
# Append-only histories: merge by union of ids.
HISTORIES = ("job_events", "readings", "stock_ledger", "conflicts", "callbacks")

# A device holds part of HQ: a pulled row may name a row this device does not have, for a
# while (its parent comes in a later page) or for good (the parent is in someone else's
# scope: the survey a colleague did before this install was handed over). Such a reference
# must never break applying the page. What each reference becomes when its target is absent:
#   stand_in: a placeholder parent, replaced when HQ's row arrives. The job must show and be
#             workable in the field even before its customer file is complete.
#   clear:    NULL. The target is context the device can do without (the parent job is
#             another technician's; a part was used on a job this device cannot see); the
#             row itself still counts (a ledger line keeps the van's stock right).
#   drop:     the row goes (history of a job this device does not hold cannot be shown).
# A reference not listed: clear when the column may be NULL, else drop.
DANGLING = {
    ("jobs", "customer_id"): "stand_in",
    ("jobs", "site_id"): "stand_in",
    ("jobs", "appliance_id"): "stand_in",
    ("jobs", "parent_job_id"): "clear",
    ("sites", "customer_id"): "stand_in",
    ("appliances", "customer_id"): "stand_in",
    ("appliances", "site_id"): "clear",
    ("stock_ledger", "job_id"): "clear",
    ("stock_ledger", "sku"): "stand_in",
    ("part_requests", "job_id"): "clear",
    ("part_requests", "sku"): "stand_in",
}
NOT_YET = "(not yet received from HQ)"


class SyncRows:
    db: Database

    if TYPE_CHECKING:  # JobRows's, beside this one in Store

        def rebuild_job_search(self) -> None: ...

    def _columns(self, table: str) -> set[str]:
        cache: dict[str, set[str]] = self.__dict__.setdefault("_column_cache", {})
        if table not in cache:
            cache[table] = {c.name for c in self.db[table].columns}
        return cache[table]

    def _fit(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        cols = self._columns(table)
        return {k: v for k, v in row.items() if k in cols}

    def defer_references(self) -> None:
        """Check references at commit, not per statement, for the rest of the caller's
        transaction: a page may hold a job before the customer it names."""
        self.db.execute("PRAGMA defer_foreign_keys = ON")

    def _write(self, table: str, rows: list[dict[str, Any]], conflict: str) -> None:
        """Write `rows` (fitted to the table) with one statement per set of columns:
        `conflict` is "ignore", "replace", or "update" (an upsert on the table's key that
        keeps columns the rows do not carry). A list or mapping goes in as JSON, as the
        table helpers store it. Pages of a priming are tens of thousands of rows: sqlite-
        utils' per-row building was a third of applying them."""
        by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:  # the rows of a block share their columns: fitted once a set
            by_cols.setdefault(tuple(row), []).append(row)
        known = self._columns(table)
        pk = HQ_OWNED.get(table, "id")
        for given, same in by_cols.items():
            cols = tuple(c for c in given if c in known)
            values = [
                [
                    json.dumps(v, ensure_ascii=False) if type(v) in (list, dict, tuple) else v
                    for v in (r[c] for c in cols)
                ]
                for r in same
            ]
            names = ", ".join(f'"{c}"' for c in cols)
            marks = ", ".join("?" * len(cols))
            verb = {"ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE"}.get(
                conflict, "INSERT"
            )
            sql = f"{verb} INTO {table} ({names}) VALUES ({marks})"
            if conflict == "update":
                sets = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c != pk)
                sql += f' ON CONFLICT("{pk}") DO ' + (f"UPDATE SET {sets}" if sets else "NOTHING")
            self.db.conn.executemany(sql, values)

    def add_absent(self, table: str, rows: list[dict[str, Any]], *, batch: int = 100) -> None:
        """Rows as HQ would send them, written only where this file holds none with their
        key: loading the same rows twice changes nothing (the demo's seed)."""
        self.db[table].insert_all(rows, pk=SEEDED_KEYS[table], ignore=True, batch_size=batch)

    def put_owned(self, table: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            self._write(table, rows, "update")

    def add_history(self, table: str, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        before = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        self._write(table, rows, "ignore")
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] - before)

    def pending_job_ids(self) -> set[str]:
        return {
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT entity_id FROM outbox WHERE state = 'pending' AND entity = 'job'"
            )
        }

    def merge_jobs(self, rows: list[dict[str, Any]]) -> list[str]:
        """Take HQ's jobs. HQ has applied every operation it acknowledged, so its row is the
        truth, except for fields this device changed in operations HQ has not seen yet:
        those merge last-writer-wins by stamp, so local work in flight is not undone."""
        changed: list[str] = []
        fresh: list[dict[str, Any]] = []
        pending = self.pending_job_ids()
        held = self._jobs_held([r["id"] for r in rows])
        for incoming in rows:
            # An HQ that still sends the customer's code: kept as its hash, never as is.
            incoming = self._fit("jobs", with_code_hashed(incoming))
            current = held.get(incoming["id"])
            if current is None:
                incoming["open"] = int(Status(incoming["status"]).is_open)
                fresh.append(incoming)
                changed.append(incoming["id"])
                continue
            if incoming["id"] in pending:
                updates = self._lww_job(current, incoming)
            else:
                updates = {k: v for k, v in incoming.items() if k != "id" and current.get(k) != v}
            if updates:
                status = updates.get("status", current["status"])
                updates["open"] = int(Status(cast(str, status)).is_open)
                sets = ", ".join(f"{k} = ?" for k in updates)
                self.db.execute(
                    f"UPDATE jobs SET {sets} WHERE id = ?", [*updates.values(), incoming["id"]]
                )
                changed.append(incoming["id"])
        if fresh:
            self._write("jobs", fresh, "replace")
        return changed

    def _jobs_held(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        """This file's rows of the jobs `ids`, by id (read a few hundred at a time)."""
        held: dict[str, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            cur = self.db.execute(
                f"SELECT * FROM jobs WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
            cols = [d[0] for d in cur.description]
            for row in cur:
                job = dict(zip(cols, row, strict=True))
                held[job["id"]] = job
        return held

    def search_later(self, job_ids: list[str]) -> None:
        """Note jobs whose search text HQ changed; `index_waiting` indexes them. A stream of
        pages indexes once at its end: refreshed page by page, the text index was a third
        of applying a priming (a new index segment each commit, merged as it grew)."""
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO search_waiting (job_id) VALUES (?)", [(i,) for i in job_ids]
        )

    def index_waiting(self) -> int:
        """Index the jobs `search_later` noted (caller's transaction). Returns how many."""
        ids = [r[0] for r in self.db.execute("SELECT job_id FROM search_waiting")]
        if ids:
            self.refresh_search(ids)
            self.db.execute("DELETE FROM search_waiting")
        return len(ids)

    @staticmethod
    def _lww_job(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
        mine = json.loads(current["stamps"] or "{}")
        theirs = json.loads(incoming.get("stamps") or "{}")
        merged = dict(mine)
        updates: dict[str, Any] = {}
        for name, value in incoming.items():
            if name in ("id", "stamps") or current.get(name) == value:
                continue
            their_stamp = theirs.get(name)
            if their_stamp is None:
                if name not in mine:  # neither side stamped it: HQ's creation value
                    updates[name] = value
                continue
            won, merged = lww({name: current.get(name)}, merged, {name: value}, their_stamp)
            updates.update(won)
        for name, stamp in theirs.items():
            if newer(stamp, merged.get(name)):
                merged[name] = stamp
        if merged != mine:
            updates["stamps"] = json.dumps(merged, sort_keys=True)
        return updates

    def merge_requests(self, rows: list[dict[str, Any]]) -> None:
        """HQ's copy wins unless this device has a step for it that HQ has not seen yet."""
        pending = {
            r[0]
            for r in self.db.execute(
                "SELECT DISTINCT entity_id FROM outbox WHERE state = 'pending' "
                "AND entity = 'part_request'"
            )
        }
        for incoming in rows:
            incoming = self._fit("part_requests", incoming)
            local = self.db.execute(
                "SELECT hlc FROM part_requests WHERE id = ?", [incoming["id"]]
            ).fetchone()
            if (
                local is None
                or incoming["id"] not in pending
                or not newer(local[0], incoming["hlc"])
            ):
                self.db["part_requests"].upsert(incoming, pk="id")

    def refresh_search(self, job_ids: list[str]) -> None:
        from fieldtech.store.jobs import SEARCH_INSERT
        from fieldtech.store.migrations import QUEUE_KEY_SQL

        if len(job_ids) > 2000:
            self.rebuild_job_search()
            return
        for i in range(0, len(job_ids), 500):
            chunk = job_ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            self.db.execute(
                f"DELETE FROM jobs_fts WHERE rowid IN (SELECT search_key FROM jobs "
                f"WHERE id IN ({marks}) AND search_key IS NOT NULL)",
                chunk,
            )
            self.db.execute(
                f"UPDATE jobs AS j SET search_key = {QUEUE_KEY_SQL} WHERE id IN ({marks})", chunk
            )
            self.db.execute(SEARCH_INSERT + f" WHERE j.id IN ({marks})", chunk)

    def settle_references(self, applied: dict[str, list[Any]]) -> dict[str, int]:
        """After a pulled page is applied (foreign keys deferred), resolve every reference of
        its rows (`applied`: table -> keys) to a row this device lacks, as DANGLING says.
        Checks only the page's rows, so its cost follows the page, not the file."""
        done = {"stand_in": 0, "clear": 0, "drop": 0}
        for table in ("jobs", "sites", "appliances", *HISTORIES, "part_requests"):
            keys = applied.get(table)
            if not keys:
                continue
            pk = "sku" if table == "parts" else "id"
            notnull = {r[1]: bool(r[3]) for r in self.db.execute(f"PRAGMA table_info({table})")}
            for fk in self.db.execute(f"PRAGMA foreign_key_list({table})").fetchall():
                parent, col, to = fk[2], fk[3], fk[4] or "id"
                for i in range(0, len(keys), 500):
                    chunk = list(keys[i : i + 500])
                    marks = ",".join("?" * len(chunk))
                    found = self.db.execute(
                        f"SELECT * FROM {table} AS c WHERE c.{pk} IN ({marks}) "
                        f"AND c.{col} IS NOT NULL AND NOT EXISTS "
                        f"(SELECT 1 FROM {parent} AS p WHERE p.{to} = c.{col})",
                        chunk,
                    )
                    cols = [d[0] for d in found.description]
                    for row in [dict(zip(cols, r, strict=True)) for r in found.fetchall()]:
                        how = DANGLING.get((table, col)) or (
                            "drop" if notnull.get(col) else "clear"
                        )
                        if how == "stand_in" and self._stand_in(parent, row[col], row):
                            pass
                        elif how == "drop" or (how == "stand_in" and notnull.get(col)):
                            how = "drop"
                            self.db.execute(f"DELETE FROM {table} WHERE {pk} = ?", [row[pk]])
                        else:
                            how = "clear"
                            self.db.execute(
                                f"UPDATE {table} SET {col} = NULL WHERE {pk} = ?", [row[pk]]
                            )
                        done[how] += 1
        return done

    def _stand_in(self, table: str, key: Any, child: dict[str, Any]) -> bool:
        """A placeholder for the row `key` of `table` that `child` names, parents first.
        False when this table has no placeholder."""
        if table == "customers":
            row = {"id": key, "name": NOT_YET}
        elif table == "parts":
            row = {"sku": key, "name": f"{key} {NOT_YET}"}
        elif table in ("sites", "appliances") and child.get("customer_id"):
            self._stand_in("customers", child["customer_id"], {})
            if table == "sites":
                row = {"id": key, "customer_id": child["customer_id"], "address": NOT_YET}
            else:
                row = {"id": key, "customer_id": child["customer_id"], "category": "unknown"}
        else:
            return False
        pk = "sku" if table == "parts" else "id"
        exists = self.db.execute(f"SELECT 1 FROM {table} WHERE {pk} = ?", [key]).fetchone()
        if not exists:
            self.db[table].insert(row, pk=pk)
        return True

    def holders(self, rows: list[dict[str, Any]]) -> dict[str, str | None]:
        """Who holds each of these jobs on this device now, before HQ's rows are applied."""
        ids = [r["id"] for r in rows if "technician_id" in r]
        out: dict[str, str | None] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for job_id, tech in self.db.execute(
                f"SELECT id, technician_id FROM jobs WHERE id IN ({marks})", chunk
            ):
                out[job_id] = tech
        return out

    def note_reassignments(
        self, before: dict[str, str | None], me: str | None, unsent: set[str], now: str
    ) -> list[dict[str, Any]]:
        """Jobs HQ moved from this technician to someone else: a notice each, kept in the
        store (notices) and returned for the sync summary. `unsent`: jobs this device had
        work on that HQ had not seen when the answer came (that work is kept and sent; HQ
        records the conflict, which comes back to this device)."""
        from fieldtech.domain.ids import new_id
        from fieldtech.domain.ops import stamp_time

        if not me:
            return []
        told = []
        for job_id, was in before.items():
            job = self.db.execute(
                "SELECT ref, technician_id, stamps, updated_at FROM jobs WHERE id = ?", [job_id]
            ).fetchone()
            if job is None or was != me or job[1] in (None, me):
                continue
            ref, to_id, stamps, updated = job
            event = self.db.execute(
                "SELECT body, at FROM job_events WHERE job_id = ? AND kind = 'assigned' "
                "ORDER BY hlc DESC LIMIT 1",
                [job_id],
            ).fetchone()
            name = self.db.execute("SELECT name FROM users WHERE id = ?", [to_id]).fetchone()
            who = name[0] if name else to_id
            if name is None and event and str(event[0] or "").startswith("assigned to "):
                who = str(event[0])[len("assigned to ") :]
            stamp = json.loads(stamps or "{}").get("technician_id")
            at = event[1] if event else (stamp_time(stamp) if stamp else updated)
            notice = {
                "id": new_id(),
                "kind": "reassigned",
                "job_id": job_id,
                "ref": ref,
                "who": who,
                "who_id": to_id,
                "at": at,
                "work_kept": int(job_id in unsent),
                "created_at": now,
                "seen": 0,
            }
            self.db["notices"].insert(notice, pk="id")
            told.append({"ref": ref, "to": who, "at": at, "work_kept": bool(notice["work_kept"])})
        return told

"""The outbox (operations waiting for HQ's acknowledgement) and conflicts seen by sync."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from fieldtech.store.database import Database
    from fieldtech.store.rows import Conflict, Notice


OUTBOX_COLS = (
    "id",
    "hlc",
    "device_id",
    "op",
    "entity",
    "entity_id",
    "payload",
    "priority",
    "created_at",
    "state",
    "reason",
    "attempts",
)


class OutboxRows:
    db: Database

    if TYPE_CHECKING:  # AttachmentRows, beside this in Store

        def forget_unnamed(self, sha256: str) -> None: ...

    def append_outbox(self, row: dict[str, Any]) -> None:
        row = dict(row)
        row["payload"] = json.dumps(row["payload"], separators=(",", ":"), sort_keys=True)
        self.db.execute(
            "INSERT INTO outbox (id, hlc, device_id, op, entity, entity_id, payload, priority, "
            "created_at) VALUES (:id, :hlc, :device_id, :op, :entity, :entity_id, :payload, "
            ":priority, :created_at)",
            row,
        )

    def outbox(self, state: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Operations in the order they go out: most urgent first, then as they happened."""
        sql = "SELECT * FROM outbox"
        params: list[Any] = []
        if state:
            sql += " WHERE state = ?"
            params.append(state)
        sql += " ORDER BY priority, id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        out = []
        for r in cur.fetchall():
            row = dict(zip(cols, r, strict=True))
            row["payload"] = json.loads(row["payload"])
            out.append(row)
        return out

    def outbox_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())

    def outbox_by_op(self) -> dict[str, int]:
        return dict(
            self.db.execute(
                "SELECT op, count(*) FROM outbox WHERE state = 'pending' GROUP BY op ORDER BY op"
            ).fetchall()
        )

    def forget_acknowledged(self, ids: list[str]) -> None:
        self.db.execute(
            f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(ids))})", ids
        ) if ids else None

    def restore_outbox(self, rows: list[dict[str, Any]]) -> None:
        """Put back entries salvaged from a damaged file, as they were (ids, stamps, state)."""
        cols = OUTBOX_COLS
        for op in rows:
            row = {c: op.get(c) for c in cols}
            row["state"] = row["state"] or "pending"
            row["attempts"] = row["attempts"] or 0
            row["priority"] = 5 if row["priority"] is None else row["priority"]
            self.db.execute(
                f"INSERT OR IGNORE INTO outbox ({', '.join(cols)}) "
                f"VALUES ({', '.join(':' + c for c in cols)})",
                row,
            )

    def park_rejected(self, op_id: str, reason: str) -> None:
        self.db.execute(
            "UPDATE outbox SET state = 'rejected', reason = ? WHERE id = ?", [reason, op_id]
        )
        # What HQ refused did not happen: the history rows the operation added here go (the
        # outbox keeps the operation and the reason, for the person to see). The rows it
        # changed come back from HQ, which sends its own copy after a refusal.
        for table in ("job_events", "readings", "stock_ledger"):
            self.db.execute(f"DELETE FROM {table} WHERE id = ?", [op_id])
        for table, op in (
            ("callbacks", "callback.record"),
            ("part_requests", "part_request.create"),
        ):
            self.db.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT entity_id FROM outbox "
                "WHERE id = ? AND op = ?)",
                [op_id, op],
            )
        self._attachment_refused(op_id)

    def _attachment_refused(self, op_id: str) -> None:
        """A refused attachment.add: its reference goes, and its upload and bytes with it
        unless another attachment here names the same file."""
        row = self.db.execute(
            "SELECT sha256, original_sha256 FROM attachments WHERE id = ?", [op_id]
        ).fetchone()
        if row is None:
            return
        self.db.execute("DELETE FROM attachments WHERE id = ?", [op_id])
        for sha in (s for s in row if s):
            named = self.db.execute(
                "SELECT 1 FROM attachments WHERE sha256 = ? OR original_sha256 = ? LIMIT 1",
                [sha, sha],
            ).fetchone()
            if named is None:
                self.db.execute("DELETE FROM uploads WHERE sha256 = ?", [sha])
                self.forget_unnamed(sha)

    def add_conflict(self, row: dict[str, Any]) -> None:
        self.db["conflicts"].insert(row, pk="id", replace=True)

    def count_conflicts(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM conflicts").fetchone()[0])

    def conflicts(self, entity_id: str | None = None) -> list[Conflict]:
        sql = "SELECT * FROM conflicts"
        params: list[Any] = []
        if entity_id:
            sql += " WHERE entity_id = ?"
            params.append(entity_id)
        cur = self.db.execute(sql + " ORDER BY detected_at, id", params)
        cols = [d[0] for d in cur.description]
        return cast("list[Conflict]", [dict(zip(cols, r, strict=True)) for r in cur.fetchall()])

    def notices(self, *, unseen: bool = False) -> list[Notice]:
        """What sync told this person (a job reassigned away), newest first."""
        sql = "SELECT * FROM notices" + (" WHERE seen = 0" if unseen else "")
        cur = self.db.execute(sql + " ORDER BY created_at DESC, id DESC")
        cols = [d[0] for d in cur.description]
        return cast("list[Notice]", [dict(zip(cols, r, strict=True)) for r in cur.fetchall()])

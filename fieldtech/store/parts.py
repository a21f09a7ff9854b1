"""Rows for the parts catalogue, the van-stock ledger and part requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from fieldtech.domain.errors import NotFound
from fieldtech.domain.parts import SIGN

if TYPE_CHECKING:
    import sqlite3

    from fieldtech.store.database import Database
    from fieldtech.store.rows import (
        LedgerLine,
        PartRequestLine,
        PartRequestRow,
        PartRow,
        VanStockLine,
    )

# Van stock is a sum over the ledger; the sign of each movement lives in the domain.
_SIGNED = "CASE kind " + " ".join(f"WHEN '{k.value}' THEN {v}" for k, v in SIGN.items()) + " END"


class PartRows:
    db: Database

    def put_parts(self, rows: list[dict[str, Any]]) -> None:
        self.db["parts"].upsert_all(rows, pk="sku")

    def part(self, sku_or_barcode: str) -> PartRow:
        code = sku_or_barcode.strip()
        cur = self.db.execute(
            "SELECT * FROM parts WHERE sku = ? COLLATE NOCASE OR barcode = ? LIMIT 1", [code, code]
        )
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"no part {code!r} in the catalogue")
        return cast("PartRow", dict(zip([d[0] for d in cur.description], row, strict=True)))

    def catalog(self, text: str | None = None, limit: int = 50) -> list[PartRow]:
        from fieldtech.store.jobs import fts_query

        if text and (q := fts_query(text)):
            sql = (
                "SELECT p.* FROM parts p JOIN parts_fts f ON f.rowid = p.rowid "
                "WHERE parts_fts MATCH ? ORDER BY p.sku LIMIT ?"
            )
            cur = self.db.execute(sql, [q, limit])
        else:
            cur = self.db.execute("SELECT * FROM parts ORDER BY sku LIMIT ?", [limit])
        return cast("list[PartRow]", _rows(cur))

    def add_movement(self, row: dict[str, Any]) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO stock_ledger (id, sku, kind, qty, job_id, request_id, reason, "
            "override, actor, hlc, at) VALUES (:id, :sku, :kind, :qty, :job_id, :request_id, "
            ":reason, :override, :actor, :hlc, :at)",
            {
                "job_id": None,
                "request_id": None,
                "reason": None,
                "override": 0,
                "actor": None,
                **row,
            },
        )
        return cur.rowcount == 1

    def on_hand(self, sku: str) -> int:
        row = self.db.execute(
            f"SELECT coalesce(sum({_SIGNED} * qty), 0) FROM stock_ledger WHERE sku = ?", [sku]
        ).fetchone()
        return int(row[0])

    def van_stock(self) -> list[VanStockLine]:
        cur = self.db.execute(
            f"SELECT p.sku, p.name, p.unit, sum({_SIGNED} * l.qty) AS on_hand "
            "FROM stock_ledger l JOIN parts p ON p.sku = l.sku GROUP BY p.sku ORDER BY p.sku"
        )
        return cast("list[VanStockLine]", _rows(cur))

    def ledger(self, sku: str | None = None, job_id: str | None = None) -> list[LedgerLine]:
        where, params = [], []
        if sku:
            where.append("l.sku = ?")
            params.append(sku)
        if job_id:
            where.append("l.job_id = ?")
            params.append(job_id)
        sql = "SELECT l.*, p.name FROM stock_ledger l JOIN parts p ON p.sku = l.sku"
        if where:
            sql += " WHERE " + " AND ".join(where)
        cur = self.db.execute(sql + " ORDER BY l.hlc, l.id", params)
        return cast("list[LedgerLine]", _rows(cur))

    def put_request(self, row: dict[str, Any]) -> None:
        self.db["part_requests"].upsert(row, pk="id")

    def part_request(self, request_id: str) -> PartRequestRow:
        if len(request_id) > 36:  # no id is longer; a longer LIKE pattern is an SQLite error
            raise NotFound(f"no part request {request_id[:40]!r}… on this device")
        cur = self.db.execute(
            "SELECT * FROM part_requests WHERE id = ? OR replace(id, '-', '') LIKE ?",
            [request_id, "%" + request_id.replace("-", "").lower()],
        )
        rows = cur.fetchall()
        if len(rows) != 1:
            raise NotFound(f"no part request {request_id!r} on this device")
        row = dict(zip([d[0] for d in cur.description], rows[0], strict=True))
        return cast("PartRequestRow", row)

    def part_requests(self, job_id: str | None = None) -> list[PartRequestLine]:
        sql = "SELECT r.*, p.name FROM part_requests r JOIN parts p ON p.sku = r.sku"
        params: list[Any] = []
        if job_id:
            sql += " WHERE r.job_id = ?"
            params.append(job_id)
        cur = self.db.execute(sql + " ORDER BY r.created_at, r.id", params)
        return cast("list[PartRequestLine]", _rows(cur))


def _rows(cur: sqlite3.Cursor) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

"""Dialect-aware row writes: insert-if-absent (union merges) and upsert."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table):
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_absent(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """Insert unless a row with the same key exists. True when inserted."""
    stmt = _insert(conn, table).values(**row).on_conflict_do_nothing()
    return conn.execute(stmt).rowcount == 1


def upsert(conn: Connection, table: Table, row: dict[str, Any], keys: list[str]) -> None:
    stmt = _insert(conn, table).values(**row)
    changes = {k: stmt.excluded[k] for k in row if k not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changes))


def only_columns(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    cols = table.c.keys()
    return {k: v for k, v in row.items() if k in cols}

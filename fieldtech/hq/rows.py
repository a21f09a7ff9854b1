"""Dialect-aware row writes: insert-if-absent (union merges) and upsert."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

# The two dialects' INSERTs, each with ON CONFLICT.
_Insert = postgresql.Insert | sqlite.Insert


def _insert(conn: Connection, table: Table) -> _Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@functools.cache
def _absent(dialect: str, table: Table) -> _Insert:
    ins = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return ins.on_conflict_do_nothing()


def insert_absent(conn: Connection, table: Table, row: dict[str, Any]) -> bool:
    """Insert unless a row with the same key exists. True when inserted.

    The statement is built once per table; values travel as parameters (cheap to run)."""
    return conn.execute(_absent(conn.dialect.name, table), row).rowcount == 1


def upsert(conn: Connection, table: Table, row: dict[str, Any], keys: list[str]) -> None:
    stmt = _insert(conn, table).values(**row)
    changes = {k: stmt.excluded[k] for k in row if k not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changes))


def only_columns(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    cols = table.c.keys()
    return {k: v for k, v in row.items() if k in cols}

"""The device file's connection, with sqlite-utils' table helpers loaded on first use.

Importing sqlite-utils costs ~0.13 s, a quarter of the app's start-up beyond Textual's own,
and the queue's first frame needs none of it: reads are plain SQL. Table helpers
(`db["jobs"].upsert_all(...)`, `enable_fts`, ...) come from a sqlite-utils `Database` over
the same connection, created the first time one is asked for.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator
from typing import Any, cast

# Savepoint names: unique among the nested ones of a process. (`secrets` would import hmac
# and hashlib, OpenSSL's digests, ~0.6 MiB and ~2 ms at every start, for a name.)
_savepoints = itertools.count()


class Database:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._utils: Any = None
        # What sqlite-utils would set at once: FTS triggers rely on it for replaces.
        conn.execute("PRAGMA recursive_triggers = on")

    @property
    def utils(self) -> Any:
        if self._utils is None:
            import sqlite_utils

            self._utils = sqlite_utils.Database(self.conn, execute_plugins=False)
        return self._utils

    def execute(self, sql: str, parameters: Any = None) -> sqlite3.Cursor:
        was_in_transaction = self.conn.in_transaction
        try:
            if parameters is None:
                return self.conn.execute(sql)
            return self.conn.execute(sql, parameters)
        except Exception:
            if not was_in_transaction and self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def executescript(self, sql: str) -> sqlite3.Cursor:
        return cast(sqlite3.Cursor, self.utils.executescript(sql))

    @contextlib.contextmanager
    def atomic(self) -> Iterator[Database]:
        """A transaction; nested blocks are savepoints (as sqlite-utils' `atomic`)."""
        conn = self.conn
        if conn.in_transaction:
            name = f"ft_{next(_savepoints)}"
            conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if conn.in_transaction:
                    conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.conn.close()

    def __getitem__(self, table: str) -> Any:
        return self.utils[table]

    def __getattr__(self, name: str) -> Any:  # anything else sqlite-utils offers
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.utils, name)

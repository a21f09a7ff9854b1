"""The HQ database: engine, transactions, the sequence counter and HQ's clock."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import ColumnDefault, Connection, Engine, create_engine, event, select, update
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.hlc import Clock
from fieldtech.hq import schema
from fieldtech.hq.files import DiskFiles, FileStore

SEQ_BLOCK = 256


class HQDatabaseError(FieldtechError):
    pass


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def files_beside(url: str) -> Path | None:
    """HQ's attachments folder beside its SQLite file (`hq-files`); None for a server."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    return Path(path).parent / "hq-files" if path and path != ":memory:" else None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, poolclass=NullPool, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
            # Take over transaction control so SAVEPOINT works and writers queue up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class HQ:
    """One HQ: the database plus HQ's hybrid clock. Holds no other state, so several
    processes can serve the same database."""

    def __init__(self, engine: Engine, node: str = "hq", files: FileStore | None = None):
        self.engine = engine
        self.clock = Clock(node)
        self._clock_lock = threading.Lock()
        self.files = files  # attachments' bytes; None: this HQ was given nowhere to keep them

    @classmethod
    def open(cls, url: str, *, create: bool = True, files: Path | None = None) -> HQ:
        """`files`: the folder for attachments' bytes; by default, beside a SQLite file."""
        if files is None:
            files = files_beside(url)
        try:
            hq = cls(make_engine(url), files=DiskFiles(files) if files else None)
            if create:
                hq.create_schema()
            else:
                with hq.engine.connect() as conn:
                    conn.execute(select(schema.counters.c.value).limit(1))
        except FieldtechError:
            raise
        except Exception as exc:  # driver errors name the cause; keep it to one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HQDatabaseError(f"cannot open the HQ database: {first}") from None
        return hq

    def create_schema(self) -> None:
        schema.metadata.create_all(self.engine)
        self._add_new_columns()
        with self.tx() as conn:
            exists = conn.execute(
                select(schema.counters.c.value).where(schema.counters.c.name == "seq")
            ).first()
            if exists is None:
                conn.execute(schema.counters.insert().values(name="seq", value=0))

    def _add_new_columns(self) -> None:
        """Columns added to a table since a database was created, added to it (with their
        default), and indexes added since. Enough for additive changes; anything else needs a
        real migration."""
        from sqlalchemy import inspect

        with self.tx() as conn:
            found = inspect(conn)  # on this connection: SQLite has one writer at a time
            for table in schema.metadata.sorted_tables:
                have = {c["name"] for c in found.get_columns(table.name)}
                missing = [c for c in table.columns if c.name not in have]
                for col in missing:
                    kind = col.type.compile(dialect=self.engine.dialect)
                    # Only a ColumnDefault has a value for old rows (a Sequence has none).
                    default = col.default.arg if isinstance(col.default, ColumnDefault) else None
                    if isinstance(default, bool):
                        default = int(default)
                    sql = f"ALTER TABLE {table.name} ADD COLUMN {col.name} {kind}"
                    if default is not None and not callable(default):
                        sql += f" DEFAULT {default!r}" + ("" if col.nullable else " NOT NULL")
                    conn.exec_driver_sql(sql)
                for index in table.indexes:  # new columns' indexes, and new indexes
                    index.create(conn, checkfirst=True)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """One consistent view for a reader that runs several statements (a pull page).
        PostgreSQL's default gives each statement its own snapshot: a dispatch committing
        between the read of customers and the read of jobs would put the job on the page
        without its customer, and the cursor would pass the customer by for good."""
        with self.engine.connect() as conn:
            if self.is_postgres:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            yield conn

    def stamp(self) -> str:
        with self._clock_lock:
            return self.clock.now()

    def observe(self, remote: str) -> None:
        with self._clock_lock:
            self.clock.observe(remote)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"


class Seq:
    """Hands out `seq` numbers inside one transaction.

    The counter row stays locked from the first number until commit, so a transaction that
    got lower numbers always commits before one that got higher numbers: a reader never
    sees seq 12 committed while 11 is still in flight, and a cursor can never skip a change.
    """

    def __init__(self, conn: Connection):
        self.conn = conn
        self._next = 0
        self._last = -1

    def __call__(self) -> int:
        if self._next > self._last:
            c = schema.counters.c
            top = self.conn.execute(
                update(schema.counters)
                .where(c.name == "seq")
                .values(value=c.value + SEQ_BLOCK)
                .returning(c.value)
            ).scalar_one()
            self._next, self._last = top - SEQ_BLOCK + 1, top
        n = self._next
        self._next += 1
        return n

"""Telling waiting devices, in seconds, that something in their scope changed at HQ.

One watcher per HQ process serves every held `/v1/wait`. A waiting device costs a future
and a timer, nothing that runs: the watcher alone looks at the change feed, when this
process committed a write (a signal from the engine, after the commit) and once a second
in any case, so a write by another HQ process or by `fieldtech hq` commands is noticed
too. Only when the feed's newest `seq` moved past what a device was last checked to does
it ask, for that device, whether anything past there is in its scope: the same scope and
the same echo rule as the pull (fieldtech.hq.pull), so a wait says "changes" exactly
when a pull would bring something. A wait is only a hint; the pull stays the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    column,
    event,
    exists,
    false,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.pool import ConnectionPoolEntry
from starlette.concurrency import run_in_threadpool

from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.pull import ECHOED, ORDER, scope_where

log = logging.getLogger("fieldtech.hq")

WATCH_EVERY = 1.0  # seconds between two looks at the feed when nothing here wrote
MIN_GAP = 0.2  # at most five looks a second, however busy this process is with writes
WROTE = "fieldtech.wrote"  # a connection's flag, from its commit until it is handed back

Tops = dict[str, int]


def feed_tops(conn: Connection) -> Tops:
    """The newest `seq` of each table of the change feed, in one statement (each is one
    index lookup)."""
    columns = [
        select(schema.metadata.tables[name].c.seq)
        .order_by(schema.metadata.tables[name].c.seq.desc())
        .limit(1)
        .scalar_subquery()
        .label(name)
        for name in ORDER
    ]
    row = conn.execute(select(*columns)).one()
    return {name: int(value or 0) for name, value in zip(ORDER, row, strict=True)}


def changed_in_scope(
    conn: Connection, p: Principal, device_id: str | None, after: int, tables: Sequence[str]
) -> bool:
    """Whether any row of `tables` past `after` is one a pull would send this device (its
    own writes, as HQ took them, are not sent back to it)."""
    found: list[ColumnElement[bool]] = []
    for name in tables:
        t = schema.metadata.tables[name]
        where: list[ColumnElement[bool]] = [t.c.seq > after]
        scope = scope_where(name, p)
        if scope is not None:
            where.append(scope)
        if device_id and name in ECHOED:
            where.append(t.c.origin.is_distinct_from(device_id))
        found.append(exists().where(*where))
    if not found:
        return False
    return bool(conn.execute(select(or_(*found))).scalar())


def moved(tops: Tops, after: int) -> list[str]:
    return [name for name, top in tops.items() if top > after]


@dataclass(eq=False)
class Mark:
    """Whose scope, and up to which `seq` it has been found to have nothing new."""

    who: Principal
    device_id: str | None
    checked_to: int


@dataclass(eq=False)
class Waiting(Mark):
    """One held wait."""

    answer: asyncio.Future[bool] = field(repr=False)


M = TypeVar("M", bound=Mark)


class ChangeWatch:
    """The one watcher of an HQ process's waits. Lives on the server's event loop."""

    def __init__(self, hq: HQ, *, every: float = WATCH_EVERY, min_gap: float = MIN_GAP):
        self.hq = hq
        self.every = every
        self.min_gap = min_gap
        self.waiting: set[Waiting] = set()
        self.looks = 0  # how often the feed was read: what idle waits cost (benchmarks)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wrote: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._told = False  # a write was signalled and the loop has not taken it yet
        event.listen(hq.engine, "commit", _mark_written)
        event.listen(hq.engine, "checkin", self._handed_back)

    # -- the engine's side: any thread that commits --------------------------------------
    def _handed_back(self, _dbapi: Any, record: ConnectionPoolEntry | None) -> None:
        # Handed back after its commit: what it wrote is there for the watcher to read.
        if record is None or not record.info.pop(WROTE, False):
            return
        loop = self._loop
        if loop is None or not self.waiting or self._told:
            return
        self._told = True
        # A closed loop: the server has stopped, and nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._take_write)

    def _take_write(self) -> None:
        self._told = False
        if self._wrote is not None:
            self._wrote.set()

    # -- the server's side: the event loop ---------------------------------------------------
    async def wait(self, who: Principal, device_id: str | None, cursor: int, hold: float) -> bool:
        """True as soon as something in `who`'s scope changed past `cursor`; False when
        `hold` seconds pass first."""
        changed, mark = await self.look_now(who, device_id, cursor)
        if changed or hold <= 0:
            return changed
        return await self.hold(who, device_id, mark, hold)

    async def look_now(
        self, who: Principal, device_id: str | None, cursor: int
    ) -> tuple[bool, int]:
        """Whether something is there already, and the `seq` it was checked to."""
        return await run_in_threadpool(self._first_look, who, device_id, cursor)

    async def hold(self, who: Principal, device_id: str | None, mark: int, seconds: float) -> bool:
        """Wait until something past `mark` is in scope (True) or `seconds` pass (False).
        Cancelled (the device went away): it simply stops waiting."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._wrote, self._task = loop, asyncio.Event(), None
        waiting = Waiting(who, device_id, mark, loop.create_future())
        self.waiting.add(waiting)
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._watch(), name="fieldtech-change-watch")
        try:
            return await asyncio.wait_for(waiting.answer, seconds)
        except TimeoutError:
            return False
        finally:
            self.waiting.discard(waiting)

    def _first_look(self, who: Principal, device_id: str | None, cursor: int) -> tuple[bool, int]:
        with self.hq.snapshot() as conn:
            tops = feed_tops(conn)
            changed = bool(due_among(conn, [Mark(who, device_id, cursor)], tops))
            return changed, max(cursor, *tops.values())

    async def _watch(self) -> None:
        """Runs while anyone waits: sleeps until this process wrote or a second passed."""
        wrote = self._wrote
        assert wrote is not None  # set with the loop, before the first wait registers
        loop = asyncio.get_running_loop()
        due_at = loop.time() + self.every
        while self.waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wrote.wait(), max(0.0, due_at - loop.time()))
            wrote.clear()
            if not self.waiting:
                break
            due_at = loop.time() + self.every  # a second from this look, however it came
            try:
                due = await run_in_threadpool(self._look, list(self.waiting))
            except Exception:  # a database hiccup: the next look tries again
                log.exception("looking at the change feed for waiting devices")
                due = []
            for waiting in due:
                if not waiting.answer.done():
                    waiting.answer.set_result(True)
            await asyncio.sleep(self.min_gap)  # looks for writes here: at most one per gap

    def _look(self, waiting: list[Waiting]) -> list[Waiting]:
        """The waits that now have something, each checked only past where it was last
        checked and only in the tables that moved since; the rest move their mark on."""
        self.looks += 1
        with self.hq.snapshot() as conn:
            tops = feed_tops(conn)
            behind = [w for w in waiting if moved(tops, w.checked_to)]
            due = due_among(conn, behind, tops) if behind else []
        top = max(tops.values())
        for w in behind:
            w.checked_to = top
        return due


# Scopes whose rules read only the user and the team: checked all at once, one statement
# for every waiting technician (the fleet), one for every admin.
AT_ONCE = ("technician", "admin")


def due_among(conn: Connection, waiting: Sequence[M], tops: Tops) -> list[M]:
    """Which of these waits have something in their scope past their marks: one statement
    per role for technicians and admins, one per wait for supervisors (one device each).
    Only tables that moved past a mark are looked at; none moved, no statement at all."""
    due: list[M] = []
    together: dict[str, list[M]] = {}
    for w in waiting:
        if not moved(tops, w.checked_to):
            continue
        if w.who.role in AT_ONCE:
            together.setdefault(w.who.role, []).append(w)
        elif changed_in_scope(conn, w.who, w.device_id, w.checked_to, moved(tops, w.checked_to)):
            due.append(w)
    for role, group in together.items():
        tables = tuple(moved(tops, min(w.checked_to for w in group)))
        statement = _due_statement(conn.dialect.name, role, tables)
        listed = [
            [i, w.who.user_id, w.who.team, w.device_id, w.checked_to] for i, w in enumerate(group)
        ]
        hits = conn.execute(statement, {"waiting": json.dumps(listed)}).scalars()
        due.extend(group[int(i)] for i in hits)
    return due


# The waits as rows (i, who, team, device, since), from one JSON parameter: the statement
# is the same whatever the waits, so it is built and compiled once.
WAITING_ROWS = {
    "postgresql": "SELECT (r->>0)::int AS i, r->>1 AS who, r->>2 AS team, r->>3 AS device, "
    "(r->>4)::bigint AS since FROM jsonb_array_elements(CAST(:waiting AS jsonb)) AS r",
    "sqlite": "SELECT json_extract(value, '$[0]') AS i, json_extract(value, '$[1]') AS who, "
    "json_extract(value, '$[2]') AS team, json_extract(value, '$[3]') AS device, "
    "json_extract(value, '$[4]') AS since FROM json_each(:waiting)",
}


@functools.lru_cache(maxsize=256)
def _due_statement(dialect: str, role: str, tables: tuple[str, ...]) -> Select[Any]:
    """changed_in_scope for every wait of one role at once: the pull's own scope rules,
    given each row's user and team.

    Those are plain `waiting.<name>` references rather than the rows' columns, so that a
    rule's subquery at any depth finds its row by SQL's own name resolution (SQLAlchemy
    correlates a subquery with the query just above it only)."""

    def row(name: str, kind: type[Integer] | type[String] | type[BigInteger]) -> Any:
        return literal_column(f"waiting.{name}", kind)

    listed = text(WAITING_ROWS[dialect]).columns(column("i", Integer)).cte("waiting")
    # The rules of these roles read the user and the team, nothing else of who asks.
    who = Principal(row("who", String), "", role, row("team", String), None, "")
    device = row("device", String)
    found: list[ColumnElement[bool]] = []
    for name in tables:
        t = schema.metadata.tables[name]
        where: list[ColumnElement[bool]] = [t.c.seq > row("since", BigInteger)]
        scope = scope_where(name, who)
        if scope is not None:
            where.append(scope)
        if name in ECHOED:
            where.append(or_(device.is_(None), t.c.origin.is_distinct_from(device)))
        found.append(exists().where(*where))
    return select(listed.c.i).where(or_(*found) if found else false())


def _mark_written(conn: Connection) -> None:
    # The commit event fires just before the commit itself: mark the connection, and tell
    # the watcher when it is handed back, committed.
    conn.info[WROTE] = True

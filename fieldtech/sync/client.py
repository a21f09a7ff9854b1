"""The device's side of sync: push the outbox, pull changes, apply them, in rounds.

Each round is one HTTP request. Its answer is applied in ONE local transaction that also
forgets the acknowledged operations and stores the new cursor, so a crash at any point
leaves either the old state or the new one, and the next round repeats safely.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.templates import template_from_json
from fieldtech.services import Device
from fieldtech.store import Store
from fieldtech.store.db import REBUILD_PENDING
from fieldtech.sync import protocol
from fieldtech.sync.http import httpx

REBUILD = REBUILD_PENDING  # set by `fieldtech repair` until one full pull has arrived
LAST_OK = "last_sync_ok"
LAST_ERROR = "last_sync_error"


class SyncError(FieldtechError):
    """A sync that did not happen, with its cause and what to do, in words. `unreachable`:
    HQ could not be reached or did not answer (as opposed to HQ refusing)."""

    def __init__(self, message: str, *, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


class BatchTooLarge(SyncError):
    """HQ's body cap: the round goes again with fewer operations."""


@dataclass
class SyncReport:
    requests: int = 0
    pushed: int = 0
    acknowledged: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    pulled: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    cursor: int = 0
    pending: int = 0
    # Jobs HQ moved from this technician to someone else: {ref, to, at, work_kept}.
    reassigned: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "rejected": list(self.rejected),
            "reassigned": list(self.reassigned),
        }


@dataclass
class Backoff:
    """Exponential backoff with full jitter: a whole fleet reconnecting does not stampede."""

    base: float = 0.5
    cap: float = 30.0
    attempts: int = 4
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, min(self.cap, self.base * 2**attempt))


class SyncClient:
    def __init__(
        self,
        device: Device,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        batch: int = 1000,
        page: int = protocol.DEFAULT_PAGE,
        backoff: Backoff | None = None,
    ):
        self.device = device
        self.store: Store = device.store
        self.base_url = base_url.rstrip("/")
        self.batch = min(batch, protocol.MAX_OPS)
        self.page = page
        self.backoff = backoff or Backoff()
        self.http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept-Encoding": "gzip",
                "User-Agent": "fieldtech-device",
            },
        )

    def close(self) -> None:
        self.http.close()

    # -- one sync: as many rounds as it takes -------------------------------------------------
    def sync(
        self, *, max_rounds: int = 1000, progress: Callable[[SyncReport], None] | None = None
    ) -> SyncReport:
        report = SyncReport()
        try:
            for _ in range(max_rounds):
                more, sent = self._round(report)
                if progress:
                    progress(report)
                if not more and (sent < self.batch or not self._pending()):
                    break
        except SyncError as exc:
            self._remember(LAST_ERROR, exc.message)
            raise
        report.pending = len(self.store.outbox("pending"))
        self._remember(LAST_OK, self.device.at())
        self._remember(LAST_ERROR, None)
        return report

    def dry_run(self) -> dict[str, Any]:
        ops = self.store.outbox("pending", limit=self.batch)
        body = self._body(ops)
        return {
            "url": self.base_url + "/v1/sync",
            "ops": len(ops),
            "by_kind": self.store.outbox_by_op(),
            "cursor": body["cursor"],
            "bytes_gzip": len(protocol.encode(body)),
        }

    def _pending(self) -> bool:
        return bool(self.store.outbox("pending", limit=1))

    def _body(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        cursor = self.store.pull_cursor()
        # A first sync primes from a few large pages rather than many small ones.
        body = {
            "v": protocol.PROTOCOL,
            "device": self.device.device_id,
            "cursor": cursor,
            "limit": protocol.MAX_PAGE if cursor == 0 else self.page,
            "clock": self.device.clock.last,
            "ops": [protocol.to_wire(o) for o in ops],
        }
        if self.store.rebuild_pending():
            body["rebuild"] = True  # a rebuilt file: send this device's own rows back too
        return body

    def _round(self, report: SyncReport) -> tuple[bool, int]:
        ops = self.store.outbox("pending", limit=self.batch)
        halved = False
        while True:
            body = protocol.encode(self._body(ops))
            try:
                answer, down = self._post(body)
                break
            except BatchTooLarge:
                if len(ops) <= 1:
                    raise SyncError(
                        "HQ refused the sync: one change is larger than HQ accepts"
                    ) from None
                ops = ops[: len(ops) // 2]  # fewer operations in this round; the rest follow
                halved = True
        report.requests += 1
        report.bytes_up += len(body)
        report.bytes_down += down
        report.pushed += len(ops)
        self.apply(answer, report)
        return bool(answer.get("more")) or halved, len(ops)

    def _post(self, body: bytes) -> tuple[dict[str, Any], int]:
        last: str = ""
        for attempt in range(self.backoff.attempts):
            if attempt:
                self.backoff.sleep(self.backoff.delay(attempt))
            try:
                r = self.http.post(
                    "/v1/sync",
                    content=body,
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
                )
            except httpx.TimeoutException:
                last = f"HQ at {self.base_url} did not answer in time"
                continue
            except httpx.RequestError as exc:  # transport failures, garbled bodies
                last = f"HQ cannot be reached at {self.base_url} ({_short(exc)})"
                continue
            if r.status_code >= 500:
                last = f"HQ had a problem (HTTP {r.status_code}); it will be retried"
                continue
            if r.status_code in (401, 403):
                raise SyncError(f"HQ refused this device: {_detail(r)}")
            if r.status_code == 413:
                raise BatchTooLarge(f"HQ refused the sync: {_detail(r)}")
            if r.status_code >= 400:
                raise SyncError(f"HQ refused the sync: {_detail(r)}")
            down = int(r.headers.get("content-length") or len(r.content))
            try:
                return r.json(), down
            except json.JSONDecodeError:
                last = "HQ's answer was cut off; it will be retried"
                continue
        raise SyncError(
            last + "; your work is safe on this device and will go at the next sync",
            unreachable=True,
        )

    # -- applying an answer ------------------------------------------------------------------
    def apply(self, answer: dict[str, Any], report: SyncReport | None = None) -> None:
        report = report or SyncReport()
        st = self.store
        with st.transaction():
            # Work this device had on a job before HQ acknowledged it: a job reassigned away
            # meanwhile is told as "your work was kept" rather than a plain move.
            unsent = st.pending_job_ids()
            acks = list(answer.get("acks") or [])
            st.forget_acknowledged(acks)
            report.acknowledged += len(acks)
            for rej in answer.get("rejected") or []:
                st.park_rejected(rej["id"], rej["reason"])
                report.rejected.append(rej)
            report.pulled += apply_changes(
                st,
                answer.get("changes") or {},
                unsent=unsent,
                me=self.device.actor,
                now=self.device.at(),
                told=report.reassigned,
            )
            if answer.get("cursor") is not None:
                st.save_pull_cursor(int(answer["cursor"]))
                report.cursor = int(answer["cursor"])
            if not answer.get("more") and st.rebuild_pending():
                st.rebuild_arrived()
            if answer.get("clock"):
                # The screens' connection may have stamped later than this one knows: never
                # write the stored clock back past a stamp already handed out.
                stored = st.stored_clock()
                if stored:
                    self.device.clock.observe(stored)
                self.device.clock.observe(answer["clock"])
                st.save_clock(self.device.clock.last)

    def _remember(self, key: str, value: str | None) -> None:
        self.store.set_meta(key, value)


def apply_changes(
    st: Store,
    changes: dict[str, dict[str, Any]],
    *,
    unsent: set[str] | None = None,
    me: str | None = None,
    now: str | None = None,
    told: list[dict[str, Any]] | None = None,
) -> int:
    """Apply pulled rows in dependency order. Inside the caller's transaction. Jobs HQ moved
    away from `me` (this device's user) are noted in the store and appended to `told`."""

    def rows(name: str) -> list[dict[str, Any]]:
        block = changes.get(name)
        if not block:
            return []
        cols = block["cols"]
        return [dict(zip(cols, r, strict=True)) for r in block["rows"]]

    # Rows of one page arrive parents first, but a page may hold a job whose customer came
    # earlier: check references at commit, not per statement. A reference to a row this
    # device lacks is settled before commit (store.sync.DANGLING says how and why), so no
    # pulled row can ever fail the page.
    st.defer_references()
    applied: dict[str, list[Any]] = {}
    n = 0
    for t in rows("templates"):
        items = json.loads(t["items"]) if isinstance(t["items"], str) else t["items"]
        st.put_template(template_from_json({**t, "items": items}))
        n += 1
    for name in ("users", "parts", "customers", "sites", "appliances"):
        r = rows(name)
        st.put_owned(name, r)
        applied[name] = [x["sku" if name == "parts" else "id"] for x in r]
        n += len(r)
    jobs = rows("jobs")
    before = st.holders(jobs) if me else {}
    changed = st.merge_jobs(jobs)
    applied["jobs"] = [j["id"] for j in jobs]
    n += len(jobs)
    for name in ("job_events", "readings", "stock_ledger", "conflicts", "callbacks"):
        r = rows(name)
        st.add_history(name, r)
        applied[name] = [x["id"] for x in r]
        n += len(r)
    reqs = rows("part_requests")
    st.merge_requests(reqs)
    applied["part_requests"] = [x["id"] for x in reqs]
    n += len(reqs)
    st.settle_references(applied)
    if before:
        moved = st.note_reassignments(before, me, unsent or set(), now or _utc_now())
        if told is not None:
            told.extend(moved)
    if changed:
        st.refresh_search(changed)
    return n


def _utc_now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail") or r.reason_phrase)
    except (json.JSONDecodeError, AttributeError):
        return f"HTTP {r.status_code}"


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:120]

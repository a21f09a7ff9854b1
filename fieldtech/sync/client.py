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
from pathlib import Path
from typing import Any

from fieldtech import logs
from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.jobs import hash_from_wire
from fieldtech.domain.templates import template_from_json
from fieldtech.services import Device
from fieldtech.store import Store
from fieldtech.store.db import REBUILD_PENDING
from fieldtech.sync import outgoing, protocol
from fieldtech.sync.http import httpx, tls_for

REBUILD = REBUILD_PENDING  # set by `fieldtech repair` until one full pull has arrived
LAST_OK = "last_sync_ok"
LAST_ERROR = "last_sync_error"
HQ_READS_ZSTD = "hq_reads_zstd"  # HQ answered in zstd frames: it reads zstd bodies too
MIN_ROUND = 1024  # bytes of budget below which another round is not worth its headers


class SyncError(FieldtechError):
    """A sync that did not happen, with its cause and what to do, in words. `unreachable`:
    HQ could not be reached or did not answer (as opposed to HQ refusing)."""

    def __init__(self, message: str, *, unreachable: bool = False):
        super().__init__(message)
        self.unreachable = unreachable


class _LinkFailed(Exception):
    """This try did not get through (the link, or HQ mid-restart): worth another."""


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
    budget_spent: bool = False  # the sync stopped at its byte budget; the rest waits
    files_sent: int = 0  # attachments now whole at HQ (fieldtech.sync.files)
    file_bytes: int = 0
    files_waiting: int = 0
    file_problems: list[str] = field(default_factory=list)
    carried: int = 0  # other devices' bundles taken to HQ and answered (bundle carry)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "rejected": list(self.rejected),
            "reassigned": list(self.reassigned),
            "file_problems": list(self.file_problems),
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
        batch: int = protocol.MAX_OPS,
        batch_bytes: int = protocol.BATCH_BYTES,
        page: int = protocol.DEFAULT_PAGE,
        page_bytes: int = protocol.PAGE_BYTES,
        backoff: Backoff | None = None,
        budget: int | None = None,
        credential: Path | None = None,
    ):
        self.device = device
        self.store: Store = device.store
        self.base_url = base_url.rstrip("/")
        self.batch = min(batch, protocol.MAX_OPS)
        self.batch_bytes = batch_bytes
        self.page = page
        self.page_bytes = page_bytes
        self.backoff = backoff or Backoff()
        self.budget = budget  # bytes on the wire, both ways, for one sync (None: no cap)
        self.credential = credential  # the credential file: HQ is offered the device's key
        self.spent = 0
        self._outcome_seen = False  # the answer to the request in flight settled its ops
        self._asked_zstd = False  # the request in flight asked for zstd frames
        self._sent_zstd = False  # its body went in zstd
        self.timeout = timeout
        self.http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            verify=tls_for(self.base_url),
            timeout=timeout,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept-Encoding": "gzip",
                "User-Agent": "fieldtech-device",
            },
        )
        # HTTP/1.1 keeps the connection and any type is welcome: 36 bytes less per request.
        for name in ("Accept", "Connection"):
            self.http.headers.pop(name, None)

    def close(self) -> None:
        self.http.close()

    # -- one sync: as many rounds as it takes -------------------------------------------------
    def sync(
        self, *, max_rounds: int = 1000, progress: Callable[[SyncReport], None] | None = None
    ) -> SyncReport:
        report = SyncReport()
        self.spent = 0
        try:
            for _ in range(max_rounds):
                left = self._left()
                if left is not None and left < MIN_ROUND:
                    report.budget_spent = True
                    break
                before = report.acknowledged + len(report.rejected)
                more = self._round(report)
                if progress:
                    progress(report)
                if not more and not self._pending():
                    break
                if not more and report.acknowledged + len(report.rejected) == before:
                    report.budget_spent = self.budget is not None  # what waits did not fit
                    break
            if self.credential is not None:  # once per device, after the link proved itself
                self._offer_key()
            self._carry(report)
            if not report.budget_spent:  # files last: the day's work never waits on a photo
                self._send_files(report)
        except SyncError as exc:
            self._remember(LAST_ERROR, exc.message)
            raise
        finally:
            try:
                with self.store.transaction():  # a stream that stopped short: index what came
                    self.store.index_waiting()
            except Exception:  # the sync's own outcome is what the person hears of
                logs.log.exception("indexing the jobs a sync brought")
        report.pending = len(self.store.outbox("pending"))
        self._remember(LAST_OK, self.device.at())
        self._remember(LAST_ERROR, None)
        return report

    def _carry(self, report: SyncReport) -> None:
        """Other devices' bundles this device carries (fieldtech bundle carry), each to HQ
        once; HQ's reply, or its refusal in words, kept for the hand-over. A link that fails
        leaves the rest for the next sync."""
        st = self.store
        for key, data in st.carried_to_send():
            try:
                r = self.http.post("/v1/bundles", content=data)
            except httpx.HTTPError:
                logs.log.info("a carried bundle waits for the next sync: HQ was not reached")
                return
            if r.status_code >= 500:
                return
            reply, problem = (r.content, None) if r.status_code == 200 else (None, _detail(r))
            with st.transaction():
                st.carried_answered(key, reply, problem, self.device.at())
            report.carried += 1

    def _offer_key(self) -> None:
        from fieldtech.sync import keys

        assert self.credential is not None
        why = keys.offer(self.credential, self.http)
        if why:  # the bundles wait for it; the sync itself went well
            logs.log.info("HQ does not hold this device's key yet: %s", why)

    def _send_files(self, report: SyncReport) -> None:
        from fieldtech.sync.files import FileReport, FileSender, FilesUnreachable

        got = FileReport()
        try:
            self.spent += FileSender(self.store, self.http, self.device.at()).send(
                self._left(), got
            )
        except FilesUnreachable as exc:
            raise SyncError(
                f"{exc}; what HQ has of it is kept, the rest goes at the next sync",
                unreachable=True,
            ) from None
        finally:
            report.files_sent, report.file_bytes = got.sent + got.known, got.bytes
            report.files_waiting, report.file_problems = got.waiting, got.problems
            report.bytes_up += got.bytes
        report.budget_spent = bool(got.waiting) and self.budget is not None

    def dry_run(self) -> dict[str, Any]:
        ops = self._batch(self.batch)
        body = self._body(ops)
        return {
            "url": self.base_url + "/v1/sync",
            "ops": sum(self.store.outbox_by_op().values()),
            "first_request_ops": len(ops),
            "by_kind": self.store.outbox_by_op(),
            "cursor": body["cursor"],
            "bytes_gzip": len(protocol.encode(body)),
        }

    def _pending(self) -> bool:
        return bool(self.store.outbox("pending", limit=1))

    def _left(self) -> int | None:
        return None if self.budget is None else self.budget - self.spent

    def _batch(self, limit: int) -> list[dict[str, Any]]:
        return outgoing.next_batch(
            self.device,
            limit=limit,
            batch_bytes=self.batch_bytes,
            left=self._left(),
            page=self.page,
            page_bytes=self.page_bytes,
        )

    def plan(self) -> dict[str, Any]:
        """What the next sync would send and what would wait, by class (`--dry-run`)."""
        return outgoing.plan(
            self.device, budget=self.budget, limit=self.batch, batch_bytes=self.batch_bytes
        )

    def _body(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        return outgoing.request_body(self.device, ops, page=self.page, page_bytes=self.page_bytes)

    def _round(self, report: SyncReport) -> bool:
        """One request, tried again on a failed link (each try built afresh: what an earlier
        try's frames settled is not sent again). True: HQ has more, or operations wait.

        A try whose answer never came may still have reached HQ: the next try asks whether
        HQ holds it (a request without ops, `check`: one round trip) rather than sending
        those operations again."""
        last = ""
        limit = self.batch
        attempt = 0
        unsure: list[str] = []
        while attempt < self.backoff.attempts:
            if attempt:
                self.backoff.sleep(self.backoff.delay(attempt))
            ops = [] if unsure else self._batch(limit)
            request = self._body(ops)
            if unsure:
                request["check"] = protocol.request_key(unsure)
            left = self._left()
            if left is not None:  # what HQ may send back: the budget less this request
                size = len(_packed(request)[0]) + 24  # as it goes, with max_bytes in it
                request["max_bytes"] = max(0, left - size)
            zstd = left is None  # zstd frames, unless a budget needs gzip's (protocol)
            body, coding = _packed(request, zstd and self.store.meta(HQ_READS_ZSTD) == "1")
            if zstd:
                coding["Accept-Encoding"] = protocol.ZSTD
            self._asked_zstd = zstd
            self._sent_zstd = coding.get("Content-Encoding") == protocol.ZSTD
            sent = unsure or [o["id"] for o in ops]
            settled = report.acknowledged + len(report.rejected)
            try:
                more = self._exchange(body, coding, sent, report)
                if unsure and report.acknowledged + len(report.rejected) == settled:
                    return True  # HQ never got them: they go in the next round
                return more
            except BatchTooLarge:
                if len(ops) <= 1:
                    raise SyncError(
                        "HQ refused the sync: one change is larger than HQ accepts"
                    ) from None
                limit = len(ops) // 2  # fewer operations in this round; the rest follow
                continue
            except _LinkFailed as exc:
                last = str(exc)
                attempt += 1
                unsure = [] if self._outcome_seen else sent  # settled, or ask after them
            finally:
                self.spent = report.bytes_up + report.bytes_down
        raise SyncError(
            last + "; your work is safe on this device and will go at the next sync",
            unreachable=True,
        )

    def _exchange(
        self, body: bytes, coding: dict[str, str], sent: list[str], report: SyncReport
    ) -> bool:
        """Send one request and apply its answer, frame by frame as each arrives."""
        report.requests += 1
        report.bytes_up += len(body)
        self._outcome_seen = False
        # HQ applies ~1,000 operations a second before its first byte: waiting longer than
        # that (plus a slow link's round trip) for a byte means the link is dead.
        timeout = httpx.Timeout(self.timeout, read=10.0 + 0.002 * len(sent))
        try:
            with self.http.stream(
                "POST",
                "/v1/sync",
                content=body,
                headers=coding,  # HQ reads a sync body as JSON: no type needed
                timeout=timeout,
            ) as r:
                try:
                    return self._answer(r, sent, report)
                finally:
                    report.bytes_down += r.num_bytes_downloaded
        except httpx.TimeoutException:
            raise _LinkFailed(f"HQ at {self.base_url} did not answer in time") from None
        except httpx.RequestError as exc:  # transport failures, garbled bodies
            raise _LinkFailed(f"HQ cannot be reached at {self.base_url} ({_short(exc)})") from None

    def _answer(self, r: httpx.Response, sent: list[str], report: SyncReport) -> bool:
        if r.status_code >= 500:
            raise _LinkFailed(f"HQ had a problem (HTTP {r.status_code}); it will be retried")
        if r.status_code >= 400:
            r.read()
            if r.status_code in (400, 415) and self._sent_zstd:
                # An HQ that no longer reads zstd (rolled back, or another one behind the same
                # address): it applied nothing; the next try goes gzip'd.
                self._remember(HQ_READS_ZSTD, None)
                raise _LinkFailed(f"HQ did not read a zstd body ({_detail(r)}); trying gzip")
            if r.status_code in (401, 403):
                raise SyncError(f"HQ refused this device: {_detail(r)}")
            if r.status_code == 413:
                raise BatchTooLarge(f"HQ refused the sync: {_detail(r)}")
            raise SyncError(f"HQ refused the sync: {_detail(r)}")
        if protocol.FRAMES_TYPE not in r.headers.get("content-type", ""):
            try:
                answer = json.loads(r.read())
            except json.JSONDecodeError:
                raise _LinkFailed("HQ's answer was cut off; it will be retried") from None
            self.apply(answer, report, sent=sent)
            self._outcome_seen = True
            return bool(answer.get("more"))
        frames = protocol.Frames(limit=protocol.MAX_INFLATED)
        unsent = self.store.pending_job_ids()  # before any frame settles this request's ops
        more: bool | None = None
        try:
            for chunk in r.iter_bytes():  # "identity": the frames as they came
                for answer in frames.feed(chunk):
                    self.apply(answer, report, sent=sent, unsent=unsent)  # one transaction each
                    self._outcome_seen = True  # the first frame settled what went up
                    if "more" in answer:
                        more = bool(answer["more"])
        except ValueError as exc:
            raise _LinkFailed(f"HQ's answer was garbled ({exc}); it will be retried") from None
        if self._asked_zstd and frames.coding is not None:
            # zstd frames: HQ of this release, which reads zstd bodies too; gzip ones to a
            # device that asked for zstd: an HQ that does not (any more).
            speaks = "1" if frames.coding == protocol.ZSTD else None
            if self.store.meta(HQ_READS_ZSTD) != speaks:
                self._remember(HQ_READS_ZSTD, speaks)
        if frames.partial or more is None:
            raise _LinkFailed("HQ's answer was cut off; it will be retried")
        return more

    # -- applying an answer ------------------------------------------------------------------
    def apply(
        self,
        answer: dict[str, Any],
        report: SyncReport | None = None,
        *,
        sent: list[str] | None = None,
        unsent: set[str] | None = None,
    ) -> None:
        """Apply one answer (or one frame of a streamed answer) in one local transaction.
        `sent`: the ids of the operations the request carried, in order, which a version 2
        outcome settles up to its watermark. `unsent`: the jobs this device had work on
        before the request (a streamed answer settles the ops before its pages arrive)."""
        report = report or SyncReport()
        st = self.store
        with st.transaction():
            # Work this device had on a job before HQ acknowledged it: a job reassigned away
            # meanwhile is told as "your work was kept" rather than a plain move.
            if unsent is None:
                unsent = st.pending_job_ids()
            acks = _settled(answer, sent or [])
            st.forget_acknowledged(acks)
            report.acknowledged += len(acks)
            for rej in answer.get("rejected") or []:
                if sent is not None and rej["id"] not in sent:
                    continue  # an answer to a `check` may name others HQ refused with them
                st.park_rejected(rej["id"], rej["reason"])
                report.rejected.append(rej)
            report.pulled += apply_changes(
                st,
                answer.get("changes") or {},
                unsent=unsent,
                me=self.device.actor,
                now=self.device.at(),
                told=report.reassigned,
                search_now=not answer.get("more"),  # a stream's pages: indexed at its end
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
    search_now: bool = True,
) -> int:
    """Apply pulled rows in dependency order. Inside the caller's transaction. Jobs HQ moved
    away from `me` (this device's user) are noted in the store and appended to `told`.
    Changed jobs are searchable once indexed: now, or (`search_now` False, a page with
    more to follow) with the last page, or at the end of the sync if the stream stops."""

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
    for j in jobs:  # a compact stream's code hash comes without its salt, the job's id
        if j.get("confirmation_hash"):
            j["confirmation_hash"] = hash_from_wire(j["confirmation_hash"], j["id"])
    before = st.holders(jobs) if me else {}
    changed = st.merge_jobs(jobs)
    applied["jobs"] = [j["id"] for j in jobs]
    n += len(jobs)
    for name in ("job_events", "readings", "stock_ledger", "conflicts", "callbacks", "attachments"):
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
        st.search_later(changed)
    if search_now:
        st.index_waiting()
    return n


def _packed(request: dict[str, Any], zstd: bool = False) -> tuple[bytes, dict[str, str]]:
    """A request's body and its encoding header: gzip'd (zstd'd for an HQ known to read it),
    unless that makes it no smaller (a sync with nothing to send: the coding's own bytes and
    the header's 24 would be waste)."""
    plain = json.dumps(request, separators=(",", ":")).encode()
    packed = protocol.encode_zstd(request) if zstd else protocol.encode(request)
    if len(packed) + 24 < len(plain):
        return packed, {"Content-Encoding": protocol.ZSTD if zstd else "gzip"}
    return plain, {}


def _settled(answer: dict[str, Any], sent: list[str]) -> list[str]:
    """The operations an answer acknowledges: version 1 lists them; version 2 gives the
    watermark `through` (every op sent up to it is settled) and the rejected among them."""
    if "acks" in answer:
        return list(answer.get("acks") or [])
    through = answer.get("through")
    if through is None or through not in sent:
        return []
    refused = {r["id"] for r in answer.get("rejected") or []}
    return [i for i in sent[: sent.index(through) + 1] if i not in refused]


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

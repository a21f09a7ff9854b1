"""Hearing of new work in seconds: the device holds one `/v1/wait` at HQ at a time.

HQ answers as soon as something in this device's scope changed after its cursor; the
device then syncs as it always does (a wait is only a hint: the pull stays the truth).
After a "changes" the waiter holds nothing until the next sync that went well arms it
again with the new cursor, so a hint can never turn into a loop of waits.

It runs on a thread of its own and only calls `on_changes`, which must not touch the
screens (the app posts a message). Polling stays the fallback: a wait that fails backs off,
and an HQ without the route (an older release) is asked again only now and then. The
thread is a daemon and is never joined, and a held wait is dropped by shutting its socket,
so neither switching the link off nor quitting waits for HQ's answer.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Callable
from enum import Enum

from fieldtech import logs
from fieldtech.sync.http import httpx, tls_for

HOLD = 25.0  # seconds HQ may hold a wait: under the idle limits of proxies on the way
SPACING = 1.0  # seconds at least between the starts of two waits, whatever HQ answers
FIRST_RETRY = 1.0
MAX_RETRY = 300.0
NOT_OFFERED_RETRY = 600.0  # an HQ without /v1/wait: polling carries on; ask again later

log = logs.log


class Heard(Enum):
    """What one wait came back with."""

    CHANGES = "changes"
    NOTHING = "nothing"
    FAILED = "failed"  # HQ unreachable, a 5xx, a garbled answer: back off
    NOT_OFFERED = "not offered"  # HQ has no /v1/wait
    REFUSED = "refused"  # 401/403: the next sync says why, in words
    DROPPED = "dropped"  # this side dropped it (link off, closing)


class Waiter:
    def __init__(
        self,
        base_url: str,
        token: str,
        on_changes: Callable[[], None],
        *,
        transport: httpx.BaseTransport | None = None,
        hold: float = HOLD,
        spacing: float = SPACING,
        first_retry: float = FIRST_RETRY,
        max_retry: float = MAX_RETRY,
        not_offered_retry: float = NOT_OFFERED_RETRY,
        rng: random.Random | None = None,
    ):
        self.hold = hold
        self.spacing = spacing
        self.first_retry = first_retry
        self.max_retry = max_retry
        self.not_offered_retry = not_offered_retry
        self._on_changes = on_changes
        self._rng = rng or random.Random()
        # Its own connection, never the sync's: a dropped wait's socket is nobody else's.
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            verify=tls_for(base_url),
            timeout=httpx.Timeout(10.0, read=hold + 10.0),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "fieldtech-device"},
        )
        self._cv = threading.Condition()
        self._cursor: int | None = None  # armed: wait for changes after this cursor
        self._told_at: int | None = None  # the cursor "changes" was last said for
        self._closed = False
        self._failures = 0
        self._not_before = 0.0
        self._not_offered_until = 0.0
        self._held: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # -- what the agent calls, from any thread -------------------------------------------
    def arm(self, cursor: int) -> None:
        """A sync went well: wait for changes after `cursor` (from now on, until told)."""
        with self._cv:
            if self._closed:
                return
            if cursor == self._told_at:
                # HQ said "changes", yet the sync that followed moved nothing: the two
                # disagree; back off rather than sync again and again.
                self._failed()
            else:
                self._failures = 0
                self._not_before = self._not_offered_until
            self._cursor = cursor
            self._told_at = None
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fieldtech-wait", daemon=True
                )
                self._thread.start()
            self._cv.notify_all()

    def pause(self) -> None:
        """The link is off: drop the held wait and hold none until armed again."""
        with self._cv:
            self._cursor = None
            self._cv.notify_all()
        self._drop()

    def close(self) -> None:
        """Drop the held wait; the thread ends on its own (it is never waited for)."""
        with self._cv:
            self._closed = True
            self._cursor = None
            self._cv.notify_all()
        self._drop()

    @property
    def armed(self) -> bool:
        return self._cursor is not None

    # -- one wait ---------------------------------------------------------------------------
    def ask(self, cursor: int) -> Heard:
        """Hold one wait at HQ (blocking, up to `hold` seconds and a little)."""
        params: dict[str, str | int | float] = {"cursor": cursor, "timeout": self.hold}
        try:
            with self.http.stream("GET", "/v1/wait", params=params) as r:
                if r.status_code in (404, 405):
                    return Heard.NOT_OFFERED
                if r.status_code in (401, 403):
                    return Heard.REFUSED
                if r.status_code != 200:
                    return Heard.FAILED
                if not self._holding(r):
                    return Heard.DROPPED
                try:
                    body = r.read()
                finally:
                    with self._cv:
                        self._held = None
        except httpx.HTTPError:
            return Heard.DROPPED if self._cursor is None else Heard.FAILED
        try:
            answer = json.loads(body)
        except ValueError:
            return Heard.FAILED
        changes = answer.get("changes") if isinstance(answer, dict) else None
        if not isinstance(changes, bool):
            return Heard.FAILED
        return Heard.CHANGES if changes else Heard.NOTHING

    def _holding(self, r: httpx.Response) -> bool:
        """Keep the held wait's socket, so pause and close can drop it; False when it was
        dropped before its headers came."""
        stream = r.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        with self._cv:
            if self._cursor is None:
                return False
            self._held = sock if isinstance(sock, socket.socket) else None
        return True

    def _drop(self) -> None:
        with self._cv:
            sock, self._held = self._held, None
        if sock is not None:
            # The blocked read ends at once; closing the socket alone would not wake it.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # -- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                cursor = self._next_cursor()
                if cursor is None:
                    return
                heard = self.ask(cursor)
                if self._settle(cursor, heard):
                    try:
                        self._on_changes()
                    except Exception:  # the app's side failing must not end the waiting
                        log.exception("telling the app that HQ has changes")
        finally:
            self.http.close()

    def _next_cursor(self) -> int | None:
        """Block until armed and due; None once closed."""
        with self._cv:
            while not self._closed:
                now = time.monotonic()
                if self._cursor is not None and now >= self._not_before:
                    self._not_before = now + self.spacing
                    return self._cursor
                self._cv.wait(None if self._cursor is None else self._not_before - now)
            return None

    def _settle(self, cursor: int, heard: Heard) -> bool:
        """Take what a wait heard; True: tell the app."""
        with self._cv:
            if self._closed or self._cursor != cursor:
                return False  # paused, or armed anew by a sync meanwhile: wait afresh
            if heard is Heard.CHANGES:
                self._cursor, self._told_at = None, cursor
                return True
            if heard is Heard.NOTHING:
                self._failures = 0
            elif heard is Heard.NOT_OFFERED:
                if not self._not_offered_until:
                    log.info("HQ offers no /v1/wait: new work comes with the regular sync")
                self._not_offered_until = time.monotonic() + self.not_offered_retry
                self._not_before = self._not_offered_until
            elif heard in (Heard.FAILED, Heard.REFUSED):
                self._failed()
            return False

    def _failed(self) -> None:
        """Back off: doubling, with jitter, up to `max_retry` (under the lock)."""
        self._failures += 1
        ceiling = min(self.max_retry, self.first_retry * 2 ** (self._failures - 1))
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        self._not_before = max(self._not_before, time.monotonic() + delay)

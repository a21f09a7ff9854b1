"""What the app holds to sync in the background: one call, one plain answer.

The agent opens its own connection to the device file, so the sync worker thread never
shares a connection with the screens (WAL lets both read while one writes). Asked to watch
for work, it also holds a wait at HQ (fieldtech.sync.waiter) after each sync that went
well, so new work is heard of in seconds rather than at the next poll.

Until HQ has been reached once, the agent holds no HTTP stack: each attempt first asks
whether anything listens at HQ's address (fieldtech.sync.reach, standard library only) and
says "unreachable" from that alone. A device offline for days never loads httpx. The app
loads the stack on its own loop, a piece at a time (`http_ready`, fieldtech.sync.preload),
once `reach` finds HQ; called without that, `sync_once` loads it in its own thread.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from fieldtech import logs
from fieldtech.domain.errors import FieldtechError
from fieldtech.sync import credentials, reach
from fieldtech.sync.summary import SyncSummary

if TYPE_CHECKING:
    from fieldtech.sync.client import SyncClient
    from fieldtech.sync.link import SwitchableLink
    from fieldtech.sync.waiter import Waiter

log = logs.log


class SyncAgent:
    def __init__(
        self,
        db_path: Path,
        hq_url: str,
        token: str,
        *,
        link: SwitchableLink | None = None,
        budget: int | None = None,
        credential: Path | None = None,
    ):
        self._credential = credential  # offered HQ the device's key at a sync (sync.keys)
        self._link = link  # built with the client when not given (it is an httpx transport)
        self._online = True
        self._switching = threading.Lock()
        self.budget = budget  # bytes each sync may use both ways (None: no cap)
        self._db_path = db_path
        self._hq_url = hq_url
        self._token = token
        self._client: SyncClient | None = None
        self._waiter: Waiter | None = None
        self._on_changes: Callable[[], None] | None = None

    @classmethod
    def from_profile(
        cls, db_path: Path, credential_path: Path, budget: int | None = None
    ) -> SyncAgent | None:
        try:
            cred = credentials.load(credential_path)
        except FieldtechError:
            return None
        return cls(
            db_path, cred["hq_url"], cred["token"], budget=budget, credential=credential_path
        )

    @property
    def online(self) -> bool:
        return self._online if self._link is None else self._link.online

    @property
    def http_ready(self) -> bool:
        """The HTTP stack is loaded (a sync now imports nothing of its own)."""
        return self._client is not None or "fieldtech.sync.client" in sys.modules

    def set_online(self, online: bool) -> None:
        with self._switching:
            self._online = online
            if self._link is not None:
                self._link.set_online(online)
        if not online and self._waiter is not None:
            self._waiter.pause()  # the sync that follows the link's return arms it again

    def watch_for_work(self, on_changes: Callable[[], None]) -> None:
        """From now on, after each sync that went well, hold a wait at HQ for changes past
        the new cursor; `on_changes` is called (from the waiter's thread) when HQ has some."""
        self._on_changes = on_changes  # the waiter is built by the first sync that went well

    def reach(self) -> SyncSummary | None:
        """Blocking; call from a worker. Before HQ has been reached: an "unreachable"
        summary when nothing listens at its address, or None when something does. Once
        reached, with the link switched off (the sync says so), or with a link of the
        caller's (its own transport, perhaps not the network: only a request tells),
        always None."""
        if self._client is not None or self._link is not None or not self.online:
            return None
        why = reach.unreachable(self._hq_url)
        if why is None:
            return None
        summary: SyncSummary = {
            "ok": False,
            "error": f"HQ cannot be reached at {self._hq_url} ({why})",
            "unreachable": True,
            "reassigned": [],
        }
        logs.sync_outcome(summary)
        return summary

    def _ensure(self) -> SyncClient:
        # Created on first use, in the worker thread that will use it.
        if self._client is None:
            from fieldtech.services import Device
            from fieldtech.store import open_store
            from fieldtech.sync.client import Backoff, SyncClient
            from fieldtech.sync.link import SwitchableLink

            with self._switching:  # a switch-off meanwhile is not lost
                if self._link is None:
                    link = SwitchableLink(self._hq_url)
                    link.set_online(self._online)
                    self._link = link
            device = Device.open(open_store(self._db_path))
            self._client = SyncClient(
                device,
                self._hq_url,
                self._token,
                transport=self._link,
                backoff=Backoff(attempts=1),
                budget=self.budget,
                credential=self._credential,
            )
        return self._client

    def sync_once(self) -> SyncSummary:
        """Blocking; call from a worker. Returns a summary and never raises: a sync that
        fails for any reason is one line for the person and a traceback in the log, and the
        next attempt starts afresh."""
        summary: SyncSummary
        try:
            from fieldtech.sync.client import SyncError
            from fieldtech.sync.http import httpx
        except Exception as exc:  # a broken install: no TLS module, another httpx
            log.exception("the sync stack cannot be loaded")
            summary = {
                "ok": False,
                "error": f"sync cannot start here ({type(exc).__name__}: {exc}); see the log",
                "unreachable": False,
                "reassigned": [],
            }
            logs.sync_outcome(summary)
            return summary
        try:
            report = self._ensure().sync()
        except SyncError as exc:
            summary = {"ok": False, "error": exc.message, "unreachable": exc.unreachable}
        except FieldtechError as exc:
            summary = {"ok": False, "error": exc.message, "unreachable": False}
        except httpx.HTTPError as exc:  # belt and braces: the client words these already
            summary = {"ok": False, "error": f"HQ cannot be reached ({exc})", "unreachable": True}
        except Exception as exc:  # a bug or a broken disk must not stop background sync
            log.exception("sync failed unexpectedly")
            self._reset()
            summary = {
                "ok": False,
                "error": f"sync failed unexpectedly ({type(exc).__name__}: {exc}); see the log",
                "unreachable": False,
            }
        else:
            summary = cast(SyncSummary, {"ok": True, **report.as_dict()})
            self._wait_for_work()
        # Jobs HQ moved from this technician to someone else in this sync: [{ref, to, at,
        # work_kept}] (also kept in the store: Store.notices()). Empty when none or failed.
        summary.setdefault("reassigned", [])
        logs.sync_outcome(summary)
        return summary

    def _wait_for_work(self) -> None:
        if self._on_changes is None or not self.online:
            return
        try:
            if self._waiter is None:
                from fieldtech.sync.waiter import Waiter

                self._waiter = Waiter(self._hq_url, self._token, self._on_changes)
            self._waiter.arm(self._ensure().store.pull_cursor())
        except Exception:  # the sync went well; the next one arms the wait again
            log.exception("holding a wait at HQ")

    def _reset(self) -> None:
        """After an unexpected failure, start the next attempt with a fresh connection."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
                client.device.store.close()
            except Exception:
                log.exception("closing the failed sync connection")

    def close(self) -> None:
        if self._waiter is not None:
            self._waiter.close()  # drops a held wait; its thread is not waited for
        if self._client is not None:
            self._client.close()
            self._client.device.store.close()
            self._client = None

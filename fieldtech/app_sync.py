"""The app's side of sync: building the agent after the first frame, syncing in the
background and by hand, saying how it went, and the status bar that shows the link.

The sync agent does the I/O in a thread worker that posts `SyncFinished`; only these
handlers, on the app's loop, touch widgets. Between syncs the agent holds a wait at HQ
(fieldtech.sync.waiter, on a thread of its own that only posts `HQChanged`), so work
dispatched to this device arrives within seconds; the interval remains the fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from time import monotonic
from typing import TYPE_CHECKING, Any, Protocol, cast

from textual import events, on, work
from textual.app import App

from fieldtech import logs
from fieldtech.domain.text import plain
from fieldtech.failures import one_line
from fieldtech.paths import Locations
from fieldtech.screens.link_state import LinkState
from fieldtech.screens.messages import (
    AgentReady,
    HQChanged,
    HQFound,
    ReadyLooked,
    SyncFinished,
)
from fieldtech.screens.status_bar import StatusBar
from fieldtech.store import Store

if TYPE_CHECKING:
    from textual.timer import Timer

    from fieldtech.screens.base import FieldScreen
    from fieldtech.sync.summary import Reassignment, SyncSummary

PIECE_GAP = 0.01  # seconds between two pieces of the sync stack's import, for keys and frames
# Starting sync (its imports, its first try) is work a person should not feel: it waits
# while they type, until a pause this long, but no longer than DEFER_AT_MOST after start.
TYPING_PAUSE = 0.4
DEFER_AT_MOST = 10.0
# The first background sync waits this long after the agent is ready: the first seconds
# after the queue appears are when a person starts typing, and a sync's start (its worker,
# the status bar redrawn) landing on the first keystrokes adds to the slowest of them.
FIRST_SYNC_AFTER = 2.0
SYNC_EVERY = 30.0  # seconds between syncs while online (when HQ's wait says nothing)
SYNC_AFTER_CHANGE = 2.0  # a change goes out soon after it is saved
MAX_BACKOFF = 300.0


class SyncLink(Protocol):
    """What the app needs of its sync agent (fieldtech.sync.agent.SyncAgent, or a test's)."""

    @property
    def online(self) -> bool: ...

    def sync_once(self) -> SyncSummary: ...


class SwitchableSyncLink(SyncLink, Protocol):
    """The demo's agent: its signal can be cut and restored."""

    def set_online(self, online: bool) -> None: ...


class ReachingSyncLink(SyncLink, Protocol):
    """An agent that asks whether HQ is there before it loads its HTTP stack."""

    @property
    def http_ready(self) -> bool: ...

    def reach(self) -> SyncSummary | None: ...


class WatchingSyncLink(SyncLink, Protocol):
    """An agent that can hold a wait at HQ and call back when HQ has changes."""

    def watch_for_work(self, on_changes: Callable[[], None]) -> None: ...


class SyncingApp(App[None]):
    """FieldtechApp's sync wiring (a base of its own so app.py stays about screens)."""

    store: Store
    locations: Locations | None
    sync_agent: SyncLink | None
    agent_coming: bool
    wants_background_sync: bool
    sync_budget: int | None

    def _init_sync(self) -> None:
        self._sync_asked = False
        self.link = LinkState()
        self.backoff = SYNC_EVERY
        self._soon: Timer | None = None
        self._retry: Timer | None = None
        self._by_hand = False  # the sync running was asked for with Ctrl+Y: say how it went
        self._pieces: Iterator[str] = iter(())
        self._last_key = 0.0
        self._sync_began = monotonic()
        # Once the link dropped: what the next days' jobs lack here (None: not looked, or
        # nothing), said on the status bar until a sync goes through.
        self.not_ready: int | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key = monotonic()
        await super().on_event(event)

    def _typing(self) -> bool:
        """A person is typing (a key within TYPING_PAUSE), and starting sync may wait."""
        now = monotonic()
        return now - self._last_key < TYPING_PAUSE and now - self._sync_began < DEFER_AT_MOST

    def now(self) -> datetime:
        """The app's clock (FieldtechApp's, injected by tests)."""
        raise NotImplementedError

    @property
    def background_sync(self) -> bool:
        """Sync soon after changes and on an interval: asked for, and there is an agent."""
        return self.wants_background_sync and self.sync_agent is not None

    @property
    def can_toggle_link(self) -> bool:
        return self.sync_agent is not None and hasattr(self.sync_agent, "set_online")

    @property
    def syncing(self) -> bool:
        return self.link.syncing

    # -- the agent ----------------------------------------------------------------------------
    def _start_background_sync(self) -> None:
        self.set_timer(FIRST_SYNC_AFTER, self._first_sync)
        self.set_interval(SYNC_EVERY, self._on_interval)
        if hasattr(self.sync_agent, "watch_for_work"):
            cast(WatchingSyncLink, self.sync_agent).watch_for_work(self._hq_has_changes)

    def _first_sync(self) -> None:
        if self._typing():
            self.set_timer(TYPING_PAUSE, self._first_sync)
            return
        self.action_sync_now()

    def _hq_has_changes(self) -> None:
        """Called on the waiter's thread: only a message crosses to the app's loop."""
        self.post_message(HQChanged())

    @on(HQChanged)
    def _sync_for_changes(self, _message: HQChanged) -> None:
        # A sync already running arms the next wait when it ends: that wait answers at
        # once if what HQ announced came after it.
        if self.sync_agent is not None and self.sync_agent.online:
            self.action_sync_now()

    def _build_agent(self) -> None:
        """Import the sync stack a piece per turn of the loop, between frames and keys
        (fieldtech.sync.preload), then build the agent from the profile's credential. Not in
        a thread: an import holds the interpreter whole, and quitting would wait for it."""
        from fieldtech.sync import preload

        self._load(preload.AGENT, self._agent_loaded)

    def _load(self, names: tuple[str, ...], then: Callable[[], object]) -> None:
        from fieldtech.sync import preload

        self._sync_began = monotonic()  # the loading waits for a pause in typing from now
        self._pieces = preload.pieces(names)
        self._next_piece(then)

    def _next_piece(self, then: Callable[[], object]) -> None:
        if self._typing():
            self.set_timer(TYPING_PAUSE / 4, lambda: self._next_piece(then))
            return
        try:
            more = next(self._pieces, None) is not None
        except Exception:  # a piece that fails: what needs it says why when it imports it
            logs.log.exception("preloading the sync stack")
            more = True
        if more:
            self.set_timer(PIECE_GAP, lambda: self._next_piece(then))
        else:
            then()

    def _agent_loaded(self) -> None:
        try:
            from fieldtech.sync.agent import SyncAgent

            locations = cast(Locations, self.locations)  # agent_coming: there are locations
            agent = SyncAgent.from_profile(
                locations.device_db, locations.credential, self.sync_budget
            )
        except Exception as exc:
            logs.log.error("the sync agent could not start", exc_info=exc)
            self.post_message(AgentReady(None, f"sync cannot start here: {one_line(exc)}"))
            return
        self.post_message(AgentReady(agent))

    @on(AgentReady)
    def _agent_ready(self, message: AgentReady) -> None:
        self.agent_coming = False
        if message.error:
            self.notify(message.error, severity="error", timeout=10)
        self.sync_agent = message.agent
        if self.background_sync:
            self._start_background_sync()
        if self._sync_asked:
            self.action_sync_now()
        self.update_status()

    def _on_interval(self) -> None:
        if self.sync_agent is not None and self.sync_agent.online:
            self.action_sync_now()

    def on_unmount(self) -> None:
        if self.sync_agent is not None and hasattr(self.sync_agent, "close"):
            self.sync_agent.close()

    def data_changed(self) -> None:
        self.update_status()
        if self.background_sync and cast(SyncLink, self.sync_agent).online:
            if self._soon is not None:
                self._soon.stop()
            self._soon = self.set_timer(SYNC_AFTER_CHANGE, self.action_sync_now)

    # -- sync -----------------------------------------------------------------------------------
    def action_sync_by_hand(self) -> None:
        """Asked for by a person: every outcome is said, even a link that is down."""
        if self.sync_agent is not None and not self.sync_agent.online:
            self.notify("no signal: your changes wait here and go when the link is back (F5)")
            return
        if self.sync_agent is not None:
            self._by_hand = True
            if not self.syncing:
                self.notify("syncing…", timeout=2)
        self.action_sync_now()

    def action_sync_now(self) -> None:
        if self.sync_agent is None and self.agent_coming:
            self._sync_asked = True  # asked for before the agent was ready: sync when it is
            return
        if self.sync_agent is None:
            self.notify("not enrolled with HQ: run `fieldtech enroll URL CODE`", severity="warning")
            return
        if self.syncing:
            return
        self.link.syncing = True
        self.update_status()
        self._sync_worker()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync_worker(self, found: bool = False) -> None:
        """`found`: HQ was found and its HTTP stack loaded (or tried): sync, whatever the
        stack's state, so a stack that cannot load is said once by the sync itself."""
        agent = cast(SyncLink, self.sync_agent)
        if not found and hasattr(agent, "reach"):
            reaching = cast(ReachingSyncLink, agent)
            early = reaching.reach()  # HQ out of reach: said without loading the HTTP stack
            if early is not None:
                self.post_message(SyncFinished(early))
                return
            if not reaching.http_ready:
                self.post_message(HQFound())
                return
        self.post_message(SyncFinished(agent.sync_once()))

    @on(HQFound)
    def _hq_found(self, _message: HQFound) -> None:
        """Something listens at HQ's address: load the HTTP stack on this loop, a piece
        between two frames (as the agent's own), then sync (still marked as syncing)."""
        from fieldtech.sync import preload

        self._load(preload.HTTP, lambda: self._sync_worker(found=True))

    @on(SyncFinished)
    def _sync_finished(self, message: SyncFinished) -> None:
        self.link.syncing = False
        s = message.summary
        by_hand, self._by_hand = self._by_hand, False
        if by_hand:
            self._say_outcome(s)
        if s.get("ok"):
            self.link.succeeded()
            self.not_ready = None
            self.backoff = SYNC_EVERY
            if s.get("rejected"):
                self.notify(
                    f"HQ refused {len(s['rejected'])} change(s): see Sync (F2)", severity="warning"
                )
            for moved in s.get("reassigned") or ():
                self.notify(_reassigned_words(moved), severity="warning", timeout=12)
        else:
            dropped = self.link.failing_since is None
            self._sync_failed(str(s.get("error") or "sync failed"), bool(s.get("unreachable")))
            if dropped and self.store.path is not None:
                self._look_ready()
        self.update_status()
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh and s.get("pulled"):
            refresh()
        elif type(self.screen).__name__ == "SyncScreen":
            cast("FieldScreen[None]", self.screen).refresh_data()

    @work(thread=True, exclusive=True, group="ready", exit_on_error=False)
    def _look_ready(self) -> None:
        """Ready to leave coverage? Looked at once when the link drops, off the screens'
        thread and on a connection of its own."""
        from fieldtech.services.readiness import check_file

        assert self.store.path is not None
        got = check_file(self.store.path, 2, enrolled=True)
        missing = [g for g in got.gaps if g.what not in ("outbox", "enrolled")]
        self.post_message(ReadyLooked(len(missing)))

    @on(ReadyLooked)
    def _ready_looked(self, message: ReadyLooked) -> None:
        if self.link.failing_since is not None:  # a sync may have gone through meanwhile
            self.not_ready = message.missing or None
            self.update_status()

    def _say_outcome(self, s: Mapping[str, Any]) -> None:
        if s.get("ok"):
            self.notify(f"synced: {s.get('acknowledged', 0)} sent, {s.get('pulled', 0)} received")
        elif s.get("unreachable"):  # refusals and other failures are said in any case
            self.notify(plain(str(s.get("error") or "")), severity="warning", timeout=10)

    def _sync_failed(self, error: str, unreachable: bool) -> None:
        first = self.link.failing_since is None
        self.link.failed(error, unreachable=unreachable, at=self.now())
        if first and not unreachable:
            # HQ answered but refused, or something broke: worth saying once, not every try.
            self.notify(error, severity="error", timeout=10)
        if self.background_sync and cast(SyncLink, self.sync_agent).online:
            # Try again later, less and less often; one retry pending at a time.
            self.backoff = min(self.backoff * 2, MAX_BACKOFF)
            if self._retry is not None:
                self._retry.stop()
            self._retry = self.set_timer(self.backoff, self.action_sync_now)

    # -- the link ------------------------------------------------------------------------------
    def action_toggle_link(self) -> None:
        if not self.can_toggle_link:
            self.notify("there is no link to switch here (demo only)", severity="warning")
            return
        agent = cast(SwitchableSyncLink, self.sync_agent)  # can_toggle_link: it can
        online = not agent.online
        agent.set_online(online)
        self.notify(
            "signal back: syncing" if online else "signal lost: work stays here",
            severity="information" if online else "warning",
        )
        if online:
            self.action_sync_now()
        self.update_status()

    def update_status(self) -> None:
        bars = list(self.screen.query(StatusBar))
        if not bars:
            return
        counts = self.store.outbox_counts()
        self.link.enrolled = self.sync_agent is not None or self.agent_coming
        self.link.switched_off = self.sync_agent is not None and not self.sync_agent.online
        for bar in bars:
            bar.show(
                link=self.link,
                pending=counts.get("pending", 0),
                rejected=counts.get("rejected", 0),
                last_ok=self.store.meta("last_sync_ok"),
                conflicts=self.store.count_conflicts(),
                now=self.now(),
                not_ready=self.not_ready,
            )


def _reassigned_words(moved: Reassignment) -> str:
    from fieldtech.domain.text import plain
    from fieldtech.domain.timefmt import local_time

    to = f" to {plain(moved['to'])}" if moved.get("to") else ""
    when = f" at {local_time(moved['at'])}" if moved.get("at") else ""
    return f"{plain(moved.get('ref') or 'a job')} was reassigned{to}{when}: it left this device"

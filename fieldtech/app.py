"""The technician's app: screens, keys, the command palette and the background sync wiring.

Thin by intent: screens do the drawing, services do the work, the sync agent does the I/O
(in a thread worker that posts `SyncFinished`; only handlers touch widgets).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from fieldtech import logs
from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.roles import manages_a_team
from fieldtech.domain.text import plain
from fieldtech.paths import Locations
from fieldtech.screens.link_state import LinkState
from fieldtech.screens.messages import AgentReady, SyncFinished
from fieldtech.screens.palette import ScreenCommands
from fieldtech.screens.queue import QueueScreen
from fieldtech.screens.status_bar import StatusBar
from fieldtech.store import Store, open_store

if TYPE_CHECKING:
    from textual.timer import Timer

    from fieldtech.screens.base import FieldScreen
    from fieldtech.services import Device
    from fieldtech.sync.summary import Reassignment, SyncSummary

PROFILE = "profile"  # build the sync agent from the profile's credential, after the first frame
SETTLE_MEMORY = 1.0  # seconds after the first frame: one full collection, then freeze
PIECE_GAP = 0.01  # seconds between two pieces of the sync stack's import, for keys and frames
SYNC_EVERY = 30.0  # seconds between syncs while online
SYNC_AFTER_CHANGE = 2.0  # a change goes out soon after it is saved
MAX_BACKOFF = 300.0
CLOCK_TICK = 15.0  # seconds: ages and SLA countdowns on screen move on while nobody types

_Result = TypeVar("_Result")


class SyncLink(Protocol):
    """What the app needs of its sync agent (fieldtech.sync.agent.SyncAgent, or a test's)."""

    @property
    def online(self) -> bool: ...

    def sync_once(self) -> SyncSummary: ...


class SwitchableSyncLink(SyncLink, Protocol):
    """The demo's agent: its signal can be cut and restored."""

    def set_online(self, online: bool) -> None: ...


class FieldtechApp(App[None]):
    TITLE = "fieldtech"
    # The demo's stand-in for the customer's phone: a job's confirmation code by job id.
    customer_phone: Callable[[str], str | None] | None = None
    COMMANDS = App.COMMANDS | {ScreenCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
        Binding("f1", "help", "Help", id="app.help", tooltip="Every key; what statuses mean"),
        Binding(
            "f2",
            "sync_screen",
            "Sync",
            id="app.sync_screen",
            tooltip="Link, waiting changes, refusals, conflicts",
        ),
        Binding("ctrl+y", "sync_by_hand", "Sync now", id="app.sync_now", show=False),
        Binding(
            "f5",
            "toggle_link",
            "Signal",
            id="app.toggle_link",
            tooltip="Demo: lose or regain the link",
        ),
    ]

    def __init__(
        self,
        store: Store,
        device: Device | None = None,
        *,
        sync_agent: Any = None,
        now: Callable[[], datetime] | None = None,
        locations: Locations | None = None,
        background_sync: bool = True,
    ):
        super().__init__()
        self.store = store
        self._device = device
        # The agent needs httpx and the protocol's models (~0.1 s to import): with PROFILE
        # it is built in a thread once the queue is up, if this device is enrolled.
        self.agent_coming = (
            sync_agent == PROFILE and locations is not None and locations.credential.exists()
        )
        self.sync_agent: SyncLink | None = None if sync_agent == PROFILE else sync_agent
        self._now = now
        self.locations = locations
        self.wants_background_sync = background_sync
        self._sync_asked = False
        self.link = LinkState()
        self.backoff = SYNC_EVERY
        self._soon: Timer | None = None
        self._retry: Timer | None = None
        self._by_hand = False  # the sync running was asked for with Ctrl+Y: say how it went
        self._load_settings()

    # -- settings ------------------------------------------------------------------------
    def _load_settings(self) -> None:
        if self.locations is None:
            return
        for path, apply in (
            (self.locations.settings, self._apply_settings),
            (self.locations.keymap, self._apply_keymap),
        ):
            if not path.exists():
                continue
            import tomllib  # only when there are settings to read: start-up counts

            try:
                apply(tomllib.loads(path.read_text()))
            except (tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
                self.call_later(self.notify, f"{path.name} ignored: {exc}", severity="error")

    def _apply_settings(self, data: dict[str, Any]) -> None:
        theme = data.get("theme")
        if theme:
            if theme not in self.available_themes:
                raise ValueError(f"unknown theme {theme!r}")
            self.theme = theme

    def _apply_keymap(self, data: dict[str, Any]) -> None:
        self.set_keymap({str(k): str(v) for k, v in data.items()})

    # -- time and scope ---------------------------------------------------------------------
    def now(self) -> datetime:
        return self._now() if self._now else datetime.now(UTC)

    def now_iso(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    @functools.cached_property
    def is_supervisor(self) -> bool:
        """Asked on every key binding check: read once (the role changes only on enrolling)."""
        return manages_a_team(self.store.meta("role"))

    @property
    def device(self) -> Device:
        """Opened on first use: the services it brings are not needed to show the queue."""
        if self._device is None:
            from fieldtech.services import Device

            if self._now:
                self._device = Device.open(self.store, now=self._now)
            else:
                self._device = Device.open(self.store)
        return self._device

    @property
    def technician_filter(self) -> str | None:
        if self.store.meta("role") == "technician":
            return self.store.meta("user_id")
        return None

    @property
    def background_sync(self) -> bool:
        """Sync soon after changes and on an interval: asked for, and there is an agent."""
        return self.wants_background_sync and self.sync_agent is not None

    @property
    def can_toggle_link(self) -> bool:
        return self.sync_agent is not None and hasattr(self.sync_agent, "set_online")

    # -- lifecycle -------------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.is_supervisor:
            from fieldtech.screens.board import BoardScreen

            self.push_screen(BoardScreen())
        else:
            self.push_screen(QueueScreen())  # its status bar is filled as it is shown
        self.call_after_refresh(self._started)
        if self.agent_coming:
            self.call_after_refresh(self._build_agent)  # after the first frame
        elif self.background_sync:
            self._start_background_sync()

    @property
    def syncing(self) -> bool:
        return self.link.syncing

    def _started(self) -> None:
        # The command turns the collector off while starting (fieldtech.launch): back on.
        gc.enable()
        self.set_timer(SETTLE_MEMORY, self._settle_memory)
        self.set_interval(CLOCK_TICK, self._clock_tick)
        if self.locations is not None:
            logs.setup(self.locations.logs)

    def _clock_tick(self) -> None:
        """Times on screen are relative to now: redraw them as now moves."""
        self.update_status()
        tick = getattr(self.screen, "clock_tick", None)
        if tick is not None and self.screen.is_mounted:  # a screen just pushed is not built
            tick()

    def _settle_memory(self) -> None:
        # Free start-up's garbage once, then keep what remains (it lives as long as the
        # app) out of the collector's full passes, which otherwise cost ~20 ms at random
        # keystrokes.
        gc.collect()
        gc.freeze()

    def _start_background_sync(self) -> None:
        self.set_timer(0.5, self.action_sync_now)
        self.set_interval(SYNC_EVERY, self._on_interval)

    def _build_agent(self) -> None:
        """Import the sync stack a piece per turn of the loop, between frames and keys
        (fieldtech.sync.preload), then build the agent from the profile's credential. Not in
        a thread: an import holds the interpreter whole, and quitting would wait for it."""
        from fieldtech.sync import preload

        self._pieces = preload.pieces()
        self._next_piece()

    def _next_piece(self) -> None:
        try:
            if next(self._pieces, None) is not None:
                self.set_timer(PIECE_GAP, self._next_piece)
                return
            from fieldtech.sync.agent import SyncAgent

            locations = cast(Locations, self.locations)  # agent_coming: there are locations
            agent = SyncAgent.from_profile(locations.device_db, locations.credential)
        except Exception as exc:
            logs.log.error("the sync agent could not start", exc_info=exc)
            self.post_message(AgentReady(None, f"sync cannot start here: {_one_line(exc)}"))
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

    def run_for_shell(self) -> int:
        """Run in the terminal and give the shell the truth: non-zero when the app crashed,
        with the traceback kept in the profile's log as well as on the screen."""
        self.run()
        crash = self._exception
        if crash is not None:
            if self.locations is not None:
                logs.setup(self.locations.logs)
            logs.log.error("the app stopped on an unexpected error", exc_info=crash)
        return self.return_code or (1 if crash is not None else 0)

    # -- doing things -------------------------------------------------------------------------
    def notify(self, message: str, *, markup: bool = False, **kwargs: Any) -> None:
        """Messages carry people's words (a typed SKU, a reason, HQ's refusal): shown as
        written, never parsed as markup."""
        super().notify(message, markup=markup, **kwargs)

    def perform(
        self,
        fn: Callable[..., _Result],
        *args: Any,
        quiet: bool = False,
        refusal_shown: bool = False,
        **kwargs: Any,
    ) -> _Result | None:
        """Run a service (one local transaction). Saved → say so; refused → say why, once
        (`refusal_shown`: the caller shows the reason itself, in its dialog). Anything else
        (a full disk, a bug) is not saved either: one line, and the log."""
        try:
            result = fn(*args, **kwargs)
        except FieldtechError as exc:
            if not refusal_shown:
                self.notify(exc.message, severity="error", timeout=8)
            return None
        except Exception as exc:
            self.report_failure(exc, "not saved")
            return None
        if not quiet:
            self.notify("saved on this device", timeout=2)
        self.data_changed()
        return result

    def data_changed(self) -> None:
        self.update_status()
        if self.background_sync and cast(SyncLink, self.sync_agent).online:
            if self._soon is not None:
                self._soon.stop()
            self._soon = self.set_timer(SYNC_AFTER_CHANGE, self.action_sync_now)

    def open_job(self, job_id: str) -> None:
        from fieldtech.screens.job import JobScreen

        self.push_screen(JobScreen(job_id))

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
    def _sync_worker(self) -> None:
        summary = cast(SyncLink, self.sync_agent).sync_once()
        self.post_message(SyncFinished(summary))

    @on(SyncFinished)
    def _sync_finished(self, message: SyncFinished) -> None:
        self.link.syncing = False
        s = message.summary
        by_hand, self._by_hand = self._by_hand, False
        if by_hand:
            self._say_outcome(s)
        if s.get("ok"):
            self.link.succeeded()
            self.backoff = SYNC_EVERY
            if s.get("rejected"):
                self.notify(
                    f"HQ refused {len(s['rejected'])} change(s): see Sync (F2)", severity="warning"
                )
            for moved in s.get("reassigned") or ():
                self.notify(_reassigned_words(moved), severity="warning", timeout=12)
        else:
            self._sync_failed(str(s.get("error") or "sync failed"), bool(s.get("unreachable")))
        self.update_status()
        refresh = getattr(self.screen, "refresh_data", None)
        if refresh and s.get("pulled"):
            refresh()
        elif type(self.screen).__name__ == "SyncScreen":
            cast("FieldScreen[None]", self.screen).refresh_data()

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

    # -- failures ---------------------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker ends up, whichever screen started it: one line
        for the person, the traceback in the log, and sync free to run again."""
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        error = worker.error if isinstance(worker.error, BaseException) else None
        if worker.group == "sync":
            self.link.syncing = False
            words = f"sync failed unexpectedly ({_one_line(error)}); see the log"
            logs.log.error("sync worker failed", exc_info=error)
            self._sync_failed(words, unreachable=False)
            self.update_status()
            return
        self.report_failure(error, "that did not work")

    def report_failure(self, error: BaseException | None, what: str) -> None:
        """An unexpected error: said once in a line, kept whole in the log."""
        logs.log.error("%s", what, exc_info=error)
        words = _plain_db_words(error) if error is not None else None
        where = f" (log: {self.locations.logs})" if self.locations is not None else ""
        self.notify(f"{what}: {words or _one_line(error)}{where}", severity="error", timeout=12)

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

    # -- navigation -----------------------------------------------------------------------------
    # Screens not needed at start are imported when first opened (faster cold start).
    def action_help(self) -> None:
        from fieldtech.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_sync_screen(self) -> None:
        from fieldtech.screens.sync_status import SyncScreen

        self.push_screen(SyncScreen())

    def action_home(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

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
            )


def _one_line(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    from fieldtech.domain.text import plain

    text = plain(str(error)) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:160]


def _plain_db_words(error: BaseException) -> str | None:
    """A full disk, a locked or damaged file, in the words the CLI uses for them."""
    import sqlite3

    if isinstance(error, FieldtechError):
        return error.message
    if isinstance(error, sqlite3.DatabaseError):
        from fieldtech.store.db import plain_words

        words = plain_words(error)
        return words.message if words is not None else None
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return None


def _reassigned_words(moved: Reassignment) -> str:
    from fieldtech.domain.text import plain
    from fieldtech.domain.timefmt import local_time

    to = f" to {plain(moved['to'])}" if moved.get("to") else ""
    when = f" at {local_time(moved['at'])}" if moved.get("at") else ""
    return f"{plain(moved.get('ref') or 'a job')} was reassigned{to}{when}: it left this device"


def build_app(
    locations: Locations,
    *,
    store: Store | None = None,
    device: Device | None = None,
    sync_agent: Any = PROFILE,
    now: Callable[[], datetime] | None = None,
    background_sync: bool = True,
) -> FieldtechApp:
    """The one way the CLI and the tests build the app: data folder and HQ link injected."""
    store = store or open_store(locations.device_db)
    return FieldtechApp(
        store,
        device,
        sync_agent=sync_agent,
        now=now,
        locations=locations,
        background_sync=background_sync,
    )

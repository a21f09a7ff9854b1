"""The technician's app: its screens, keys, settings, the command palette and the one
place a failure is said. How it syncs is its base's (fieldtech.app_sync).

Thin by intent: screens do the drawing, services do the work, the sync agent does the I/O
(in a thread worker that posts a message; only handlers touch widgets).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from fieldtech import logs
from fieldtech.app_sync import SwitchableSyncLink, SyncingApp, SyncLink
from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.roles import manages_a_team
from fieldtech.failures import one_line, plain_db_words
from fieldtech.paths import Locations
from fieldtech.screens.palette import ScreenCommands
from fieldtech.screens.queue import QueueScreen
from fieldtech.store import Store, open_store

if TYPE_CHECKING:
    from fieldtech.services import Device

__all__ = ["PROFILE", "FieldtechApp", "SwitchableSyncLink", "SyncLink", "build_app"]

PROFILE = "profile"  # build the sync agent from the profile's credential, after the first frame
SETTLE_MEMORY = 1.0  # seconds after the first frame: one full collection, then freeze
CLOCK_TICK = 15.0  # seconds: ages and SLA countdowns on screen move on while nobody types

_Result = TypeVar("_Result")


class FieldtechApp(SyncingApp):
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
        self._init_sync()
        self.memory_settled = False  # start-up's garbage collected (SETTLE_MEMORY)
        self.sync_budget: int | None = None  # bytes a sync may use (settings: sync_budget)
        # attachment_max_size, attachment_long_edge, pictures_folder (domain.attachments)
        self.attachment_settings: dict[str, Any] = {}
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
        problems = []
        theme = data.get("theme")
        if theme:
            if theme in self.available_themes:
                self.theme = theme
            else:
                problems.append(f"unknown theme {theme!r}")
        if data.get("sync_budget") is not None:  # each setting stands alone: one bad one
            from fieldtech.domain.errors import BadInput  # does not drop the others
            from fieldtech.domain.sending import parse_budget

            try:
                self.sync_budget = parse_budget(str(data["sync_budget"]))
            except BadInput as exc:
                problems.append(exc.message)
        from fieldtech.domain.attachments import from_settings

        self.attachment_settings, bad = from_settings(data)
        problems += bad
        if problems:
            raise ValueError("; ".join(problems))

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

    def _started(self) -> None:
        # The command turns the collector off while starting (fieldtech.launch): back on,
        # with what start-up built frozen first, so the first keystrokes do not pay for a
        # full pass over it.
        gc.freeze()
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
        # Free start-up's garbage once, at a pause in the typing (a full pass costs tens of
        # ms), then keep what remains (it lives as long as the app) out of the collector's
        # full passes, which otherwise cost ~20 ms at random keystrokes.
        if self._typing():
            self.set_timer(SETTLE_MEMORY / 4, self._settle_memory)
            return
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.memory_settled = True

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

    def open_job(self, job_id: str) -> None:
        from fieldtech.screens.job import JobScreen

        self.push_screen(JobScreen(job_id))

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
            words = f"sync failed unexpectedly ({one_line(error)}); see the log"
            logs.log.error("sync worker failed", exc_info=error)
            self._sync_failed(words, unreachable=False)
            self.update_status()
            return
        self.report_failure(error, "that did not work")

    def report_failure(self, error: BaseException | None, what: str) -> None:
        """An unexpected error: said once in a line, kept whole in the log."""
        logs.log.error("%s", what, exc_info=error)
        words = plain_db_words(error) if error is not None else None
        where = f" (log: {self.locations.logs})" if self.locations is not None else ""
        self.notify(f"{what}: {words or one_line(error)}{where}", severity="error", timeout=12)

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

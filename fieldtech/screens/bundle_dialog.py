"""Sync by file, from the sync screen: export this device's changes for HQ, import HQ's
reply, or carry a colleague's bundle (fieldtech.sync.offline does each)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select
from textual.worker import Worker, WorkerState

from fieldtech.domain.errors import FieldtechError
from fieldtech.paths import read_whole
from fieldtech.screens.shown import data

if TYPE_CHECKING:
    from fieldtech.services import Device

ACTIONS = [
    ("Export my changes for HQ", "export"),
    ("Import HQ's reply", "import"),
    ("Carry a colleague's bundle to HQ", "carry"),
]
FAILED = "that did not work: nothing changed on this device (the log has the details)"


class BundleDialog(ModalScreen[bool]):
    DEFAULT_CSS = """
    BundleDialog { align: center middle; }
    BundleDialog > Vertical { width: 76; max-width: 100%; height: auto;
                              border: thick $accent; padding: 0 1; background: $surface; }
    BundleDialog Label { width: 100%; }
    BundleDialog Label.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Close", id="dialog.cancel")]

    def __init__(self, db_path: Path, credential: Path):
        super().__init__()
        self.db_path, self.credential = db_path, credential
        self.busy = False
        self.changed = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Sync by file: a bundle anyone may carry, sealed and signed", id="prompt")
            yield Select(ACTIONS, value="export", allow_blank=False, id="action")
            yield Input(placeholder="file: e.g. /media/stick/my-changes.ftb", id="path")
            yield Label("", id="said")
            yield Button("Go (Enter)", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def on_input_submitted(self) -> None:
        self._go()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._go()

    def _go(self) -> None:
        if self.busy:
            return
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self._say("Type the bundle's file, e.g. on a USB stick.", error=True)
            return
        action = str(self.query_one("#action", Select).value)
        self.busy = True
        self._say("working…")
        # File and crypto work, on a connection of its own: off the screen's thread.
        work = partial(run_bundle, action, Path(path).expanduser(), self.db_path, self.credential)
        self.run_worker(work, thread=True, name="bundle")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "bundle" or not event.worker.is_finished:
            return
        self.busy = False
        if event.state is WorkerState.SUCCESS and event.worker.result is not None:
            ok, words = event.worker.result
            self.changed = self.changed or ok
            self._say(words, error=not ok)
        elif event.state is WorkerState.ERROR:  # the app's handler logs it and says so
            self._say(FAILED, error=True)

    def _say(self, words: str, error: bool = False) -> None:
        said = self.query_one("#said", Label)
        said.set_class(error, "error")
        said.update(data(words))

    def action_cancel(self) -> None:
        self.dismiss(self.changed)


def run_bundle(action: str, path: Path, db_path: Path, credential: Path) -> tuple[bool, str]:
    """One bundle action on its own connection to the device file: (done, words). A
    person's mistake (a wrong file, a reply for another device) comes back as its words."""
    from fieldtech.services import Device
    from fieldtech.store import open_store

    device = Device.open(open_store(db_path))
    try:
        return True, _act(device, action, path, credential)
    except FieldtechError as exc:
        return False, exc.message
    finally:
        device.store.close()


def _act(device: Device, action: str, path: Path, credential: Path) -> str:
    from fieldtech.sync import offline

    if action == "export":
        return offline.export_bundle(device, credential, path).words()
    if action == "import":
        return offline.import_reply(device, credential, read_whole(path)).words()
    return offline.carry(device, read_whole(path)).words()

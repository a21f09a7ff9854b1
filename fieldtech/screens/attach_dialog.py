"""Attach a photo or file: pick it from the device's folders (where a camera or phone drops
pictures), say what it shows, and it is kept on the device at once."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label
from textual.worker import Worker, WorkerState

from fieldtech.domain.errors import FieldtechError
from fieldtech.screens.dialogs import NOT_SAVED
from fieldtech.screens.shown import data

if TYPE_CHECKING:
    from fieldtech.app import FieldtechApp
    from fieldtech.screens.base import FieldScreen
    from fieldtech.services.attachments import Kept

KINDS = {".jpg", ".jpeg", ".png", ".pdf"}


def pictures_folder(setting: str | None) -> Path:
    """Where to start looking: the setting, else where cameras and phones put pictures."""
    home = Path.home()
    for folder in (setting, home / "DCIM", home / "Pictures", home):
        if folder and Path(folder).expanduser().is_dir():
            return Path(folder).expanduser()
    return Path(os.getcwd())


class Pictures(DirectoryTree):
    """Folders, and the files that can be attached (by their name, or with none: some
    cameras give none; the attach reads the kind from the first bytes); hidden ones left
    out."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (p.suffix.lower() in KINDS or _is_dir(p))
        ]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a folder that cannot be looked into is left out, not a failure
        return False


class AttachFile(ModalScreen[bool]):
    DEFAULT_CSS = """
    AttachFile { align: center middle; }
    AttachFile > Vertical { width: 76; max-width: 100%; height: 90%;
                            border: thick $accent; padding: 0 1; background: $surface; }
    AttachFile Pictures { height: 1fr; }
    AttachFile Label { width: 100%; }
    AttachFile Label.error { color: $error; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, title: Text, start: Path, attaching: Attaching):
        super().__init__()
        self.title_text = title
        self.start = start
        self.attaching = attaching
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, id="prompt")
            yield Pictures(self.start, id="tree")
            yield Input(placeholder="file: pick one above, or type its path", id="path")
            yield Input(placeholder="caption: what it shows (optional)", id="caption")
            yield Label("", classes="error", id="error")
            yield Button("Attach (Enter)", variant="primary", id="ok")

    def on_mount(self) -> None:
        self.query_one("#tree", Pictures).focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one("#path", Input).value = str(event.path)
        self.query_one("#caption", Input).focus()

    def on_input_submitted(self) -> None:
        self._done()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self._done()

    def _done(self) -> None:
        if self.busy:
            return
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.refused("Pick a file above (Enter on it), or type its path.")
            return
        why = self.attaching.check(self.query_one("#caption", Input).value)
        if why is not None:
            self.refused(why)
            return
        # The copy (and a picture's downscaling) is file work: off the screen's thread.
        self.busy = True
        self.query_one("#error", Label).update("keeping the file on this device…")
        self.run_worker(partial(self.attaching.keep, path), thread=True, name="attach")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "attach" or not event.worker.is_finished:
            return
        self.busy = False
        if event.state is WorkerState.SUCCESS:
            got = event.worker.result
            why = got if isinstance(got, str) or got is None else self.attaching.record(got)
            if got is None:
                why = NOT_SAVED
            if why is None:
                self.dismiss(True)
            else:
                self.refused(why)
        elif event.state is WorkerState.ERROR:  # the app's handler logs it and says so
            self.refused(NOT_SAVED)

    def refused(self, why: str) -> None:
        self.query_one("#error", Label).update(data(why))

    def action_cancel(self) -> None:
        self.dismiss(False)


class Attaching:
    """Attaching from the app, in the service's three steps: `check` and `record` on the
    screen's thread (they read and write the device file), `keep` in a worker."""

    def __init__(self, app: FieldtechApp, job_id: str, item: str | None, settings: dict[str, Any]):
        self.app, self.job_id, self.item = app, job_id, item
        self.limits = {k: v for k, v in settings.items() if k in ("limit", "long_edge")}
        self.caption: str | None = None

    def check(self, caption: str) -> str | None:
        from fieldtech.domain.errors import FieldtechError
        from fieldtech.services import attachments

        try:
            self.caption = attachments.check(
                self.app.device, self.job_id, item=self.item, caption=caption
            )
        except FieldtechError as exc:
            return exc.message
        return None

    def keep(self, path: str) -> Kept | str:
        """The copy; a person's mistake comes back as its words (no worker failure)."""
        from fieldtech.services import attachments

        try:
            return attachments.keep(self.app.store, path, **self.limits)
        except attachments.KeepRefused as exc:
            self.app.call_from_thread(attachments.forget, self.app.device, exc.orphans)
            return exc.message
        except FieldtechError as exc:
            return exc.message

    def record(self, kept: Kept) -> str | None:
        from fieldtech.domain.attachments import size_words
        from fieldtech.screens.dialogs import perform_saying_why
        from fieldtech.services import attachments

        row, why = perform_saying_why(
            self.app,
            attachments.record,
            self.app.device,
            self.job_id,
            kept,
            item=self.item,
            caption=self.caption,
            quiet=True,
        )
        if row is not None:
            self.app.notify(
                f"attached {row['name']} ({size_words(row['size'])}): it goes to HQ "
                "at the next sync",
                timeout=4,
                markup=False,
            )
        return why


def attach_dialog(screen: FieldScreen, job_id: str, item: str | None = None) -> AttachFile:
    """The dialog for attaching to the job (or one checklist item of it) from `screen`."""
    from fieldtech.screens.shown import line

    app = screen.app
    job = app.store.job(job_id)
    settings = dict(app.attachment_settings)  # settings.toml
    title = line("Attach to ", data(job["ref"]), *((" · ", data(item)) if item else ()))
    start = pictures_folder(settings.get("pictures_folder"))
    return AttachFile(title, start, Attaching(app, job_id, item, settings))

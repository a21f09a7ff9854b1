"""Attach a photo or file: pick it from the device's folders (where a camera or phone drops
pictures), say what it shows, and it is kept on the device at once."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label

from fieldtech.screens.shown import data

if TYPE_CHECKING:
    from fieldtech.screens.base import FieldScreen

KINDS = {".jpg", ".jpeg", ".png", ".pdf"}

Attempt = Callable[[str, str], str | None]
"""Attach the file at this path with this caption: None when kept, else why not."""


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

    def __init__(self, title: Text, start: Path, attempt: Attempt):
        super().__init__()
        self.title_text = title
        self.start = start
        self.attempt = attempt

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
        path = self.query_one("#path", Input).value.strip()
        if not path:
            self.refused("Pick a file above (Enter on it), or type its path.")
            return
        why = self.attempt(path, self.query_one("#caption", Input).value)
        if why is not None:
            self.refused(why)
            return
        self.dismiss(True)

    def refused(self, why: str) -> None:
        self.query_one("#error", Label).update(data(why))

    def action_cancel(self) -> None:
        self.dismiss(False)


def attach_dialog(screen: FieldScreen, job_id: str, item: str | None = None) -> AttachFile:
    """The dialog for attaching to the job (or one checklist item of it) from `screen`."""
    from fieldtech.domain.attachments import size_words
    from fieldtech.screens.dialogs import perform_saying_why
    from fieldtech.screens.shown import line
    from fieldtech.services import attachments

    app = screen.app
    job = app.store.job(job_id)

    chosen = dict(app.attachment_settings)  # settings.toml
    folder = chosen.pop("pictures_folder", None)

    def attempt(path: str, caption: str) -> str | None:
        kept, why = perform_saying_why(
            app,
            attachments.attach,
            app.device,
            job_id,
            path,
            item=item,
            caption=caption,
            quiet=True,
            **chosen,
        )
        if kept is not None:
            app.notify(
                f"attached {kept['name']} ({size_words(kept['size'])}): it goes to HQ "
                "at the next sync",
                timeout=4,
                markup=False,
            )
        return why

    title = line("Attach to ", data(job["ref"]), *((" · ", data(item)) if item else ()))
    return AttachFile(title, pictures_folder(folder), attempt)

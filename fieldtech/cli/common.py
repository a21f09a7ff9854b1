"""What every device command shares: the profile and the device (`Context`), and the
console output both houses use (`fieldtech.output`, re-exported here for the device's
commands)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from fieldtech.domain.errors import FieldtechError
from fieldtech.output import (
    MESSAGE_MAX,
    PIPE_WIDTH,
    Piece,
    console,
    emit_json,
    fail,
    json_option,
    line,
    say,
    show,
    table,
    when,
)
from fieldtech.paths import Locations, locate
from fieldtech.store import Store, open_store

if TYPE_CHECKING:
    from fieldtech.services import Device

__all__ = [
    "MESSAGE_MAX",
    "PIPE_WIDTH",
    "Context",
    "Piece",
    "console",
    "emit_json",
    "fail",
    "json_option",
    "line",
    "pass_ctx",
    "say",
    "show",
    "table",
    "when",
]


class Context:
    def __init__(self, home: str | None):
        self.home = home
        self._store: Store | None = None
        self._device: Device | None = None

    @property
    def locations(self) -> Locations:
        return locate(self.home)

    def check_home(self) -> None:
        """The profile's data folder can be made (what opening the store would find out),
        checked without making anything: a --home under a regular file is said plainly."""
        folder = self.locations.device_db.parent
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise FieldtechError(_cannot_keep(folder, os.strerror(errno.ENOTDIR)))

    @property
    def store(self) -> Store:
        if self._store is None:
            path = self.locations.device_db
            try:
                self._store = open_store(path)
            except OSError as exc:
                raise FieldtechError(_cannot_keep(path.parent, exc.strerror or str(exc))) from None
        return self._store

    @property
    def device(self) -> Device:
        if self._device is None:
            from fieldtech.services import Device  # only for commands that change things

            self._device = Device.open(self.store)
        return self._device

    def settings(self) -> dict[str, Any]:
        """settings.toml of this profile ({} when there is none); a file that cannot be
        read is said in one line."""
        path = self.locations.settings
        if not path.exists():
            return {}
        import tomllib

        try:
            return tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise FieldtechError(f"{path.name} cannot be read: {exc}") from None

    def attachment_settings(self) -> dict[str, Any]:
        """What attaching takes from settings.toml; a bad value stops with its reason."""
        from fieldtech.domain.attachments import from_settings

        found, problems = from_settings(self.settings())
        if problems:
            raise FieldtechError(f"{self.locations.settings.name}: {'; '.join(problems)}")
        return found

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _cannot_keep(folder: Path, why: str) -> str:
    return f"cannot keep this profile's data in {folder}: {why} (choose another --home)"


pass_ctx = click.make_pass_decorator(Context)

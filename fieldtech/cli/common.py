"""What every device command shares: the profile and the device (`Context`), and the
console output both houses use (`fieldtech.output`, re-exported here for the device's
commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

    @property
    def store(self) -> Store:
        if self._store is None:
            path = self.locations.device_db
            try:
                self._store = open_store(path)
            except OSError as exc:
                raise FieldtechError(
                    f"cannot keep this profile's data in {path.parent}: "
                    f"{exc.strerror or exc} (choose another --home)"
                ) from None
        return self._store

    @property
    def device(self) -> Device:
        if self._device is None:
            from fieldtech.services import Device  # only for commands that change things

            self._device = Device.open(self.store)
        return self._device

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


pass_ctx = click.make_pass_decorator(Context)

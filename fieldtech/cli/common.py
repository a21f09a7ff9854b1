"""What every command shares: the profile, the device, output in tables or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console

from fieldtech.paths import Locations, locate
from fieldtech.store import Store, open_store

if TYPE_CHECKING:
    from fieldtech.services import Device


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"fieldtech: {message}", err=True)
    sys.exit(code)


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
            self._store = open_store(self.locations.device_db)
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

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def table(
    title: str | None,
    columns: Iterable[str | tuple[str, dict[str, Any]]],
    rows: Iterable[Iterable[Any]],
    *,
    empty: str = "nothing to show",
) -> None:
    """A Rich table, one line per row. A column is a title, or (title, Column options)
    such as min_width, so narrow terminals shorten the long columns, not the ids."""
    rows = list(rows)
    if not rows:
        console().print(f"[dim]{empty}[/dim]")
        return
    from rich import box
    from rich.table import Table  # here: opening the app prints no tables

    t = Table(
        title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for c in columns:
        name, opts = (c, {}) if isinstance(c, str) else c
        t.add_column(name, **{"no_wrap": True, "overflow": "ellipsis", **opts})
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    console().print(t)


def show(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        emit_json(data)
    else:
        human()

"""Console output both commands share, the device's and HQ's: one-line failures, tables,
JSON, local times. It imports no store, services or server, so either house can use it.

People's and HQ's text never reaches the console as markup: every cell and every line is
a `rich.text.Text` of `plain(...)`, styled only by what we wrote (see `line`)."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.text import Text

from fieldtech.domain.text import plain
from fieldtech.domain.timefmt import local_time

# Piped output is for grep and scripts: it is not cut to a terminal's width.
PIPE_WIDTH = 100_000
# A message longer than this is cut in the middle: one line stays one readable line.
MESSAGE_MAX = 2000


def fail(message: str, code: int = 1) -> NoReturn:
    text = plain(message)
    if len(text) > MESSAGE_MAX:
        half = MESSAGE_MAX // 2
        text = f"{text[:half]}…{text[-half:]}"
    click.echo(f"fieldtech: {text}", err=True)
    sys.exit(code)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def console() -> Console:
    """A terminal is as wide as it is; a pipe or a file gets whole lines ($COLUMNS wins)."""
    wide = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH if wide else None)


Piece = str | Text | tuple[object, str] | None


def line(*pieces: Piece) -> Text:
    """One line of output. A str is shown as written (made plain, never markup); a
    (value, style) pair is a styled value; a Text is taken as it is."""
    out = Text()
    for p in pieces:
        if p is None:
            continue
        if isinstance(p, Text):
            out.append_text(p)
        elif isinstance(p, tuple):
            out.append(plain(p[0]), style=p[1] or None)
        else:
            out.append(plain(p))
    return out


def say(*pieces: Piece) -> None:
    console().print(line(*pieces))


# json.dumps escapes C0 controls; C1 controls and DEL would reach a terminal raw.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def emit_json(data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    click.echo(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def when(iso: object) -> str:
    """A stored UTC time as this machine's local time, with the zone's name."""
    return local_time(iso) if isinstance(iso, str) else plain(iso)


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    if isinstance(value, tuple):
        return line(value)
    return Text(plain(value))


def table(
    title: str | None,
    columns: Iterable[str | tuple[str, dict[str, Any]]],
    rows: Iterable[Iterable[Any]],
    *,
    empty: str = "nothing to show",
) -> None:
    """A Rich table, one line per row. A column is a title, or (title, Column options)
    such as min_width, so narrow terminals shorten the long columns, not the ids.
    A cell is shown as plain text; a (value, style) pair or a Text carries our style."""
    rows = list(rows)
    if not rows:
        say((empty, "dim"))
        return
    from rich import box
    from rich.table import Table  # here: opening the app prints no tables

    t = Table(
        title=Text(plain(title)) if title else None,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for c in columns:
        name, opts = (c, {}) if isinstance(c, str) else c
        t.add_column(Text(name), **{"no_wrap": True, "overflow": "ellipsis", **opts})
    for r in rows:
        t.add_row(*(_cell(v) for v in r))
    console().print(t)


def show(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        emit_json(data)
    else:
        human()

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
from rich.cells import cell_len
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


def _width(cell: Text) -> int:
    return max((cell_len(part) for part in cell.plain.split("\n")), default=0)


def _fit(
    width: int, names: list[str], opts: list[dict[str, Any]], rows: list[list[Text]]
) -> tuple[list[int | None], set[int]]:
    """Each column's width when the table is wider than `width`, and the columns that leave
    it. A column keeps its whole width unless it says how it gives way: `squeeze` (a weight)
    shares what the whole ones leave, `fold` leaves the table to be printed beneath it."""
    natural = [max([cell_len(n)] + [_width(r[i]) for r in rows]) for i, n in enumerate(names)]

    if sum(natural) + 3 * len(names) - 1 <= width:  # the box's edges, dividers, padding
        return [None] * len(names), set()
    folded = {i for i, o in enumerate(opts) if o.get("fold")}
    kept = [i for i in range(len(names)) if i not in folded]
    squeezed = [i for i in kept if opts[i].get("squeeze")]
    widths: list[int | None] = [natural[i] if i in kept else None for i in range(len(names))]
    room = width - 2 * (len(kept) - 1)  # narrow: no edges, two spaces between columns
    room -= sum(natural[i] for i in kept if i not in squeezed)
    # Everyone squeezed starts at its least; what is left goes by weight, none past its need.
    least = {i: min(natural[i], opts[i].get("least", 6)) for i in squeezed}
    given = dict(least)
    spare = room - sum(least.values())
    hungry = [i for i in squeezed if given[i] < natural[i]]
    while spare > 0 and hungry:
        weight = sum(opts[i]["squeeze"] for i in hungry)
        step = {i: max(1, spare * opts[i]["squeeze"] // weight) for i in hungry}
        for i in hungry:
            add = min(step[i], natural[i] - given[i], spare)
            given[i] += add
            spare -= add
        hungry = [i for i in hungry if given[i] < natural[i]]
    for i in squeezed:
        widths[i] = given[i]
    return widths, folded


def table(
    title: str | None,
    columns: Iterable[str | tuple[str, dict[str, Any]]],
    rows: Iterable[Iterable[Any]],
    *,
    empty: str = "nothing to show",
) -> None:
    """A Rich table, one line per row where it fits. A column is a title, or (title,
    options): Rich's Column options, and how it gives way in a narrow terminal, where a
    column is shown whole unless it says otherwise (ids, keys, states, times):
    `squeeze=N` shares the room left by weight N (free text), cut with an ellipsis or,
    with `wrap=True`, wrapped onto more lines; `least=N` is the least it is cut to;
    `fold=True` leaves the table and each value is printed beneath it, on its own line.
    A cell is shown as plain text; a (value, style) pair or a Text carries our style."""
    rows = list(rows)
    if not rows:
        say((empty, "dim"))
        return
    from rich import box
    from rich.padding import Padding
    from rich.table import Table  # here: opening the app prints no tables

    specs = [(c, {}) if isinstance(c, str) else c for c in columns]
    names = [n for n, _ in specs]
    opts = [dict(o) for _, o in specs]
    cells = [[_cell(v) for v in r] for r in rows]
    out = console()
    widths, folded = _fit(out.width, names, opts, cells)
    narrow = any(w is not None for w in widths)
    t = Table(
        title=Text(plain(title)) if title else None,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=not narrow,
        collapse_padding=narrow,
    )
    own = ("squeeze", "wrap", "least", "fold")
    for i, (name, o) in enumerate(zip(names, opts, strict=True)):
        if i in folded:
            continue
        wrap = bool(o.get("wrap")) and widths[i] is not None
        column: dict[str, Any] = {"no_wrap": not wrap, "overflow": "fold" if wrap else "ellipsis"}
        column |= {k: v for k, v in o.items() if k not in own}
        if widths[i] is not None:
            column |= {"width": widths[i], "min_width": None, "max_width": None}
        t.add_column(Text(name), **column)
    for r in cells:
        t.add_row(*(c for i, c in enumerate(r) if i not in folded))
    _print_stripped(out, t)
    if any(r[i].plain.strip() for i in folded for r in cells):
        out.print()
    for i in sorted(folded):
        for r in cells:
            if r[i].plain.strip():
                head = f"{names[0]}{r[0].plain}" if names[0] == "#" else r[0].plain
                said = line(f"{head} ", (f"{names[i]}: ", "dim"), r[i])
                _print_stripped(out, Padding(said, (0, 0, 0, 2)))


def _print_stripped(out: Console, renderable: Any) -> None:
    """Print without the spaces Rich pads lines with: piped lines end at their last word."""
    for segments in out.render_lines(renderable, out.options, pad=False):
        while segments and not segments[-1].text.rstrip():
            segments.pop()
        if segments:
            last = segments[-1]
            segments[-1] = type(last)(last.text.rstrip(), last.style, last.control)
        out.print(Text.assemble(*((s.text, s.style or "") for s in segments)), no_wrap=True)


def show(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        emit_json(data)
    else:
        human()

"""People's and HQ's text on screen: always `rich.text.Text`, never markup.

Textual parses a `str` handed to Static, Label, DataTable cells, options and notifications
as markup, so a note reading `compressor [/] checked` would end the app. Every string that
someone typed goes through `data()` (controls made visible, see fieldtech.domain.text);
styled words we wrote ourselves join it with `line()` as (text, style) pairs, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from fieldtech.domain.jobs import STATUS_WORDS, Status
from fieldtech.domain.text import plain
from fieldtech.domain.timefmt import local_time

Part = str | tuple[str, str] | Text


def data(value: object, style: str = "", *, multiline: bool = False) -> Text:
    """A person's or HQ's text, shown exactly as written (one line unless `multiline`)."""
    return Text(plain(value, multiline=multiline), style=style, end="")


def line(*parts: Part) -> Text:
    """One line of our literals (`str`, or `(str, style)`) and data (`Text` from `data`).
    A literal `str` is not parsed as markup either: brackets are shown as brackets."""
    return Text.assemble(*parts, end="")


def cut(value: object, cells: int) -> Text:
    """A person's text in at most `cells` cells: a long name ends in '…' so what follows it
    on the line (counts, keys) stays in view."""
    text = plain(value)
    if cell_len(text) > cells:
        text = set_cell_size(text, cells - 1) + "…"
    return Text(text, end="")


def one_line(text: Text) -> Text:
    """For a line of fixed height one: cut at the edge, never wrapped out of sight."""
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


def lines(rows: Iterable[Text | str]) -> Text:
    return Text("\n", end="").join(Text(r, end="") if isinstance(r, str) else r for r in rows)


def when(iso: object, *, date: bool = True, zone: bool = True) -> Text:
    """A stored UTC time in this device's zone, with the zone's name ('2026-11-23 14:45 +0545');
    a value that is no time is shown as the text it is."""
    if iso is None or iso == "":
        return Text("?", end="")
    return data(local_time(str(iso), date=date, zone=zone))


def status_words(value: object) -> str:
    """A job status in words; a status this build does not know, as it was sent."""
    try:
        return STATUS_WORDS[Status(cast(str, value))]  # Status refuses what is not one
    except ValueError:
        return plain(value)

"""The queue's search box: Textual's Input, without a layout of the whole screen per key.

Input keeps its scrollable width at the text's width, and Widget's `virtual_size` asks for
a layout whenever it changes: every character typed laid the screen out again and redrew
all of it (header, table, status line, footer) where only the box and the table changed.
The box's own size is fixed by its style (one line in a border, the screen's width), so
its text's width needs a repaint, never a layout.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class SearchBox(Input):
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), repaint=True, layout=False)

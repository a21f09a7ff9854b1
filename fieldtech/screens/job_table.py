"""The queue's table: fixed-width one-line columns, a row cursor, drawn line by line.

Textual's DataTable measures, lays out and caches every cell it is given; at start-up it
costs ~20 ms more than showing the same text (its stylesheet, its caches, its first
layout). The queue needs much less: columns of known width, one line per job, a cursor,
zebra stripes. This draws only the lines on screen, each built once per job and look
(its cells, stripe, cursor, focus, theme) and kept across refills: a keystroke that narrows
a search mostly shows jobs it drew a moment ago. It looks like DataTable (same colours,
same padding) so the screens stay alike.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from fieldtech.domain.text import plain

PAD = 1  # blank cells either side of a column, as DataTable draws them
KEPT_LINES = 1024  # drawn lines kept across refills before they are all let go


class JobTable(ScrollView, can_focus=True):
    BINDINGS = [
        # As DataTable: Enter chooses the row, and is not listed in the footer (the screen
        # says what choosing does).
        Binding("enter", "select", "Select", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First", show=False),
        Binding("end,ctrl+end", "last", "Last", show=False),
    ]
    COMPONENT_CLASSES = {
        "job-table--header",
        "job-table--cursor",
        "job-table--even-row",
    }
    DEFAULT_CSS = """
    JobTable {
        overflow-y: scroll;
        background: $surface;
        color: $foreground;
        &:focus {
            background-tint: $foreground 5%;
            & > .job-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .job-table--header { background-tint: $foreground 5%; }
        }
        &:dark > .job-table--even-row { background: $surface-darken-1 40%; }
        & > .job-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .job-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .job-table--even-row { background: $surface-lighten-1 50%; }
        & > .job-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, init=False)
    # A refill that changes the row count asks for a repaint, not a layout of the screen
    # (Widget's is a layout reactive: a narrowing search laid out header, table and footer
    # again, ~30 ms at 120x40). The vertical scrollbar is always shown (CSS above), so no
    # count makes it come or go and change the table's width; its thumb is sized in
    # _resized. The width is fixed by the columns, set once on mount.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), repaint=True, layout=False)

    class Highlighted(Message):
        """The cursor moved to a row."""

        def __init__(self, table: JobTable, row: int, key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = row
            self.key = key

    class Selected(Message):
        """A row was chosen: Enter, or a click."""

        def __init__(self, table: JobTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[tuple[str, int]] = []
        self.keys: list[str] = []
        self._cells: list[tuple[Text | str, ...]] = []
        self._index: dict[str, int] = {}  # a job's row, for a click (lines name their job)
        # Drawn lines by (job, stripe, cursor, focus, theme), with the cells they show:
        # a line is used again only while its job's cells are equal to those.
        self._lines: dict[tuple, tuple[tuple[Text | str, ...], Strip]] = {}
        self._header_line: dict[tuple, Strip] = {}
        self._pass_style: Style | None = None  # the widget's style, while one pass draws

    # -- content ---------------------------------------------------------------------------
    def add_column(self, label: str, width: int) -> None:
        self.columns.append((label, width))
        self._resized()

    def add_row(self, *cells: Text | str, key: str) -> None:
        self._index[key] = len(self.keys)
        self.keys.append(key)
        self._cells.append(cells)

    def set_cell(self, index: int, column: int, cell: Text | str) -> None:
        """Change one cell (a countdown that moved on): only that row is drawn again."""
        cells = list(self._cells[index])
        if cells[column] == cell:
            return
        cells[column] = cell
        self._cells[index] = tuple(cells)  # its drawn lines no longer match: drawn again
        self.refresh()

    def clear(self) -> None:
        self.keys.clear()
        self._cells.clear()
        self._index.clear()
        if len(self._lines) > KEPT_LINES:
            self._lines.clear()
        self.cursor_row = 0
        self.scroll_to(y=0, animate=False, immediate=True)

    def rows_added(self) -> None:
        """Call after adding rows: size the scroll area and draw."""
        self._resized()
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self.keys)

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if self.keys else None

    def row_text(self, index: int) -> list[str]:
        return [str(c) for c in self._cells[index]]

    def _resized(self) -> None:
        width = sum(w + 2 * PAD for _, w in self.columns)
        self.virtual_size = Size(width, len(self.keys) + 1)  # +1: the header
        self.vertical_scrollbar.window_virtual_size = self.virtual_size.height

    def _row_segments(self, cells) -> list[Segment]:
        console = self.app.console
        out: list[Segment] = []
        for cell, (_, width) in zip(cells, self.columns, strict=False):
            if isinstance(cell, str) and not cell.isprintable():
                # A line break or tab would break the row on screen, an escape sequence would
                # reach the terminal: people's text as fieldtech.domain.text shows it.
                cell = plain(cell)
            if isinstance(cell, str):
                # Plain text, the common case: one segment, cropped or padded by cell width
                # (a Chinese name takes two cells a character).
                out.append(Segment(" " * PAD + set_cell_size(cell, width) + " " * PAD))
                continue
            if not cell.spans:
                # One style over the whole text (the queue's priority and countdown): cut as
                # a plain cell is, without laying the text out; the padding is unstyled.
                words = cell.plain if cell.plain.isprintable() else plain(cell.plain)
                if cell_len(words) > width:
                    words = set_cell_size(words, width)
                style = console.get_style(cell.style) if cell.style else None
                out.append(Segment(" " * PAD))
                out.append(Segment(words, style))
                out.append(Segment(" " * (width - cell_len(words) + PAD)))
                continue
            text = cell.copy()
            text.no_wrap = True
            text.truncate(width, overflow="crop")
            body = Segment.apply_style(text.render(console), console.get_style(text.style))
            out.append(Segment(" " * PAD))
            out.extend(body)
            out.append(Segment(" " * (width - text.cell_len + PAD)))
        return out

    # -- drawing ---------------------------------------------------------------------------
    def render_lines(self, crop: Region) -> list[Strip]:
        # `rich_style` walks every ancestor's styles on each call: once per pass, not per line
        # (it was a fifth of a keystroke's frame).
        self._pass_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._pass_style = None

    @property
    def _style(self) -> Style:
        return self.rich_style if self._pass_style is None else self._pass_style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:
            line = self._header()
        else:
            index = scroll_y + y - 1
            if index >= len(self.keys):
                return Strip.blank(width, self._style)
            line = self._row_line(index)
        return line.crop_extend(scroll_x, scroll_x + width, self._style)

    def _header(self) -> Strip:
        key = (self.has_focus, self.app.theme)
        if key not in self._header_line:
            style = self._style + self.get_component_rich_style("job-table--header")
            segments = []
            for label, width in self.columns:
                cell = label[:width]
                segments.append(Segment(" " * PAD + cell + " " * (width - len(cell) + PAD)))
            self._header_line[key] = Strip(Segment.apply_style(segments, style))
        return self._header_line[key]

    def _row_line(self, index: int) -> Strip:
        cursor = index == self.cursor_row
        job, cells = self.keys[index], self._cells[index]
        key = (job, index % 2, cursor, self.has_focus, self.app.theme)
        drawn = self._lines.get(key)
        if drawn is None or not _same(drawn[0], cells):
            style = self._style
            if index % 2 == 0:
                style += self.get_component_rich_style("job-table--even-row")
            post: Style | None = None
            if cursor:
                # As DataTable: the cursor's colour wins over a cell's, a cell's own
                # background (the red of "emergency") stays.
                cursor_style = self.get_component_rich_style("job-table--cursor")
                style += cursor_style
                post = Style.from_color(color=cursor_style.color)
            meta = Style.from_meta({"job": job})
            segments = self._row_segments(cells)
            drawn = self._lines[key] = (
                cells,
                Strip(Segment.apply_style(segments, style + meta, post)),
            )
        return drawn[1]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()
        self._header_line.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._restyle()

    def _on_blur(self, event: events.Blur) -> None:
        self._restyle()

    def _restyle(self) -> None:
        # The cursor and header colours depend on focus (a part of each line's key).
        self.refresh()

    # -- the cursor ------------------------------------------------------------------------
    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self.keys) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        if not self.keys:
            return
        self._keep_in_view(new)
        self.refresh()
        self.post_message(self.Highlighted(self, new, self.keys[new]))

    @property
    def visible_rows(self) -> int:
        """Rows on screen below the header (a horizontal scrollbar takes one)."""
        return max(1, self.scrollable_content_region.height - 1)

    def _keep_in_view(self, row: int) -> None:
        visible = self.visible_rows
        top = self.scroll_offset.y
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self._page(-1)

    def action_page_down(self) -> None:
        self._page(1)

    def _page(self, direction: int) -> None:
        # As DataTable pages: the view and the cursor move a screenful together.
        page = self.visible_rows * direction
        self.scroll_to(y=self.scroll_offset.y + page, animate=False, immediate=True)
        self.cursor_row += page

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self.keys) - 1

    def action_select(self) -> None:
        if self.keys:
            self.post_message(self.Selected(self, self.keys[self.cursor_row]))

    async def _on_click(self, event: events.Click) -> None:
        row = self._index.get(event.style.meta.get("job", ""))
        if row is None:
            return
        self.cursor_row = row
        self.action_select()


def _same(drawn: tuple[Text | str, ...], cells: tuple[Text | str, ...]) -> bool:
    """The cells a line was drawn from show as these do (Text's == leaves out its style)."""
    return len(drawn) == len(cells) and all(
        a == b and (not isinstance(a, Text) or a.style == b.style)  # type: ignore[union-attr]
        for a, b in zip(drawn, cells, strict=True)
    )

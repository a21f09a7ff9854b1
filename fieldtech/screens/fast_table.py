"""A DataTable that draws one-line text cells directly.

The stock DataTable renders every cell through Rich's layout machinery (padding, wrapping,
measuring), ~0.5 ms a cell: a 35-row refill while someone types costs 100–200 ms. Our cells
are one line of text in a fixed-width column, so this draws them as segments straight away.
Headers, labels and anything that is not plain text or Rich `Text` take the stock path, and
the snapshot tests pin that both paths look the same.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.widgets import DataTable


class FastTable(DataTable):
    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ):
        if row_index < 0 or column_index < 0 or row_index < self.fixed_rows:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        cache = self._cell_render_cache
        if key in cache:
            return cache[key]
        row = self.rows[row_key]
        cell = self._data[row_key][column_key]
        if row.height != 1 or not isinstance(cell, str | Text) or column_index < self.fixed_columns:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pad = self.cell_padding
        inner = max(0, width - 2 * pad)
        text = Text(cell) if isinstance(cell, str) else cell.copy()
        text.no_wrap = True
        text.truncate(inner, overflow="crop")
        style = (
            base_style
            + component_style
            + Style.from_meta({"row": row_index, "column": column_index})
        )
        console = self.app.console
        # Text.render leaves the text's own base style to its caller: apply it here.
        body = Segment.apply_style(text.render(console), console.get_style(text.style))
        # As the stock path does: the space after the text carries the cell's style only.
        segments = [Segment(" " * pad), *body, Segment(" " * (inner - text.cell_len + pad))]
        line = list(Segment.apply_style(segments, style, post_style))
        cache[key] = [line]
        return cache[key]

    def _update_dimensions(self, new_rows) -> None:
        # With every column at a fixed width and one-line rows there is nothing to measure:
        # the stock method would format and measure every cell of every new row.
        if any(c.auto_width for c in self.columns.values()):
            return super()._update_dimensions(new_rows)
        for row_key in new_rows:
            row = self.rows.get(row_key)
            if row is not None and (row.label is not None or row.auto_height or row.height != 1):
                return super()._update_dimensions(new_rows)
        width = sum(c.get_render_width(self) for c in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            width + self._row_label_column_width, self._total_row_height + header
        )

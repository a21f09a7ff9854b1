"""The queue's table: cursor keys, paging, loading more near the end, mouse, no rows."""

from __future__ import annotations

from fieldtech.screens.job import JobScreen
from fieldtech.screens.job_table import JobTable
from fieldtech.screens.queue import QueueScreen
from tests.app_support import make_app

SIZE = (80, 24)


def in_view(table: JobTable) -> bool:
    top = table.scroll_offset.y
    return top <= table.cursor_row < top + table.visible_rows


async def test_cursor_keys_and_paging_keep_the_cursor_in_view(tmp_path):
    app = make_app(tmp_path, jobs=400)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(JobTable)
        assert table.has_focus and table.cursor_row == 0
        await pilot.press("down", "down")
        assert table.cursor_row == 2 and in_view(table)
        await pilot.press("pagedown")
        assert table.cursor_row == 2 + table.visible_rows and in_view(table)
        await pilot.press("pageup", "up", "up", "up")
        assert table.cursor_row == 0 and table.scroll_offset.y == 0


async def test_nearing_the_end_loads_the_next_rows_in_queue_order(tmp_path):
    app = make_app(tmp_path, jobs=400)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(JobTable)
        first = table.row_count
        assert first == SIZE[1] + 10  # a screenful and a little more
        await pilot.press("end")
        await pilot.pause()
        assert table.row_count > first
        want = [r["id"] for r in app.store.queue(screen.filter, limit=table.row_count)]
        assert table.keys == want
        loaded = table.row_count
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == loaded - 1 and in_view(table)
        assert table.row_count > loaded  # the last row is near the end: more came
        await pilot.press("ctrl+home")
        assert table.cursor_row == 0 and table.scroll_offset.y == 0
        loaded = table.row_count
        await pilot.press("ctrl+end")
        assert table.cursor_row == loaded - 1 and in_view(table)


async def test_a_click_on_a_row_opens_that_job(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(JobTable)
        third = table.keys[2]
        await pilot.click("#jobs", offset=(5, 3))  # the header is line 0
        await pilot.pause()
        assert isinstance(app.screen, JobScreen)
        assert app.screen.job_id == third


async def test_an_empty_search_shows_no_rows_and_enter_does_nothing(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"zzzzq", "enter")
        await pilot.pause()
        table = app.screen.query_one(JobTable)
        assert table.row_count == 0 and table.cursor_key is None
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)
        assert "0 shown" in str(app.screen.query_one("#filters").render())


async def test_a_line_break_or_tab_in_a_summary_stays_on_its_row(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(JobTable)
        app.store.db.execute(
            "UPDATE jobs SET summary = ? WHERE id = ?", ["No hot water\nleak\tsink", table.keys[0]]
        )
        app.screen.reload()
        await pilot.pause()
        line = table.render_line(1).text  # line 0 is the header
        assert "No hot water leak sink" in line
        assert "\n" not in line and "\t" not in line
        assert len(line) == table.size.width


async def test_lines_kept_across_refills_show_what_the_rows_hold_now():
    """A refill draws a job again from its kept line only while its cells, stripe and
    cursor are as they were: a changed cell, a changed style or a new place shows."""
    from rich.text import Text
    from textual.app import App, ComposeResult

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield JobTable(id="t")

    def fill(table: JobTable, rows: list[tuple[str, str, Text]]) -> None:
        table.clear()
        for key, words, due in rows:
            table.add_row(words, due, key=key)
        table.rows_added()

    def line(table: JobTable, index: int):
        strip = table.render_line(index + 1)  # line 0 is the header
        return (
            strip.text,
            {seg.style.bgcolor for seg in strip if seg.style} - {None},
            [seg.style.color for seg in strip if seg.style and seg.text.strip() == "2h"],
        )

    app = One()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(JobTable)
        table.add_column("job", 20)
        table.add_column("due", 6)
        fill(table, [("a", "boiler", Text("2h")), ("b", "pump", Text("2h"))])
        await pilot.pause()
        a_first, b_second = line(table, 0), line(table, 1)
        assert "boiler" in a_first[0] and "pump" in b_second[0]

        # b moves to the top (now the cursor's row, an even stripe), a's text changed.
        fill(table, [("b", "pump", Text("2h")), ("a", "boiler, no hot water", Text("2h"))])
        await pilot.pause()
        b_top, a_below = line(table, 0), line(table, 1)
        assert "pump" in b_top[0] and b_top[1] != b_second[1]  # drawn as the cursor's row
        assert "no hot water" in a_below[0]

        # Same words, another style (a countdown turning red, below the cursor's row, whose
        # colour wins): the new style shows.
        fill(table, [("b", "pump", Text("2h")), ("a", "boiler", Text("2h"))])
        await pilot.pause()
        assert line(table, 1)[2][0].name != "red"
        fill(table, [("b", "pump", Text("2h")), ("a", "boiler", Text("2h", style="red"))])
        await pilot.pause()
        colours = line(table, 1)[2]
        assert len(colours) == 1 and colours[0] is not None and colours[0].name == "red"
        assert line(table, 0) == b_top  # b as it was drawn in the same place

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

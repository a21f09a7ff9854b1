"""Keys typed straight after `/` reach the search box, however fast they come."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from tests.app_support import make_app, until


def burst(app, keys: list[tuple[str, str]]) -> None:
    """Queue key events back to back, as a terminal's one read of fast typing delivers."""
    for key, ch in keys:
        event = events.Key(key, ch)
        event.set_sender(app)
        app.post_message(event)


async def test_slash_then_letters_in_one_burst_all_land_in_the_search(tmp_path):
    app = make_app(tmp_path, jobs=40)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        burst(app, [("slash", "/"), ("l", "l"), ("h", "h"), ("a", "a")])
        box = app.screen.query_one("#filter", Input)
        await pilot.pause(0.5)
        assert box.value == "lha"
        assert app.focused is box


async def test_a_second_search_after_escape_in_one_burst(tmp_path):
    app = make_app(tmp_path, jobs=40)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", "w", "escape")
        burst(app, [("slash", "/"), ("z", "z"), ("h", "h")])
        box = app.screen.query_one("#filter", Input)
        await until(pilot, lambda: box.value == "zh", "the search box to hold 'zh'")


async def test_a_slash_typed_in_the_search_is_part_of_it(tmp_path):
    app = make_app(tmp_path, jobs=40)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", "1", "2", "slash", "3")
        box = app.screen.query_one("#filter", Input)
        assert box.value == "12/3"
        assert app.focused is box

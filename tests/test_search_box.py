"""The queue's search box: a key repaints it and the table, never asking to lay the screen
out, and a search longer than the box still scrolls to show what is being typed."""

from __future__ import annotations

from textual.widget import Widget

from tests.app_support import make_app, until


async def test_a_key_in_the_search_box_asks_for_no_layout(tmp_path, monkeypatch):
    """Textual's own Input asks for a layout of the whole screen at every character (its text
    width is a layout reactive), and so does a scrolling widget whose row count changes (its
    virtual size is one), or whose scrollbar comes or goes. A search that narrows from every
    job to a few does all three; nothing should ask."""
    app = make_app(tmp_path, jobs=40)
    asked: list[str] = []
    refresh = Widget.refresh

    def watched(self, *regions, repaint=True, layout=False, recompose=False):
        if layout:
            asked.append(type(self).__name__)
        return refresh(self, *regions, repaint=repaint, layout=layout, recompose=recompose)

    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        await pilot.pause(0.2)
        monkeypatch.setattr(Widget, "refresh", watched)
        await pilot.press(*"lhasa")
        box = app.screen.query_one("#filter")
        await until(pilot, lambda: box.value == "lhasa", "the search box to hold 'lhasa'")
        await pilot.pause(0.2)
        shown = app.screen.query_one("#jobs").row_count
    assert 0 < shown < 20  # the search narrowed the rows from all 40 to a few
    assert asked == []


async def test_a_search_longer_than_the_box_scrolls_to_its_end(tmp_path):
    app = make_app(tmp_path, jobs=40)
    typed = "x" * 100 + "END"  # wider than an 80-column box
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *typed)
        box = app.screen.query_one("#filter")
        await until(pilot, lambda: box.value == typed, "the search box to hold the text")
        await pilot.pause(0.2)
        screen = app.export_screenshot()
    # The box shows the end of what was typed (its start has scrolled out of view).
    assert "END" in screen

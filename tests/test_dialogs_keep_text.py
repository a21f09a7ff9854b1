"""Nothing a person typed is lost: a refused answer keeps its dialog, the words in it, and
says why inside it; the dialogs' words wrap; the parts screen keeps the van's counts in view."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from textual.widgets import DataTable, Input, Label, RadioSet

from fieldtech.screens.checklist import ChecklistScreen
from fieldtech.screens.dialogs import AskText
from fieldtech.screens.hold_dialog import AskHold
from fieldtech.screens.job import JobScreen
from fieldtech.screens.parts import PartsScreen
from tests.app_support import first_ref, make_app


def screen_text(app) -> str:
    """The screen as a terminal gets it, without styles (Textual exports SVG only, so this
    asks the compositor for the same full update)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True)
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


async def open_on_site_job(pilot, app, kind: str | None = None) -> str:
    ref = first_ref(app, "assigned", kind=kind)
    job_id = app.store.job(ref)["id"]
    await app.push_screen(JobScreen(job_id))
    await pilot.pause()
    await pilot.press("a")  # arrived: the job may now take notes, holds, readings
    await pilot.pause()
    return job_id


# -- 1. the parts screen -------------------------------------------------------------------------
@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_parts_screen_shows_sku_name_and_count_with_no_requests(tmp_path, size):
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.push_screen(PartsScreen(app.store.job(first_ref(app, "on_hold"))["id"]))
        await pilot.pause()
        assert app.store.part_requests() == []
        text = screen_text(app)
        assert "on hand" in text
        rows = {line.split()[0]: line for line in text.splitlines() if line.strip()}
        visible_rows = 0
        for part in app.store.van_stock():
            row = next((r for r in rows.values() if part["sku"] in r), None)
            if row is None:
                continue  # below the fold: the table scrolls
            visible_rows += 1
            assert part["name"].split()[0] in row, row  # its name, squeezed if long
            assert str(part["on_hand"]) in row.split(part["sku"], 1)[1], row
        assert visible_rows >= 5
        assert "none" in text  # the empty requests table says so in words


# -- 2. refused answers stay in their dialog -----------------------------------------------------
async def test_a_refused_note_keeps_its_dialog_its_text_and_says_why(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        job_id = await open_on_site_job(pilot, app)
        notes_before = [e for e in app.store.job_events(job_id) if e["kind"] == "note"]
        await pilot.press("n")
        await pilot.pause()
        long_note = "compressor checked " * 270  # over 5,000 characters
        app.screen.query_one("#answer", Input).value = long_note
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskText)  # still open
        assert app.screen.query_one("#answer", Input).value == long_note
        assert "4000" in str(app.screen.query_one("#error", Label).render())
        # Said once, in the dialog beside the text: not again as a notification.
        # (Textual has no public list of the notifications on screen.)
        assert not any("4000" in str(n.message) for n in app._notifications)
        assert [e for e in app.store.job_events(job_id) if e["kind"] == "note"] == notes_before
        # Shortened, it is taken and the dialog goes.
        app.screen.query_one("#answer", Input).value = "compressor checked"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, JobScreen)
        assert any(e["body"] == "compressor checked" for e in app.store.job_events(job_id))


async def test_a_choice_reading_that_is_not_an_option_keeps_its_dialog(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        job_id = await open_on_site_job(pilot, app, kind="install")
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistScreen)
        items = app.screen.items
        key = next(k for k, e in items.items() if e["item"].choices)
        app.screen.query_one(DataTable).move_cursor(row=list(items).index(key))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        app.screen.query_one("#answer", Input).value = "marble"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        assert app.screen.query_one("#answer", Input).value == "marble"
        error = str(app.screen.query_one("#error", Label).render())
        assert "choose one of" in error and items[key]["item"].choices[0] in error
        assert key not in app.store.current_readings(job_id)


async def test_a_reading_outside_its_range_asks_why_in_neutral_words_and_esc_keeps_it(
    tmp_path,
):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        job_id = await open_on_site_job(pilot, app, kind="install")
        await pilot.press("c")
        await pilot.pause()
        items = app.screen.items
        key = next(
            k
            for k, e in items.items()
            if e["item"].type.value == "number"
            and e["item"].out_of_range.value == "warn"
            and (e["item"].min is not None or e["item"].max is not None)
        )
        item = items[key]["item"]
        outside = str(item.min - 1 if item.min is not None else item.max + 1)
        app.screen.query_one(DataTable).move_cursor(row=list(items).index(key))
        await pilot.press("enter")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = outside
        await pilot.press("enter")
        await pilot.pause()
        comment = app.screen.query_one("#answer", Input)
        assert "reducing valve" not in comment.placeholder
        assert "range" in comment.placeholder
        await pilot.press("escape")  # no comment after all: the value comes back, not lost
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        assert app.screen.query_one("#answer", Input).value == outside
        await pilot.press("enter")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = "old pipework"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChecklistScreen)
        reading = app.store.current_readings(job_id)[key]
        assert reading.value == outside and reading.comment == "old pipework"


async def test_dialog_words_wrap_instead_of_being_cut(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_on_site_job(pilot, app)
        await pilot.press("h")
        await pilot.pause()
        for ch in "odd":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "parts, the customer, or" in text and "other." in text


# -- 3. the hold dialog's keys -------------------------------------------------------------------
async def test_hold_enter_on_the_choices_submits_and_space_still_picks(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        job_id = await open_on_site_job(pilot, app)
        await pilot.press("h")
        await pilot.pause()
        for ch in "back":
            await pilot.press(ch)
        await pilot.press("space")
        for ch in "at":
            await pilot.press(ch)
        await pilot.press("enter")  # not one of the set: asked to choose, focus on the set
        await pilot.pause()
        assert isinstance(app.screen, AskHold)
        assert isinstance(app.focused, RadioSet)
        await pilot.press("down")
        await pilot.press("space")  # Space picks, and the dialog stays
        await pilot.pause()
        assert isinstance(app.screen, AskHold)
        picked = app.screen.query_one(RadioSet).pressed_button
        assert picked is not None and picked.id == "for-customer"
        await pilot.press("down")
        await pilot.press("enter")  # Enter picks the highlighted one and answers
        await pilot.pause()
        assert isinstance(app.screen, JobScreen)
        job = app.store.job(job_id)
        assert (job["status"], job["hold_for"], job["hold_reason"]) == (
            "on_hold",
            "other",
            "back at",
        )

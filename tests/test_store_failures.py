"""When SQLite refuses a write — a full disk, a busy or damaged file — the person reads one
plain line, nothing is half-written, and the next try works once the cause is gone."""

from __future__ import annotations

import sqlite3

import pytest

from fieldtech.services import Device, jobs
from fieldtech.store import open_store
from fieldtech.store.db import StoreError, plain_words
from tests.app_support import NOW, first_ref, make_app


def fill_up(store) -> None:
    """No more pages than the file has now: the next page it needs is 'disk full'."""
    pages = store.db.execute("PRAGMA page_count").fetchone()[0]
    store.db.execute(f"PRAGMA max_page_count = {pages}")


def counts(store) -> tuple[int, int, int]:
    q = store.db.execute
    return (
        q("SELECT count(*) FROM job_events").fetchone()[0],
        q("SELECT count(*) FROM outbox").fetchone()[0],
        q("SELECT count(*) FROM meta WHERE key = 'hlc'").fetchone()[0],
    )


def test_a_full_disk_saves_nothing_and_says_so(tmp_path):
    app = make_app(tmp_path)
    store = app.store
    dev = Device.open(store, now=lambda: NOW)
    ref = first_ref(app, "assigned")
    before = counts(store)
    hlc_before = store.meta("hlc")
    fill_up(store)
    big = "x" * 1900
    with pytest.raises(StoreError) as err:
        for _ in range(200):  # the free space inside the last pages runs out quickly
            jobs.note(dev, ref, big)
    assert err.value.message == "the disk is full: nothing was saved; free some space and try again"
    written = counts(store)[0] - before[0]
    # Every note the service returned is there with its outbox entry; the refused one is not.
    assert counts(store)[1] - before[1] == written
    assert store.integrity_ok()
    assert store.meta("hlc") >= (hlc_before or "")
    store.db.execute("PRAGMA max_page_count = 1073741823")
    jobs.note(dev, ref, "space again")
    assert counts(store)[0] - before[0] == written + 1


def test_sqlite_refusals_in_plain_words():
    def words(text: str) -> str | None:
        found = plain_words(sqlite3.OperationalError(text))
        return found.message if found else None

    assert words("database or disk is full").startswith("the disk is full")
    assert words("database is locked").startswith("the data file is busy")
    assert "fieldtech repair" in words("database disk image is malformed")
    assert words("no such column: nope") is None  # a programming error stays an error


async def test_the_app_shows_a_full_disk_and_keeps_running(tmp_path):
    app = make_app(tmp_path)
    ref = first_ref(app, "assigned")
    job_id = app.store.job(ref)["id"]
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.open_job(job_id)
        await pilot.pause()
        fill_up(app.store)
        dev = Device.open(app.store, now=lambda: NOW)
        with pytest.raises(StoreError):  # fill what room is left with notes of this size
            for _ in range(500):
                jobs.note(dev, ref, "y" * 40)
        before = counts(app.store)
        await pilot.press("n")
        await pilot.pause()
        for ch in "y" * 40:
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert counts(app.store) == before
        # The note's dialog stays with the text in it and says why, once, beside it.
        from textual.widgets import Input, Label

        from fieldtech.screens.dialogs import AskText

        assert isinstance(app.screen, AskText)
        assert app.screen.query_one("#answer", Input).value == "y" * 40
        said = str(app.screen.query_one("#error", Label).render())
        assert "the disk is full: nothing was saved; free some space and try again" in said
        assert app.store.job(ref)["status"] == "assigned"
        assert app.store.integrity_ok()


def test_a_damaged_file_is_named_with_its_remedy(tmp_path):
    path = tmp_path / "device.sqlite"
    path.write_bytes(b"this is not a database, it is a shopping list" * 100)
    with pytest.raises(StoreError, match="fieldtech repair"):
        open_store(path)

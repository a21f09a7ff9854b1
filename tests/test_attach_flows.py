"""Attaching photos in the app, driven with Pilot: pick a file from the pictures folder, a
caption, the job shows it with its size and state; a refusal is said in the dialog, which
keeps what was typed; a checklist's photo item takes a file and counts as done."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Label, Static

from fieldtech.domain.checklists import ItemType
from fieldtech.screens.attach_dialog import AttachFile, Pictures
from fieldtech.screens.checklist import ChecklistScreen
from fieldtech.screens.job import JobScreen
from tests.app_support import make_app, until
from tests.pictures import picture
from tests.test_app_flows import open_job, type_text

SIZE = (80, 24)
JPEG = picture(10_000, "flows")


def camera_folder() -> Path:
    """Where the phone drops pictures: under the test's own HOME (tests/conftest.py)."""
    folder = Path.home() / "DCIM" / "Camera"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def job_with_photo_item(app) -> dict:
    for row in app.store.queue(limit=1000):
        job = app.store.job(row["id"])
        if job["template_id"] and job["status"] in ("on_site", "in_progress"):
            t = app.store.template(job["template_id"], job["template_version"])
            if any(i.type is ItemType.PHOTO for i in t.items):
                return job
    raise LookupError("no open job with a photo item")


async def test_attach_a_photo_from_the_camera_folder_with_a_caption(tmp_path):
    folder = camera_folder()
    (folder / "IMG_[b]0412.jpg").write_bytes(JPEG)
    (folder / "notes.txt").write_text("not a picture")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        job = job_with_photo_item(app)
        await open_job(pilot, app, job["ref"])
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, AttachFile), "the attach dialog")
        tree = app.screen.query_one(Pictures)
        assert tree.path == folder.parent  # DCIM, where cameras put pictures
        await until(pilot, lambda: tree.root.children, "the folder's contents")
        camera = tree.root.children[0]
        tree.move_cursor(camera)
        await pilot.press("enter")  # open Camera
        await until(pilot, lambda: camera.children, "the camera folder's files")
        shown = [str(n.label) for n in camera.children]
        assert shown == ["IMG_[b]0412.jpg"]  # only what can be attached; brackets as typed
        tree.move_cursor(camera.children[0])
        await pilot.press("enter")  # pick it: the caption is next
        await until(pilot, lambda: app.screen.query_one("#path", Input).value, "the pick")
        assert app.screen.query_one("#path", Input).value == str(folder / "IMG_[b]0412.jpg")
        assert app.focused is app.screen.query_one("#caption", Input)
        await type_text(pilot, "serial plate")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobScreen), "back on the job")
        (a,) = app.store.attachments(job["id"])
        assert a["name"] == "IMG_[b]0412.jpg" and a["caption"] == "serial plate"
        files = str(app.screen.query_one("#files", Static).render())
        assert "IMG_[b]0412.jpg" in files and "waiting to go" in files and "serial plate" in files


async def test_a_file_that_cannot_be_attached_is_refused_in_the_dialog(tmp_path):
    folder = camera_folder()
    (folder / "notes.txt").write_text("not a picture")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        job = job_with_photo_item(app)
        await open_job(pilot, app, job["ref"])
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, AttachFile), "the attach dialog")
        app.screen.query_one("#path", Input).value = str(folder / "notes.txt")
        app.screen.query_one("#caption", Input).value = "kept [/] as typed"
        app.screen.query_one("#caption", Input).focus()
        await pilot.press("enter")

        def said() -> str:
            return str(app.screen.query_one("#error", Label).render())

        await until(pilot, lambda: "only JPEG" in said(), "the refusal, after the copy's try")
        assert isinstance(app.screen, AttachFile)  # still open, nothing lost
        assert "only JPEG and PNG pictures and PDF files" in said()
        assert app.screen.query_one("#caption", Input).value == "kept [/] as typed"
        app.screen.query_one("#path", Input).value = ""
        await pilot.press("enter")
        assert "Pick a file" in str(app.screen.query_one("#error", Label).render())
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, JobScreen), "back on the job")
        assert app.store.attachments(job["id"]) == []


async def test_a_photo_item_takes_a_file_and_counts_as_done(tmp_path):
    folder = camera_folder()
    (folder / "unit.jpg").write_bytes(JPEG)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        job = job_with_photo_item(app)
        await open_job(pilot, app, job["ref"])
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "the checklist")
        table = app.screen.query_one(DataTable)
        t = app.store.template(job["template_id"], job["template_version"])
        photo = next(i for i in t.items if i.type is ItemType.PHOTO)
        table.move_cursor(row=table.get_row_index(photo.key))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, AttachFile), "the attach dialog")
        app.screen.query_one("#path", Input).value = str(folder / "unit.jpg")
        app.screen.query_one("#caption", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ChecklistScreen), "back on the list")
        (a,) = app.store.attachments(job["id"])
        assert a["item_key"] == photo.key
        row = app.screen.query_one(DataTable).get_row(photo.key)
        assert str(row[0]) == "✓"
        assert "unit.jpg" in str(row[4])
        thumb = app.screen.query_one("#thumb", Static)
        await until(pilot, lambda: thumb.display, "the item's picture under the list")
        assert str(thumb.render()).split("\n")[0] == "▀" * 24
        table = app.screen.query_one(DataTable)
        table.move_cursor(row=0)  # an item without a file: no picture
        await until(pilot, lambda: not thumb.display, "the picture to go")


async def test_a_photo_on_the_device_is_drawn_on_the_job_screen(tmp_path):
    from PIL import Image

    from fieldtech.services import attachments

    picture = tmp_path / "halves.png"
    im = Image.new("RGB", (400, 200), (220, 30, 30))
    im.paste((20, 40, 230), (200, 0, 400, 200))  # the right half blue
    im.save(picture)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        job = job_with_photo_item(app)
        attachments.attach(app.device, job["id"], picture, caption="red and blue")
        await open_job(pilot, app, job["ref"])
        shown = str(app.screen.query_one("#thumb", Static).render()).split("\n")
        assert shown[0] == "▀" * 24 and len(shown) == 6  # 400 x 200: 24 cells by 12 pixels
    from fieldtech.screens.thumbnail import halfblocks

    drawn = halfblocks(picture)
    first, last = drawn.spans[0].style, drawn.spans[23].style
    assert first.color.triplet.red > 200 and first.bgcolor.triplet.blue < 60  # red, left
    assert last.color.triplet.blue > 200 and last.bgcolor.triplet.red < 60  # blue, right


async def test_the_apps_attach_follows_settings_toml(tmp_path):
    """pictures_folder starts the picker; attachment_max_size refuses a larger file in the
    dialog; a bad value is named once."""
    folder = tmp_path / "phone-pictures"
    folder.mkdir()
    (folder / "big.pdf").write_bytes(b"%PDF-1.4\n" + bytes(30_000))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text(
        f'pictures_folder = "{folder}"\nattachment_max_size = "20KB"\nattachment_long_edge = "x"\n'
    )
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]  # no public list in Textual
        assert any("attachment_long_edge is a number of pixels" in m for m in messages)
        job = job_with_photo_item(app)
        await open_job(pilot, app, job["ref"])
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, AttachFile), "the attach dialog")
        assert app.screen.query_one(Pictures).path == folder
        app.screen.query_one("#path", Input).value = str(folder / "big.pdf")
        app.screen.query_one("#caption", Input).focus()
        await pilot.press("enter")

        def said() -> str:
            return str(app.screen.query_one("#error", Label).render())

        await until(pilot, lambda: "at most" in said(), "the refusal")
        assert isinstance(app.screen, AttachFile)
        assert "the file is 30 KB; an attachment can be at most 20 KB" in said()

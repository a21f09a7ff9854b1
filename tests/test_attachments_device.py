"""Attachments on the device: the file kept under its hash, its reference and operation in
one transaction, every refusal clear and leaving nothing behind, and a required photo item
done only with a file attached."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldtech.domain import attachments as A
from fieldtech.domain.checklists import ItemType, missing_for_close
from fieldtech.domain.errors import BadInput, FieldtechError, NotFound
from fieldtech.services import attachments, checklists, jobs
from fieldtech.store import open_store
from tests.conftest import job_with
from tests.pictures import picture

JPEG = b"\xff\xd8\xff\xe0"
PNG = b"\x89PNG\r\n\x1a\n"
PDF = b"%PDF-1.7\n"


def a_file(tmp_path, name, head=JPEG, size=2000, seed=0):
    """A file of `size` bytes: a real picture for a JPEG's or PNG's first bytes (the device
    opens pictures), else those bytes and filler."""
    path = tmp_path / name
    kinds = {JPEG: "JPEG", PNG: "PNG"}
    if head in kinds:
        path.write_bytes(picture(size, f"{name}{seed}", kinds[head]))
    else:
        filler = hashlib.shake_256(f"{name}{seed}".encode()).digest(max(0, size - len(head)))
        path.write_bytes(head + filler)
    return path


def written(store):
    """What a refusal must leave untouched: references, outbox, kept files."""
    kept = sorted(p.name for p in store.files_dir.glob("**/*") if p.is_file())
    refs = store.db.execute("SELECT count(*) FROM attachments").fetchone()[0]
    return refs, len(store.outbox("pending")), kept


# -- domain ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("head", "kind"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (PDF, "application/pdf")],
)
def test_the_kind_is_read_from_the_first_bytes(head, kind):
    assert A.kind_of(head + b"rest") == kind


@given(st.binary(max_size=16))
def test_any_other_first_bytes_are_refused(head):
    if head.startswith((JPEG[:3], PNG, b"%PDF-")):
        return
    with pytest.raises(BadInput, match="only JPEG and PNG pictures and PDF files"):
        A.kind_of(head)


@given(st.text())
def test_a_name_shown_is_its_last_part_without_controls_and_bounded(name):
    clean = A.clean_name(name)
    assert clean and len(clean) <= A.MAX_NAME
    assert "/" not in clean and "\\" not in clean
    assert not any(ord(c) < 32 or ord(c) == 127 for c in clean)


@given(st.text(max_size=600))
def test_a_caption_is_kept_as_typed_but_for_control_characters(caption):
    stripped = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in caption).strip()
    if len(stripped) > A.MAX_CAPTION:
        with pytest.raises(BadInput):
            A.clean_caption(caption)
        return
    assert A.clean_caption(caption) == (stripped or None)


@pytest.mark.parametrize(
    ("size", "words"), [(12, "12 B"), (340_000, "340 KB"), (1_200_000, "1.2 MB")]
)
def test_sizes_read_as_a_phone_shows_them(size, words):
    assert A.size_words(size) == words


# -- attaching ------------------------------------------------------------------------------
def test_attach_keeps_the_file_under_its_hash_with_its_reference_and_operation(device, tmp_path):
    job = job_with(device.store, "in_progress")
    path = a_file(tmp_path, "IMG_0412.jpg", size=50_000)
    data = path.read_bytes()
    before = len(device.store.outbox("pending"))
    a = attachments.attach(device, job["ref"], path, caption="serial [b]plate[/b]")
    sha = hashlib.sha256(data).hexdigest()
    assert a["sha256"] == sha and a["size"] == len(data) and a["media_type"] == "image/jpeg"
    assert a["caption"] == "serial [b]plate[/b]" and a["name"] == "IMG_0412.jpg"
    assert device.store.file_path(sha).read_bytes() == data
    pending = device.store.outbox("pending")
    assert len(pending) == before + 1 and pending[-1]["op"] == "attachment.add"
    assert not a["at_hq"] and a["sent"] == 0
    path.unlink()  # the picture folder's copy may go: the device kept its own
    assert device.store.file_path(sha).read_bytes() == data


def test_the_same_file_on_two_jobs_is_kept_once(device, tmp_path):
    one = job_with(device.store, "in_progress")
    two = job_with(device.store, "assigned")
    path = a_file(tmp_path, "site.png", head=PNG)
    attachments.attach(device, one["id"], path)
    attachments.attach(device, two["id"], path)
    assert len([p for p in device.store.files_dir.glob("*/*") if p.is_file()]) == 1
    assert device.store.uploads_waiting() == (1, path.stat().st_size)


@pytest.mark.parametrize(
    ("make", "words", "error"),
    [
        (lambda t: a_file(t, "notes.txt", head=b"hello"), "only JPEG and PNG", BadInput),
        (lambda t: t / "missing.jpg", "no file", NotFound),
        (lambda t: t, "is a folder, not a file", BadInput),
        (lambda t: a_file(t, "empty.jpg", head=b"", size=0), "only JPEG and PNG", BadInput),
    ],
)
def test_a_file_that_cannot_be_attached_says_why_and_leaves_nothing(
    device, tmp_path, make, words, error
):
    job = job_with(device.store, "in_progress")
    before = written(device.store)
    with pytest.raises(error, match=words):
        attachments.attach(device, job["id"], make(tmp_path))
    assert written(device.store) == before


def test_an_unreadable_file_says_so(device, tmp_path, monkeypatch):
    path = a_file(tmp_path, "locked.jpg")
    real_open = type(path).open

    def denied(self, *args, **kw):  # as for a file another user owns (tests run as root)
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kw)

    monkeypatch.setattr(type(path), "open", denied)
    before = written(device.store)
    with pytest.raises(BadInput, match="cannot be read \\(permission denied\\)"):
        attachments.attach(device, job_with(device.store, "in_progress")["id"], path)
    assert written(device.store) == before


def test_the_size_limit_bounds_what_travels_and_an_over_size_file_leaves_nothing(device, tmp_path):
    job = job_with(device.store, "in_progress")
    attachments.attach(device, job["id"], a_file(tmp_path, "small.pdf", PDF, 10_000), limit=10_000)
    before = written(device.store)
    with pytest.raises(
        BadInput, match="the file is 10,001 bytes; an attachment can be at most 10,000 bytes"
    ):
        attachments.attach(
            device, job["id"], a_file(tmp_path, "big.pdf", PDF, 10_001), limit=10_000
        )
    assert written(device.store) == before
    assert not list(device.store.files_dir.glob(".incoming-*"))


def test_a_large_camera_photo_is_taken_when_its_small_copy_fits(device, tmp_path):
    """The limit is what travels: a 4000 x 3000 photo over the limit as taken is kept when
    its downscaled copy is under it."""
    job = job_with(device.store, "in_progress")
    path = camera_photo(tmp_path, "big.jpg", (4000, 3000))
    limit = path.stat().st_size // 2
    a = attachments.attach(device, job["id"], path, limit=limit)
    assert a["size"] <= limit < path.stat().st_size


def test_the_default_limit_is_15_mb():
    assert A.MAX_BYTES == 15_000_000 and A.size_words(A.MAX_BYTES) == "15.0 MB"


def test_a_full_disk_says_so_and_leaves_nothing(device, tmp_path, monkeypatch):
    job = job_with(device.store, "in_progress")
    path = a_file(tmp_path, "p.jpg", size=300_000)
    before = written(device.store)
    real_write = os.fdopen

    def full(fd, *args, **kw):
        f = real_write(fd, *args, **kw)

        def write(_data):
            raise OSError(errno.ENOSPC, "No space left on device")

        f.write = write
        return f

    monkeypatch.setattr("fieldtech.store.attachments.os.fdopen", full)
    with pytest.raises(BadInput, match="disk is full"):
        attachments.attach(device, job["id"], path)
    monkeypatch.undo()
    assert written(device.store) == before
    assert not list(device.store.files_dir.glob(".incoming-*"))


def test_an_item_must_be_a_photo_or_signature_item_of_the_jobs_checklist(device, tmp_path):
    job = job_with(device.store, "in_progress")
    template = device.store.template(job["template_id"], job["template_version"])
    not_photo = next(
        i for i in template.items if i.type not in (ItemType.PHOTO, ItemType.SIGNATURE)
    )
    path = a_file(tmp_path, "p.jpg")
    before = written(device.store)
    with pytest.raises(BadInput, match="is not a photo or signature item"):
        attachments.attach(device, job["id"], path, item=not_photo.key)
    with pytest.raises(BadInput, match="has no item 'nope'"):
        attachments.attach(device, job["id"], path, item="nope")
    assert written(device.store) == before


def test_a_failure_inside_the_transaction_leaves_no_reference_and_the_bytes_go_later(
    device, tmp_path, monkeypatch
):
    """A crash between keeping the bytes and committing the reference: the bytes are an
    orphan, removed when the store next opens once they are old enough to be no one's
    attach in progress."""
    job = job_with(device.store, "in_progress")
    path = a_file(tmp_path, "p.jpg")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()

    def boom(*_a, **_k):
        raise RuntimeError("killed mid-transaction")

    monkeypatch.setattr(device.store, "add_attachment", boom)
    refs, outbox, _kept = written(device.store)
    with pytest.raises(RuntimeError):
        attachments.attach(device, job["id"], path)
    assert written(device.store)[:2] == (refs, outbox)
    orphan = device.store.file_path(sha)
    assert orphan.exists()
    db_path = device.store.path
    device.store.close()
    assert open_store(db_path).drop_unreferenced() == 0  # too recent: maybe another's attach
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    again = open_store(db_path)  # the open itself tidies
    assert not orphan.exists()
    again.close()


# -- the close check ------------------------------------------------------------------------
def required_photo(store, job):
    """The job's checklist with its photo item made required (a customer's contract)."""
    t = store.template(job["template_id"], job["template_version"])
    photo = next(i for i in t.items if i.type is ItemType.PHOTO)
    items = tuple(dataclasses.replace(i, required=True) if i is photo else i for i in t.items)
    store.put_template(dataclasses.replace(t, items=items))
    return photo


def test_a_required_photo_item_is_done_only_with_a_file_attached(device, tmp_path):
    job = next(
        j
        for j in (device.store.job(r["id"]) for r in device.store.queue(limit=10_000))
        if j["template_id"]
        and j["status"] == "in_progress"
        and any(
            i.type is ItemType.PHOTO
            for i in device.store.template(j["template_id"], j["template_version"]).items
        )
    )
    photo = required_photo(device.store, job)
    blockers = jobs.close_blockers(
        device, device.store.job(job["id"]), outcome="fixed", signoff_name="A", code="1", rating=5
    )
    assert f"{photo.label}: no photo attached" in blockers
    done, total = checklists.checklist(device, job["id"])["progress"]
    attachments.attach(device, job["id"], a_file(tmp_path, "unit.jpg"), item=photo.key)
    blockers = jobs.close_blockers(
        device, device.store.job(job["id"]), outcome="fixed", signoff_name="A", code="1", rating=5
    )
    assert not any(b.startswith(photo.label) for b in blockers)
    cl = checklists.checklist(device, job["id"])
    assert cl["progress"] == (done + 1, total)
    (entry,) = [e for e in cl["items"] if e["item"].key == photo.key]
    assert entry["done"] and entry["attached"]


# Independent of the code's own rules: each item type, with or without a value and a file,
# done or not, as the trade reads it.
DONE = {
    (ItemType.PHOTO, False, False): False,
    (ItemType.PHOTO, True, False): False,  # a typed reference is no photo
    (ItemType.PHOTO, False, True): True,
    (ItemType.SIGNATURE, False, True): True,  # a photographed paper signature
    (ItemType.SIGNATURE, True, False): True,
    (ItemType.SIGNATURE, False, False): False,
    (ItemType.TEXT, False, True): False,  # a file proves no text item
}


@pytest.mark.parametrize(("case", "done"), DONE.items())
def test_what_counts_as_done_for_a_required_item(case, done):
    from fieldtech.domain.checklists import Item, Reading, Template

    kind, has_value, has_file = case
    item = Item("k", "The item", kind, required=True)
    template = Template("t", 1, "T", "repair", None, (item,))
    readings = {"k": Reading("k", "something", "ok")} if has_value else {}
    missing = missing_for_close(
        template,
        readings,
        outcome="fixed",
        signoff_name="A",
        code_given="1",
        code_hash=None,
        rating=5,
        attached=frozenset({"k"}) if has_file else frozenset(),
    )
    assert (missing == []) is done, missing


# -- property: any caption, any name, the CLI faces stay whole ------------------------------
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    caption=st.text(max_size=120),
    name=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
        min_size=1,
        max_size=40,
    ),
)
def test_any_caption_and_file_name_is_kept_as_plain_text(device, tmp_path, caption, name):
    job = job_with(device.store, "in_progress")
    folder = tmp_path / "pics"
    folder.mkdir(exist_ok=True)
    try:
        path = a_file(folder, name, seed=hash((caption, name)))
    except OSError:  # a name this file system cannot hold is no file to attach
        return
    try:
        a = attachments.attach(device, job["id"], path, caption=caption)
    except FieldtechError as exc:
        assert "caption" in exc.message
        return
    assert a["name"] == A.clean_name(name)
    assert a["caption"] == A.clean_caption(caption)


# -- downscaling ----------------------------------------------------------------------------
def camera_photo(tmp_path, name="DSC_0001.jpg", size=(4000, 3000), kind="JPEG"):
    from PIL import Image

    im = Image.effect_noise(size, 30).convert("RGB")
    path = tmp_path / name
    im.save(path, kind, **({"quality": 90} if kind == "JPEG" else {}))
    return path


@pytest.mark.parametrize(
    ("kind", "name", "media"), [("JPEG", "DSC.jpg", "image/jpeg"), ("PNG", "scan.png", "image/png")]
)
def test_a_large_picture_travels_downscaled_and_its_original_stays_until_sent(
    device, tmp_path, kind, name, media
):
    from PIL import Image

    job = job_with(device.store, "in_progress")
    path = camera_photo(tmp_path, name, (3200, 2400) if kind == "PNG" else (4000, 3000), kind)
    original = path.read_bytes()
    a = attachments.attach(device, job["id"], path)
    assert a["media_type"] == media and a["size"] < len(original)
    with Image.open(device.store.file_path(a["sha256"])) as small:
        assert max(small.size) == 1600
        assert small.size[0] / small.size[1] == pytest.approx(4 / 3, rel=0.01)
    assert a["original_sha256"] == hashlib.sha256(original).hexdigest()
    assert device.store.file_path(a["original_sha256"]).read_bytes() == original
    # HQ acknowledged the operation and has the whole small copy: the original goes.
    device.store.forget_acknowledged([a["id"]])
    with device.store.transaction():
        device.store.upload_progress(a["sha256"], a["size"], "2026-11-23T09:00:00Z")
    assert not device.store.file_path(a["original_sha256"]).exists()
    assert device.store.file_path(a["sha256"]).exists()


def test_the_long_edge_is_a_setting_and_a_small_picture_travels_as_taken(device, tmp_path):
    from PIL import Image

    job = job_with(device.store, "in_progress")
    a = attachments.attach(
        device, job["id"], camera_photo(tmp_path, "a.jpg", (1200, 900)), long_edge=800
    )
    with Image.open(device.store.file_path(a["sha256"])) as small:
        assert small.size == (800, 600)
    path = camera_photo(tmp_path, "b.jpg", (640, 480))
    b = attachments.attach(device, job["id"], path, long_edge=800)
    assert b["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert b["original_sha256"] is None


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_a_picture_that_does_not_open_is_refused_and_leaves_nothing(device, tmp_path, kind):
    whole = camera_photo(tmp_path, f"whole.{kind.lower()}", (900, 600), kind).read_bytes()
    cut = tmp_path / f"cut.{kind.lower()}"
    cut.write_bytes(whole[: len(whole) // 2])  # the card was pulled mid-write
    noise = tmp_path / f"noise.{kind.lower()}"
    noise.write_bytes(whole[:8] + bytes(5000))  # the first bytes of one, then nothing
    job = job_with(device.store, "in_progress")
    before = written(device.store)
    for path in (cut, noise):
        with pytest.raises(BadInput, match="the picture does not open"):
            attachments.attach(device, job["id"], path)
    assert written(device.store) == before


# -- settings -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "found", "problems"),
    [
        ({}, {}, []),
        (
            {"attachment_max_size": "2MB", "attachment_long_edge": 1200, "pictures_folder": "~/P"},
            {"limit": 2_000_000, "long_edge": 1200, "pictures_folder": "~/P"},
            [],
        ),
        ({"attachment_long_edge": 0}, {"long_edge": 0}, []),
        ({"attachment_max_size": "lots"}, {}, ["attachment_max_size is a size such as"]),
        ({"attachment_max_size": "10"}, {}, ["at least 1KB"]),
        ({"attachment_long_edge": "big"}, {}, ["attachment_long_edge is a number of pixels"]),
        ({"attachment_long_edge": True}, {}, ["attachment_long_edge is a number of pixels"]),
        ({"pictures_folder": ""}, {}, ["pictures_folder is a folder's path"]),
        (  # one bad setting does not drop the others
            {"attachment_max_size": "lots", "attachment_long_edge": 900},
            {"long_edge": 900},
            ["attachment_max_size"],
        ),
    ],
)
def test_attachment_settings_from_settings_toml(data, found, problems):
    got, bad = A.from_settings(data)
    assert got == found
    assert len(bad) == len(problems)
    for words, said in zip(problems, bad, strict=True):
        assert words in said


def test_a_refused_attachment_leaves_no_reference_upload_or_bytes(device, tmp_path):
    job = job_with(device.store, "in_progress")
    shared = a_file(tmp_path, "shared.jpg")
    alone = a_file(tmp_path, "alone.jpg", seed=1)
    keep = attachments.attach(device, job["id"], shared)
    refused_shared = attachments.attach(device, job["id"], shared, caption="again")
    refused_alone = attachments.attach(device, job["id"], alone)
    with device.store.transaction():
        device.store.park_rejected(refused_shared["id"], "not yours")
        device.store.park_rejected(refused_alone["id"], "not yours")
    left = device.store.attachments(job["id"])
    assert [a["id"] for a in left] == [keep["id"]]
    assert device.store.file_path(keep["sha256"]).exists()  # still named by the kept one
    assert not device.store.file_path(refused_alone["sha256"]).exists()
    assert device.store.uploads_waiting() == (1, shared.stat().st_size)


def test_attaching_to_a_checklist_item_needs_you_on_site(device, tmp_path):
    job = job_with(device.store, "assigned")
    t = device.store.template(job["template_id"], job["template_version"])
    item = next((i for i in t.items if i.type in (ItemType.PHOTO, ItemType.SIGNATURE)), None)
    assert item is not None
    before = written(device.store)
    with pytest.raises(FieldtechError, match="needs you on site"):
        attachments.attach(device, job["id"], a_file(tmp_path, "p.jpg"), item=item.key)
    assert written(device.store) == before
    attachments.attach(device, job["id"], a_file(tmp_path, "p.jpg"))  # the job itself: any time

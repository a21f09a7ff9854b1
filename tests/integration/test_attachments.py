"""Photos and files against a real HQ over HTTP on 127.0.0.1: attach on the device, sync,
and the bytes arrive whole at HQ, resumably, after the day's operations, only for those
allowed to see the job."""

from __future__ import annotations

import hashlib
import json
import os

import httpx
import pytest

from fieldtech.services import attachments, jobs
from fieldtech.sync import protocol
from fieldtech.sync.client import SyncError
from tests.integration.faultproxy import FaultyLink
from tests.integration.world import World
from tests.pictures import picture

pytestmark = pytest.mark.integration

CHUNK = 64 * 1024  # what the issue allows to go twice per cut, and the device's chunk


class Watched(FaultyLink):
    """Records each request (method, path, body bytes) and can cut a chosen PATCH after
    only part of its body reached HQ, as a link that drops mid-chunk does."""

    def __init__(self):
        super().__init__()
        self.log: list[tuple[str, str, int]] = []
        self.cut_patch: dict[int, int] = {}  # n-th PATCH (from 0) -> bytes that get through
        self.patches = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.log.append((request.method, request.url.path, len(body)))
        if request.method == "PATCH":
            n, self.patches = self.patches, self.patches + 1
            if n in self.cut_patch:
                part = body[: self.cut_patch[n]]
                headers = {
                    k: v for k, v in request.headers.items() if k.lower() != "content-length"
                }
                cut = httpx.Request("PATCH", request.url, headers=headers, content=part)
                self._forward(cut)
                raise httpx.ReadError("link dropped mid-chunk (injected)", request=request)
        return super().handle_request(request)

    def file_bytes(self) -> int:
        return sum(n for m, _p, n in self.log if m == "PATCH")


@pytest.fixture
def world(tmp_path):
    w = World.start(tmp_path)
    yield w
    w.stop()


def photo(tmp_path, name: str, size: int, seed: int = 0) -> tuple[os.PathLike, bytes]:
    data = picture(size, f"{name}{seed}")
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


def watched_phone(world, name="Ana", team="north"):
    phone = world.phone(name, team=team)
    phone.link = phone.client.http._transport = Watched()
    return phone


def hq_file(world, data: bytes) -> bytes:
    sha = hashlib.sha256(data).hexdigest()
    return (world.root / "hq-files" / sha[:2] / sha).read_bytes()


def test_attach_sync_hq_has_the_file_and_the_device_knows(world, tmp_path):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "IMG_0412.jpg", 300_000)
    attachments.attach(ana.device, job["id"], path, caption="Serial plate [/] 銘板 🔧")
    jobs.note(ana.device, job["id"], "fitted the new compressor")  # after the photo, offline

    report = ana.client.sync()

    assert hq_file(world, data) == data
    (row,) = world.rows("attachments", job_id=job["id"])
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["caption"] == "Serial plate [/] 銘板 🔧" and row["size"] == len(data)
    assert world.rows("files")[0]["complete"]
    (mine,) = ana.store.attachments(job["id"])
    assert mine["at_hq"] and mine["sent"] == len(data)
    assert report.files_sent == 1 and report.file_bytes == len(data)
    # The day's operations (the note made after the photo too) went before any photo byte.
    first_file = next(i for i, (m, p, _n) in enumerate(ana.link.log) if p.startswith("/v1/files"))
    assert all(p == "/v1/sync" for _m, p, _n in ana.link.log[:first_file])
    assert world.count("job_events", job_id=job["id"], kind="note") == 1
    # A sync with nothing new sends no file request at all.
    before = len(ana.link.log)
    ana.client.sync()
    assert [p for _m, p, _n in ana.link.log[before:]] == ["/v1/sync"]


def test_cut_mid_chunk_resumes_where_hq_stopped(world, tmp_path):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "wiring.jpg", 5 * CHUNK + 1234)
    attachments.attach(ana.device, job["id"], path)
    # Three cuts: part of the 2nd chunk, nothing of the 4th, almost all of the 5th try.
    ana.link.cut_patch = {1: 20_000, 3: 0, 5: CHUNK - 1}
    for _ in range(3):
        with pytest.raises(SyncError) as cut:
            ana.client.sync()
        assert cut.value.unreachable
        assert ana.store.uploads_waiting()[0] == 1
    ana.client.sync()

    assert hq_file(world, data) == data
    assert ana.store.uploads_waiting() == (0, 0)
    resent = ana.link.file_bytes() - len(data)
    assert 0 < resent <= 3 * CHUNK  # each cut cost at most the chunk in flight
    files = world.rows("files")
    assert len(files) == 1 and files[0]["received"] == len(data)


def test_a_lost_answer_after_hq_kept_the_chunk_sends_nothing_twice(world, tmp_path):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "damage.jpg", 2 * CHUNK + 10)
    attachments.attach(ana.device, job["id"], path)
    # Every request succeeds at HQ; the answer to the first PATCH is lost on the way back.
    ana.link.schedule = ["ok", "ok", "drop_response"]  # sync, HEAD, PATCH
    with pytest.raises(SyncError):
        ana.client.sync()
    ana.client.sync()
    assert hq_file(world, data) == data
    assert "drop_response" in ana.link.played
    # HQ kept the chunk whose answer was lost; the device asked (HEAD) and went on from it.
    assert ana.link.file_bytes() == len(data)


def test_the_same_photo_on_two_jobs_is_kept_and_sent_once(world, tmp_path):
    ana = watched_phone(world)
    one, two = world.job(ana.user_id), world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "site.jpg", 150_000)
    attachments.attach(ana.device, one["id"], path)
    attachments.attach(ana.device, two["id"], path, caption="same site")
    kept = [f for f in (ana.store.files_dir).glob("*/*") if f.is_file()]
    assert len(kept) == 1 and kept[0].read_bytes() == data
    ana.client.sync()
    assert ana.link.file_bytes() == len(data)
    assert world.count("attachments") == 2 and world.count("files") == 1
    assert hq_file(world, data) == data


def test_only_those_who_may_see_the_job_fetch_its_file(world, tmp_path):
    ana = watched_phone(world)
    ben = world.phone("Ben", team="north")
    sam = world.phone("Sam", team="north", role="supervisor")
    zoe = world.phone("Zoe", team="south", role="supervisor")
    job = world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "unit.jpg", 90_000)
    attachments.attach(ana.device, job["id"], path)
    ana.client.sync()
    sha = hashlib.sha256(data).hexdigest()

    def get(phone):
        return phone.client.http.get(protocol.FILES_PATH + sha)

    mine = get(ana)
    assert mine.status_code == 200 and mine.content == data
    assert mine.headers["content-type"] == "image/jpeg"
    assert get(sam).status_code == 200  # the technician's supervisor
    for other in (ben, zoe):  # another technician, another team's supervisor
        refused = get(other)
        assert refused.status_code == 404
        assert refused.content != data
        assert other.client.http.head(protocol.FILES_PATH + sha).status_code == 404
    anonymous = httpx.get(world.server.url + protocol.FILES_PATH + sha)
    assert anonymous.status_code == 401
    # Ben cannot write into it either.
    patch = ben.client.http.patch(
        protocol.FILES_PATH + sha,
        content=b"x",
        headers={"Upload-Offset": "0", "Content-Type": protocol.OFFSET_TYPE},
    )
    assert patch.status_code == 404


def test_hq_refuses_bytes_that_do_not_match_the_hash_and_keeps_nothing(world, tmp_path):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "plate.jpg", 1000)
    attachments.attach(ana.device, job["id"], path)
    ana.link.offline = True  # the operation goes, the file does not: HQ's next answer
    with pytest.raises(SyncError):
        ana.client.sync()
    ana.link.offline = False
    ana.client.sync()  # the op, then the file, go
    sha = hashlib.sha256(data).hexdigest()
    # A forged attachment of the same size: the reference is Ana's, the bytes are not.
    forged_path, forged = photo(tmp_path, "forged.jpg", 1000, seed=1)
    attachments.attach(ana.device, job["id"], forged_path)
    ana.store.db.execute(  # hold the file back: send wrong bytes by hand
        "UPDATE uploads SET problem = 'held' WHERE sha256 = ?", [hashlib.sha256(forged).hexdigest()]
    )
    ana.client.sync()
    bad = ana.client.http.patch(
        protocol.FILES_PATH + hashlib.sha256(forged).hexdigest(),
        content=data,  # 1000 bytes, but not these
        headers={"Upload-Offset": "0", "Content-Type": protocol.OFFSET_TYPE},
    )
    assert bad.status_code == 400
    assert "do not match" in bad.json()["detail"]
    row = next(r for r in world.rows("files") if r["sha256"] != sha)
    assert row["received"] == 0 and not row["complete"]
    assert not (world.root / "hq-files" / "parts" / row["sha256"]).exists()


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({"Upload-Offset": "5", "Content-Type": protocol.OFFSET_TYPE}, 409, "send from there"),
        ({"Upload-Offset": "0", "Content-Type": "image/jpeg"}, 400, "Content-Type"),
        ({"Upload-Offset": "-1", "Content-Type": protocol.OFFSET_TYPE}, 422, "upload-offset"),
        ({"Content-Type": protocol.OFFSET_TYPE}, 422, "upload-offset"),
    ],
)
def test_a_chunk_hq_cannot_take_is_refused_with_a_reason(world, tmp_path, headers, status, words):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "p.jpg", 5000)
    attachments.attach(ana.device, job["id"], path)
    sha = hashlib.sha256(data).hexdigest()
    ana.store.db.execute("UPDATE uploads SET problem = 'held'")
    ana.client.sync()  # the reference goes; the bytes are held back
    r = ana.client.http.patch(protocol.FILES_PATH + sha, content=data[:100], headers=headers)
    assert r.status_code == status
    assert words.lower() in json.loads(r.content)["detail"].lower()
    assert world.rows("files") == [] or world.rows("files")[0]["received"] == 0


def test_a_file_gone_from_the_device_is_said_once_and_does_not_block(world, tmp_path):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    gone_path, gone = photo(tmp_path, "gone.jpg", 4000)
    keep_path, kept = photo(tmp_path, "kept.jpg", 4000, seed=2)
    attachments.attach(ana.device, job["id"], gone_path)
    attachments.attach(ana.device, job["id"], keep_path)
    ana.store.file_path(hashlib.sha256(gone).hexdigest()).unlink()
    report = ana.client.sync()
    assert report.file_problems == ["the file is no longer on this device: attach it again"]
    assert hq_file(world, kept) == kept
    states = {a["name"]: a["problem"] for a in ana.store.attachments(job["id"])}
    assert states == {"gone.jpg": report.file_problems[0], "kept.jpg": None}
    assert ana.client.sync().file_problems == []  # said once, not at every sync


def test_the_service_report_shows_the_photos_hq_has_and_names_those_on_their_way(world, tmp_path):
    import base64

    ana = watched_phone(world)
    sam = world.phone("Sam", team="north", role="supervisor")
    job = world.job(ana.user_id)
    ana.client.sync()
    here_path, here = photo(tmp_path, "unit.jpg", 30_000)
    attachments.attach(ana.device, job["id"], here_path, caption="<b>new</b> unit & pipes")
    ana.client.sync()
    late_path, _late = photo(tmp_path, "later.jpg", 30_000, seed=9)
    attachments.attach(ana.device, job["id"], late_path, caption="the old unit")
    ana.store.db.execute("UPDATE uploads SET problem = 'held' WHERE done_at IS NULL")
    ana.client.sync()  # its reference goes; its bytes are held back

    page = sam.client.http.get(f"/v1/jobs/{job['id']}/report", params={"format": "html"})
    assert page.status_code == 200
    assert f"data:image/jpeg;base64,{base64.b64encode(here).decode()}" in page.text
    assert "&lt;b&gt;new&lt;/b&gt; unit &amp; pipes" in page.text  # people's text, escaped
    assert "later.jpg" in page.text and "not yet arrived at HQ" in page.text
    md = sam.client.http.get(f"/v1/jobs/{job['id']}/report").text
    assert "## Photos and files" in md
    assert "JPEG photo unit.jpg" in md and "not yet arrived" in md


def test_another_device_learns_of_the_files_and_fetches_them_on_demand_thumbnails_first(
    world, tmp_path
):
    import io

    from PIL import Image

    from fieldtech.sync import files

    ana = watched_phone(world)
    sam = world.phone("Sam", team="north", role="supervisor")
    job = world.job(ana.user_id)
    ana.client.sync()
    picture = tmp_path / "unit.jpg"
    Image.effect_noise((1200, 900), 20).convert("RGB").save(picture, quality=90)
    pdf_path = tmp_path / "warranty.pdf"
    pdf_path.write_bytes(b"%PDF-1.4\n" + b"warranty card " * 300)
    attachments.attach(ana.device, job["id"], picture, caption="the unit")
    attachments.attach(ana.device, job["id"], pdf_path)
    ana.client.sync()

    sam.client.sync()  # the references come with the job's history; the bytes do not
    listed = sam.store.attachments(job["id"])
    assert [a["name"] for a in listed] == ["unit.jpg", "warranty.pdf"]
    assert all(a["at_hq"] for a in listed)
    assert not any(sam.store.file_path(a["sha256"]).exists() for a in listed)

    first = files.fetch(sam.store, sam.client.http, job["id"], whole=False)
    assert first[0][0] == "unit.jpg" and first[0][1].startswith("thumbnail fetched")
    assert first[1] == ("warranty.pdf", "no thumbnail (not a picture)")
    with Image.open(io.BytesIO(sam.store.thumbnail_path(listed[0]["sha256"]).read_bytes())) as t:
        assert max(t.size) == files.THUMB_EDGE
    assert not sam.store.file_path(listed[0]["sha256"]).exists()  # thumbnails only, so far

    whole = files.fetch(sam.store, sam.client.http, job["id"], whole=True)
    assert [r.split(",")[0] for _n, r in whole] == ["fetched", "fetched"]
    assert sam.store.file_path(listed[0]["sha256"]).read_bytes() == picture.read_bytes()
    assert sam.store.file_path(listed[1]["sha256"]).read_bytes() == pdf_path.read_bytes()
    assert sam.store.uploads_waiting() == (0, 0)  # fetched files are not sent back
    # A teammate who may not see the job learns nothing of its files.
    ben = world.phone("Ben", team="north")
    ben.client.sync()
    assert ben.store.db.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0


def test_a_byte_budget_sends_the_days_work_first_and_as_much_of_the_files_as_fits(world, tmp_path):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    sizes = []
    for n in range(3):
        path, data = photo(tmp_path, f"p{n}.jpg", 100_000, seed=n)
        attachments.attach(ana.device, job["id"], path)
        sizes.append(len(data))
    jobs.note(ana.device, job["id"], "all three walls photographed")
    ana.client.budget = 150_000
    first = ana.client.sync()
    assert ana.store.outbox("pending") == []  # every operation went
    assert first.budget_spent and first.files_waiting >= 1
    assert ana.link.file_bytes() <= 150_000 and ana.link.file_bytes() >= 100_000
    rounds = 1
    while ana.store.uploads_waiting()[0] and rounds < 6:
        ana.client.sync()
        rounds += 1
    assert ana.store.uploads_waiting() == (0, 0) and rounds >= 2
    assert world.count("files", complete=True) == 3
    assert ana.link.file_bytes() == sum(sizes)  # the budget split files, sent nothing twice


def test_knowing_a_hash_is_not_having_the_file(world, tmp_path):
    """Another technician forges an attachment on their own job naming Ana's photo's hash:
    HQ serves them nothing, their report shows nothing, and they may not send into it."""
    from fieldtech.hq import reports
    from tests.integration.world import ADMIN

    ana = watched_phone(world)
    olga = world.phone("Olga", team="south")
    mine, theirs = world.job(ana.user_id), world.job(olga.user_id)
    ana.client.sync()
    olga.client.sync()
    path, data = photo(tmp_path, "customer.jpg", 40_000)
    attachments.attach(ana.device, mine["id"], path)
    ana.client.sync()
    sha = hashlib.sha256(data).hexdigest()
    # Olga's device records a reference with Ana's hash and size, without the file.
    with olga.store.transaction():
        olga.device.apply(
            "attachment.add",
            theirs["id"],
            {"sha256": sha, "size": len(data), "type": "image/jpeg", "name": "x.jpg"},
        )
    olga.store.db.execute("UPDATE uploads SET problem = 'no bytes here'")
    olga.client.sync()
    assert world.count("attachments", job_id=theirs["id"]) == 1  # HQ took the reference
    got = olga.client.http.get(protocol.FILES_PATH + sha)
    assert got.status_code == 404 and data not in got.content
    assert olga.client.http.get(protocol.FILES_PATH + sha, params={"thumb": 64}).status_code == 404
    head = olga.client.http.head(protocol.FILES_PATH + sha)  # her own upload: nothing yet
    assert head.status_code == 200 and head.headers["Upload-Offset"] == "0"
    page = reports.service_report_html(world.hq, ADMIN, theirs["id"])
    assert "data:image" not in page and "not yet arrived" in page
    # Bytes that do not hash right are refused; Ana's copy is untouched.
    bad = olga.client.http.patch(
        protocol.FILES_PATH + sha,
        content=bytes(len(data)),
        headers={"Upload-Offset": "0", "Content-Type": protocol.OFFSET_TYPE},
    )
    assert bad.status_code == 400
    assert ana.client.http.get(protocol.FILES_PATH + sha).content == data


def test_bytes_gone_from_hqs_store_are_asked_for_again(world, tmp_path):
    ana = watched_phone(world)
    job = world.job(ana.user_id)
    ana.client.sync()
    path, data = photo(tmp_path, "unit.jpg", 70_000)
    attachments.attach(ana.device, job["id"], path)
    ana.client.sync()
    sha = hashlib.sha256(data).hexdigest()
    stored = world.root / "hq-files" / sha[:2] / sha
    stored.chmod(0o600)
    stored.unlink()  # a disk restored from an older backup
    assert ana.client.http.get(protocol.FILES_PATH + sha).status_code == 404
    report = ana.client.http.get(f"/v1/jobs/{job['id']}/report", params={"format": "html"})
    assert report.status_code == 200  # never a 5xx: the file reads as not arrived
    assert ana.client.http.head(protocol.FILES_PATH + sha).headers["Upload-Offset"] == "0"
    # A device whose record says "sent" does not look again by itself (not built yet): its
    # record is reset here by hand, and the next sync sends the file whole again.
    with ana.store.transaction():
        ana.store.upload_progress(sha, 0, None)
    ana.client.sync()
    assert hq_file(world, data) == data

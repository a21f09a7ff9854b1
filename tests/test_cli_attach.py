"""`fieldtech attach` and `fieldtech attachments` as a person runs them: the installed
command on a seeded profile, its settings in settings.toml, one line for every mistake."""

from __future__ import annotations

import json

import pytest

from tests.cli_support import ft, ok
from tests.pictures import picture


@pytest.fixture
def home(tmp_path):
    ok(tmp_path / "p", "seed", "--jobs", "20")
    return tmp_path / "p"


def test_attach_and_list_text_and_json(home, tmp_path):
    photo = tmp_path / "plate [b].jpg"
    photo.write_bytes(picture(30_000, "plate"))
    said = ok(home, "attach", "J-000004", str(photo), "--caption", "serial [/] 銘板")
    assert "attached JPEG photo 'plate [b].jpg', 30 KB, to J-000004" in said
    listed = json.loads(ok(home, "attachments", "J-000004", "--json"))
    assert listed["job"] == "J-000004"
    (a,) = listed["attachments"]
    assert a["caption"] == "serial [/] 銘板" and a["size"] == 30_000 and not a["at_hq"]
    text = ok(home, "attachments", "J-000004")
    assert "plate [b].jpg" in text and "serial [/] 銘板" in text and "waiting to go" in text


def test_settings_toml_sets_the_limit_and_a_bad_value_says_so(home, tmp_path):
    photo = tmp_path / "p.pdf"
    photo.write_bytes(b"%PDF-1.4\n" + bytes(20_000))
    settings = home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('attachment_max_size = "10KB"\n')
    refused = ft(home, "attach", "J-000004", str(photo))
    assert refused.returncode == 1
    assert refused.stderr == "fieldtech: the file is 20 KB; an attachment can be at most 10 KB\n"
    settings.write_text('attachment_max_size = "lots"\n')
    bad = ft(home, "attach", "J-000004", str(photo))
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "settings.toml: attachment_max_size is a size such as 50KB or 2MB" in bad.stderr
    settings.write_text('attachment_max_size = "1MB"\n')
    assert "attached PDF 'p.pdf'" in ok(home, "attach", "J-000004", str(photo))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("J-000004", "{tmp}/missing.jpg"), "no file"),
        (("J-000004", "{tmp}"), "is a folder, not a file"),
        (("J-000004", "{tmp}/notes.txt"), "only JPEG and PNG pictures and PDF files"),
        (("J-999999", "{tmp}/ok.jpg"), "no job 'J-999999' on this device"),
        (("J-000004", "{tmp}/ok.jpg", "--caption", "x" * 501), "at most 500 characters"),
    ],
)
def test_each_mistake_is_one_line_and_nothing_is_kept(home, tmp_path, args, words):
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "ok.jpg").write_bytes(picture(5000, "ok"))
    r = ft(home, "attach", *(a.format(tmp=tmp_path) for a in args))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("fieldtech: ") and r.stderr.count("\n") == 1
    assert words in r.stderr
    assert json.loads(ok(home, "attachments", "J-000004", "--json"))["attachments"] == []
    assert json.loads(ok(home, "outbox", "--json")) == []


def test_fetching_on_a_device_not_enrolled_says_so_in_one_line(home):
    r = ft(home, "attachments", "J-000004", "--fetch", "thumbnails")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "enroll" in r.stderr

"""What a newcomer meets following the README in a real terminal of 80 columns: tables
keep their ids, keys, states and times whole; HQ can read the customer's confirmation
code; mistakes are said whole and at once."""

from __future__ import annotations

import re

import pytest

from fieldtech.store import open_store
from tests.cli_support import ft, ok
from tests.integration.conftest import run, start_hq

NARROW = {"COLUMNS": "80"}


def fits(text: str) -> str:
    assert max(map(len, text.splitlines())) <= 80, text
    return text


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    home = tmp_path_factory.mktemp("seeded")
    ok(home, "seed", "--date", "2026-11-23")
    ok(home, "job", "start", "J-000012")
    ok(home, "job", "arrive", "J-000012")
    return home


def test_checklist_at_80_columns_keeps_keys_required_marks_and_readings(seeded):
    ok(seeded, "checklist", "set", "J-000012", "earth_continuity", "0.2")
    shown = fits(ok(seeded, "checklist", "show", "J-000012", env=NARROW))
    assert "…" not in shown
    for header in ("key", "item", "section", "reading"):
        assert header in shown
    rows = [r.split() for r in shown.splitlines()]
    keys = {w for r in rows for w in r if "_" in w}
    assert {"service_card", "earth_continuity", "customer_signature"} <= keys
    assert any(r[:2] == ["*", "service_card"] for r in rows)
    assert any(r[:2] == ["✓", "earth_continuity"] and "0.2" in r for r in rows)
    assert "Safety" in shown and "Hand-over" in shown


def test_jobs_at_80_columns_shows_customer_and_place(seeded):
    shown = fits(ok(seeded, "jobs", env=NARROW))
    store = open_store(seeded / "data" / "device.sqlite")
    job = store.job_card("J-000012")
    store.close()
    row = next(r for r in shown.splitlines() if r.startswith("J-000012"))
    assert job["customer"]["name"] in row and job["site"]["city"] in row
    assert "summary" in shown


def test_job_show_at_80_columns_keeps_earlier_ids_and_history_times(seeded):
    ok(seeded, "job", "note", "J-000012", "Customer asked to come back after the " * 4)
    shown = fits(ok(seeded, "job", "show", "J-000012", env=NARROW))
    store = open_store(seeded / "data" / "device.sqlite")
    card = store.job_card("J-000012")
    earlier = store.customer_history(card["customer_id"], card["id"])["jobs"]
    store.close()
    assert earlier
    for j in earlier[:10]:
        assert j["ref"] in shown
    assert not re.search(r"J-0*…|\d{4}-\d\d-…|\d{4}-\d\d-\d\d \d\d:…", shown)
    history = shown.split("History", 1)[1]
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d \S+ +note: Customer", history, re.M)


def test_outbox_at_80_columns_keeps_number_state_and_the_whole_reason(seeded):
    ok(seeded, "job", "note", "J-000012", "parts ordered")
    store = open_store(seeded / "data" / "device.sqlite")
    rows = store.outbox()
    reason = "job J-000012 was reassigned to another technician by the dispatcher " * 3
    store.park_rejected(rows[-1]["id"], reason.strip())
    store.close()
    shown = fits(ok(seeded, "outbox", env=NARROW))
    for header in ("#", "state", "reason"):
        assert re.search(rf"(^|\s){re.escape(header)}\b", shown), header
    assert "refused by HQ" in shown and "waiting" in shown
    assert " ".join(reason.split()) in " ".join(shown.split())  # the reason whole
    assert re.search(rf"#{len(rows)} reason: job J-000012", shown)


def test_piped_tables_end_at_their_last_word(seeded):
    for args in (("jobs",), ("checklist", "show", "J-000012"), ("outbox",)):
        shown = ok(seeded, *args)
        assert all(r == r.rstrip() for r in shown.splitlines()), args


def test_one_job_is_one_job(seeded):
    assert ok(seeded, "jobs", "-q", "J-000012").startswith("1 job\n")


def test_close_lists_each_missing_thing_on_its_own_line_with_the_bad_rating(seeded):
    r = ft(seeded, "job", "close", "J-000012", "--rating", "9")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stderr.rstrip().splitlines()
    assert lines[0] == "fieldtech: cannot close yet:"
    assert len(lines) > 3 and all(x.startswith("  ") and ";" not in x[:3] for x in lines[1:])
    said = [x.strip() for x in lines[1:]]
    assert "rating must be from 1 to 5, not 9" in said
    assert "outcome not chosen" in said and "customer's name not typed" in said
    assert all(len(x) < 100 for x in lines)


@pytest.fixture(scope="module")
def hq_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("hq")
    ok(home, "hq", "init")
    return home


def test_a_second_user_of_the_same_name_is_told_apart(hq_home):
    first = ok(hq_home, "hq", "user", "add", "--name", "Tenzin Dorje", "--role", "admin")
    assert "another user" not in first
    second = ok(hq_home, "hq", "user", "add", "--name", "Tenzin Dorje", "--role", "admin")
    new_id = re.search(r"user (tenzin-dorje-\w+) \(admin\) added", second).group(1)
    assert (
        f"another user is already named Tenzin Dorje (tenzin-dorje); this one is {new_id}" in second
    )


def test_hq_staff_read_the_customers_confirmation_code(hq_home):
    made = ok(
        hq_home,
        "hq",
        "dispatch",
        "--kind",
        "repair",
        "--summary",
        "Leaking",
        "--customer",
        "Wu Min",
        "--address",
        "1 Riverside Dr",
        "--ref",
        "C-1",
    )
    code = re.search(
        r"confirmation code for the customer: (\w+) — give it with the appointment", made
    ).group(1)
    assert code in ok(hq_home, "hq", "jobs", env=NARROW).split("C-1", 1)[1].splitlines()[0]
    report = ft(hq_home, "hq", "report", "C-1")
    assert report.returncode == 0 and code not in report.stdout  # the report is the customer's
    assert f"confirmation code for the customer: {code}" in report.stderr
    ok(hq_home, "hq", "cancel", "C-1", "--reason", "duplicate call")
    assert code not in ok(hq_home, "hq", "jobs")  # a closed job's code is spent


def test_import_reports_every_problem_of_a_row_on_its_line(hq_home, tmp_path):
    bad = tmp_path / "jobs.csv"
    bad.write_text(
        "ref,kind,summary,customer_name,address,priority\n"
        f"I-1,teleport,{'x' * 600},Bob,,urgentest\n"
        "I-2,repair,Leaking,Ann,2 Road,normal\n"
    )
    r = ft(hq_home, "hq", "import", str(bad))
    assert r.returncode == 1
    (row,) = [x for x in r.stdout.splitlines() if x.strip().startswith("line ")]
    assert row.strip().startswith("line 2 (I-1):")
    for problem in ("missing address", "summary: at most 500", "'teleport'", "'urgentest'"):
        assert problem in row
    shown = ok(hq_home, "hq", "import", "--help", env={"COLUMNS": "100"})
    assert "api_models" not in shown and "JobIn" not in shown
    assert shown.count("Import jobs from a CSV file") == 1 and "Importing" not in shown
    assert not re.search(r"\S  +\S", shown.split("Columns", 1)[0])  # no odd spacing


def test_a_home_under_a_regular_file_is_said_plainly_by_every_command(tmp_path):
    (tmp_path / "afile").write_text("")
    home = tmp_path / "afile" / "profile"
    says = f"cannot keep this profile's data in {home / 'data'}: Not a directory"
    for args in (("jobs",), ("sync",), ("repair", "--check"), ("locate",)):
        r = ft(home, *args)
        assert r.returncode == 1, args
        assert r.stderr.strip() == f"fieldtech: {says} (choose another --home)", args
    assert str(home / "data") in ft(home, "locate").stdout  # the paths are still printed


def test_sync_output_starts_with_what_happened(tmp_path):
    (tmp_path / "hq").mkdir()
    hq = start_hq(tmp_path / "hq")
    try:
        user = hq.add_user("Tenzin Dorje")
        dev = tmp_path / "tenzin"
        run(dev, "enroll", hq.url, user["enrollment_code"])
        assert run(dev, "sync").stdout.startswith("synced: ")
    finally:
        hq.stop()

"""The installed `fieldtech` command on real profiles, as a newcomer meets it: the queue
prints, stored text cannot drive the terminal, times are local, words do not mislead, and
mistakes are one line."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import update

from fieldtech.store import open_store
from tests.cli_support import ft, ok

RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
EVIL = "\x1b]0;owned\x07\x1b[2J[bold]Eve[/] <script>alert(1)</script> \x9b31m"


def one_line_failure(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fieldtech: "), r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    home = tmp_path_factory.mktemp("seeded")
    ok(home, "seed", "--jobs", "200", "--date", "2026-11-23")
    return home


def _store(home: Path):
    return open_store(home / "data" / "device.sqlite")


# -- 1. the queue prints ------------------------------------------------------------------
def test_jobs_prints_a_queue_with_normal_priority_jobs(seeded):
    out = ok(seeded, "jobs", "--limit", "100000")
    assert re.search(r"^\d+ jobs", out)
    assert re.search(r"J-\d{6}\s+normal\s", out)  # the row that raised MarkupError
    assert "[/]" not in out


# -- 2. stored text cannot drive the terminal ----------------------------------------------
def test_job_show_prints_control_sequences_visibly_not_raw(tmp_path):
    ok(tmp_path, "seed", "--jobs", "5", "--date", "2026-11-23")
    store = _store(tmp_path)
    job = store.job("J-000001")
    with store.transaction():
        store.db["customers"].update(job["customer_id"], {"name": EVIL})
        store.update_job(job["id"], {"summary": "compressor [/] checked \x1b[5m"})
    store.close()
    out = ok(tmp_path, "job", "show", "J-000001")
    assert RAW_CONTROL.search(out) is None
    assert "␛]0;owned␇␛[2J[bold]Eve[/]" in out and "compressor [/] checked ␛[5m" in out
    card = json.loads(ok(tmp_path, "job", "show", "J-000001", "--json"))
    assert card["customer"]["name"] == EVIL  # JSON gives the stored text back exactly
    queue = ok(tmp_path, "jobs", "--all")
    assert RAW_CONTROL.search(queue) is None and "␛]0;owned" in queue


@pytest.fixture(scope="module")
def hq_home(tmp_path_factory):
    """An HQ with a user and a closed job whose stored text is hostile."""
    from fieldtech.hq import auth, dispatch, schema
    from fieldtech.hq.auth import Principal
    from fieldtech.hq.db import HQ, sqlite_url

    home = tmp_path_factory.mktemp("hq")
    ok(home, "hq", "init")
    hq = HQ.open(sqlite_url(home / "data" / "hq.sqlite"))
    try:
        auth.add_user(hq, name="Tenzin Dorje", role="technician", team="north")
        admin = Principal("admin", "HQ admin", "admin", None, None, "console")
        job = dispatch.create_job(
            hq,
            admin,
            {
                "kind": "repair",
                "summary": "Leaking water",
                "customer_name": "Maria Santos",
                "address": "12 Pine Ave",
                "technician": "tenzin-dorje",
                "ref": "R-1",
            },
        )
        with hq.engine.begin() as conn:
            conn.execute(update(schema.users).where(schema.users.c.id == "admin").values(name=EVIL))
            conn.execute(
                update(schema.customers)
                .where(schema.customers.c.id == job["customer_id"])
                .values(name=EVIL)
            )
            conn.execute(
                update(schema.jobs)
                .where(schema.jobs.c.id == job["id"])
                .values(summary=EVIL, signoff_name=EVIL, closed_at="2026-11-23T09:30:00Z")
            )
    finally:
        hq.dispose()
    return home


def test_hq_user_list_and_report_never_print_control_sequences(hq_home):
    users = ok(hq_home, "hq", "user", "list")
    assert RAW_CONTROL.search(users) is None and "␛]0;owned" in users
    report = ok(hq_home, "hq", "report", "R-1")
    assert RAW_CONTROL.search(report) is None and "<script>" not in report
    assert "&lt;script&gt;" in report
    page = ok(hq_home, "hq", "report", "R-1", "--html")
    assert RAW_CONTROL.search(page) is None
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- 7. times in the device's zone, with its name -------------------------------------------
def test_times_are_local_with_the_zone_and_json_keeps_utc(seeded):
    nepal = {"TZ": "Asia/Kathmandu"}
    card = json.loads(ok(seeded, "job", "show", "J-000003", "--json"))
    assert card["sla_due"].endswith("Z")
    out = ok(seeded, "job", "show", "J-000003", env=nepal)
    # the stored UTC time, shown 5 h 45 min later with the zone's offset
    from datetime import datetime, timedelta

    due = datetime.fromisoformat(card["sla_due"].replace("Z", "+00:00")) + timedelta(
        hours=5, minutes=45
    )
    assert f"SLA {due:%Y-%m-%d %H:%M} +0545" in out
    assert card["sla_due"] not in out and "T" not in re.findall(r"SLA (\S+)", out)[0]
    ok(seeded, "job", "note", "J-000003", "gate code 4411")
    outbox = ok(seeded, "outbox", env=nepal)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \+0545", outbox)
    assert json.loads(ok(seeded, "outbox", "--json"))[-1]["created_at"].endswith("Z")


# -- 9. words that do not mislead ------------------------------------------------------------
def test_outbox_says_what_waits_in_words_a_person_reads(tmp_path):
    ok(tmp_path, "seed", "--jobs", "20", "--date", "2026-11-23")
    assert "nothing waits" in ok(tmp_path, "outbox")
    ref = next(
        j["ref"] for j in json.loads(ok(tmp_path, "jobs", "--status", "assigned", "--json"))["jobs"]
    )
    ok(tmp_path, "job", "start", ref)
    rejected = ok(tmp_path, "outbox", "--state", "rejected")
    assert "everything is at HQ" not in rejected
    assert "no refused changes; 1 waiting to send" in rejected
    listed = ok(tmp_path, "outbox")
    assert f"job {ref}" in listed and "status change → en route" in listed
    assert "job.status" not in listed and "waiting" in listed
    assert json.loads(ok(tmp_path, "outbox", "--json"))[0]["op"] == "job.status"


def test_status_on_a_profile_never_synced_says_so(tmp_path):
    says = ok(tmp_path, "status", "--rating-below", "4")
    assert "no jobs" not in says
    assert "has not been pulled from HQ yet" in says and "fieldtech sync" in says
    ok(tmp_path, "seed", "--jobs", "20", "--date", "2026-11-23")
    filtered = ok(tmp_path, "status", "--rating-below", "1")
    assert "no technician matches these filters" in filtered and "not pulled" in filtered
    assert "not pulled from HQ yet" in ok(tmp_path, "status")


# -- 10. one line instead of a traceback -------------------------------------------------------
def test_home_under_a_regular_file_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    says = one_line_failure(ft(afile / "sub", "jobs"))
    assert "Not a directory" in says and "--home" in says


def test_a_100000_character_job_id_is_one_line(seeded):
    says = one_line_failure(ft(seeded, "job", "show", "J" * 100_000))
    assert says.startswith("fieldtech: no job") and len(says) < 2100
    one_line_failure(ft(seeded, "parts", "submit", "7" * 100_000))


def test_a_file_that_is_not_utf8_is_one_line(hq_home, tmp_path):
    bad = tmp_path / "jobs.csv"
    bad.write_bytes(b"ref,kind,summary\nX-1,repair,caf\xe9 \xff\n")
    assert "UTF-8" in one_line_failure(ft(hq_home, "hq", "import", str(bad)))
    template = tmp_path / "t.json"
    template.write_bytes(b'{"id": "caf\xe9"}')
    assert "UTF-8" in one_line_failure(ft(hq_home, "hq", "template", str(template)))


# -- 22. parts: a stock take sets the count; parts used are parts used -----------------------------
def test_parts_adjust_sets_the_counted_figure_through_the_ledger(tmp_path):
    ok(tmp_path, "seed", "--jobs", "5", "--date", "2026-11-23")

    def on_hand() -> int:
        stock = json.loads(ok(tmp_path, "parts", "stock", "--json"))
        return next(r["on_hand"] for r in stock if r["sku"] == "WH-THERMO")

    assert "counted" in ok(tmp_path, "parts", "adjust", "--help").lower()
    before = on_hand()
    ok(tmp_path, "parts", "adjust", "WH-THERMO", "3", "--reason", "stock take")
    assert on_hand() == 3
    ok(tmp_path, "parts", "adjust", "WH-THERMO", "3", "--reason", "stock take")
    assert on_hand() == 3  # counting the same figure again changes nothing
    ok(tmp_path, "parts", "adjust", "WH-THERMO", "0", "--reason", "van emptied")
    assert on_hand() == 0
    store = _store(tmp_path)
    moves = [m["qty"] for m in store.ledger(sku="WH-THERMO") if m["kind"] == "adjusted"]
    store.close()
    assert moves == [3 - before, -3]  # the differences, on the ledger
    says = one_line_failure(
        ft(tmp_path, "parts", "adjust", "WH-THERMO", "--reason", "x", "--", "-1")
    )
    assert "negative" in says


def test_job_show_lists_only_parts_used_on_the_job_as_used(tmp_path):
    ok(tmp_path, "seed", "--jobs", "30", "--date", "2026-11-23")
    store = _store(tmp_path)
    ref = next(r["ref"] for r in store.queue(limit=100) if r["status"] == "on_site")
    store.close()
    ok(tmp_path, "parts", "use", ref, "AC-CAP-35")
    req = json.loads(ok(tmp_path, "parts", "request", "WH-THERMO", "--job", ref, "--json"))
    store = _store(tmp_path)
    with store.transaction():
        store.db.execute("UPDATE part_requests SET status = 'shipped' WHERE id = ?", [req["id"]])
    store.close()
    ok(tmp_path, "parts", "receive", req["id"][-8:])
    card = json.loads(ok(tmp_path, "job", "show", ref, "--json"))
    assert [(p["sku"], p["kind"]) for p in card["parts_used"]] == [("AC-CAP-35", "used")]


# -- 23. choices, whole lines in a pipe, the total ---------------------------------------------
def test_jobs_filters_are_choices_with_one_clear_error(seeded):
    shown = ok(seeded, "jobs", "--help")
    assert "survey|install|repair|maintenance|inspection" in shown.replace("\n", "")
    says = one_line_failure(ft(seeded, "jobs", "--kind", "boiler"))
    assert "'boiler' is not one of" in says
    held = json.loads(ok(seeded, "jobs", "--status", "On hold", "--json"))["jobs"]
    assert held and {j["status"] for j in held} == {"on_hold"}


def test_piped_text_is_not_cut_to_80_columns(tmp_path):
    ok(tmp_path, "seed", "--jobs", "5", "--date", "2026-11-23")
    store = _store(tmp_path)
    long_summary = "Replace the outdoor unit's fan motor and check the " + "wiring " * 30 + "end"
    job = store.job("J-000002")
    store.update_job(job["id"], {"summary": long_summary})
    store.close()
    assert long_summary in ok(tmp_path, "job", "show", "J-000002")  # whole, on one line
    assert long_summary in ok(tmp_path, "jobs", "--all")
    narrow = ok(tmp_path, "jobs", "--all", env={"COLUMNS": "80"})
    assert long_summary not in narrow and max(map(len, narrow.splitlines())) <= 80


def test_jobs_json_says_the_total(seeded):
    everything = json.loads(ok(seeded, "jobs", "--all", "--json", "--limit", "100000"))
    assert everything["total"] == 200 == len(everything["jobs"])
    first = json.loads(ok(seeded, "jobs", "--all", "--json", "--limit", "7"))
    assert first["total"] == 200 and len(first["jobs"]) == 7
    assert "200 jobs, the first 7" in ok(seeded, "jobs", "--all", "--limit", "7")

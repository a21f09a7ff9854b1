# ruff: noqa: E501 - rows of test data, one per line
"""Data HQ makes must be right: the newest checklist template, one customer per person, one
set of job rules for the CLI, an import and the API, an import that scales."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from fieldtech.cli import cli
from fieldtech.domain.errors import BadInput
from fieldtech.domain.templates import REPAIR, SPLIT_AC
from fieldtech.hq import auth, catalog, dispatch, importer, schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, sqlite_url

ADMIN = Principal("admin", "HQ", "admin", None, None, "console")
FIELDS = ["ref", "kind", "summary", "customer_name", "address", "customer_phone", "technician"]


def open_hq(path: Path) -> HQ:
    hq = HQ.open(sqlite_url(path))
    catalog.install_defaults(hq)
    auth.add_user(hq, name="Tenzin Dorje", role="technician", team="north")
    return hq


@pytest.fixture
def hq(tmp_path):
    h = open_hq(tmp_path / "hq.sqlite")
    yield h
    h.dispose()


def install(**extra) -> dict:
    return {
        "kind": "install",
        "summary": "Install split AC",
        "customer_name": "Asha Rao",
        "address": "1 Station St",
        "appliance_category": "air conditioner",
        "technician": "tenzin-dorje",
        **extra,
    }


def count(hq: HQ, table: str) -> int:
    with hq.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(getattr(schema, table))).scalar()


def job_row(hq: HQ, ref: str) -> dict:
    with hq.engine.connect() as conn:
        return dict(
            conn.execute(select(schema.jobs).where(schema.jobs.c.ref == ref)).mappings().one()
        )


def as_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def v2(template):
    """The same template with one item more, as HQ staff would upload it."""
    return replace(
        template, version=1, items=(*template.items, replace(template.items[0], key="extra"))
    )


# -- 17: the newest template version -----------------------------------------------------
def test_a_new_job_gets_the_newest_template_version_and_an_earlier_job_keeps_its_own(hq):
    before = dispatch.create_job(hq, ADMIN, install(ref="A-1"))
    assert (before["template_id"], before["template_version"]) == ("split-ac-install", 1)
    assert catalog.put_template(hq, v2(SPLIT_AC)) == 2
    after = dispatch.create_job(hq, ADMIN, install(ref="A-2"))
    assert (after["template_id"], after["template_version"]) == ("split-ac-install", 2)
    assert job_row(hq, "A-1")["template_version"] == 1
    report = importer.import_jobs(
        hq,
        ADMIN,
        "ref,kind,summary,customer_name,address\nA-3,repair,Noise,Bo Li,2 Hill Rd\n",
    )
    assert report.created == ["A-3"]
    assert job_row(hq, "A-3")["template_version"] == 1  # repair's template is unchanged
    catalog.put_template(hq, v2(REPAIR))
    importer.import_jobs(
        hq, ADMIN, "ref,kind,summary,customer_name,address\nA-4,repair,Noise,Bo Li,2 Hill Rd\n"
    )
    assert job_row(hq, "A-4")["template_version"] == 2


def test_hq_template_on_the_command_line_is_what_the_next_dispatch_uses(tmp_path):
    home = str(tmp_path / "hq-home")
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(cli, ["--home", home, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result

    run("hq", "init")
    run("hq", "user", "add", "--name", "Tenzin Dorje", "--role", "technician", "--team", "n")
    first = json.loads(
        run(
            "hq", "dispatch", "--kind", "install", "--summary", "Install", "--customer", "Asha",
            "--address", "1 Station St", "--appliance", "air conditioner",
            "--technician", "tenzin-dorje", "--json",
        ).output
    )  # fmt: skip
    upload = tmp_path / "split-ac.json"
    upload.write_text(json.dumps(catalog.template_to_json(v2(SPLIT_AC))))
    assert "saved as version 2" in run("hq", "template", str(upload)).output
    second = json.loads(
        run(
            "hq", "dispatch", "--kind", "install", "--summary", "Install", "--customer", "Bo",
            "--address", "2 Hill Rd", "--appliance", "air conditioner", "--json",
        ).output
    )  # fmt: skip
    assert first["template_version"] == 1
    assert second["template_version"] == 2


# -- 20: one customer per person -----------------------------------------------------------
def variants(name: str):
    """The same name as people type it: any case, any run of spaces around and between."""
    words = name.split()
    space = st.sampled_from([" ", "  ", "\t", " \u00a0"])
    return st.tuples(
        st.lists(st.sampled_from([str.lower, str.upper, str.title, str]), min_size=len(words), max_size=len(words)),
        st.lists(space, min_size=len(words) + 1, max_size=len(words) + 1),
    ).map(lambda t: t[1][0] + "".join(f(w) + s for f, w, s in zip(t[0], words, t[1][1:], strict=True)))  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(
    a=variants("Asha Devi Rao"),
    b=variants("Asha Devi Rao"),
    address=variants("1 Station Street, Pokhara"),
)
def test_the_same_name_and_address_typed_another_way_is_the_same_customer(a, b, address):
    from fieldtech.domain.customers import same_customer

    assert same_customer(a, ["1 Station Street, Pokhara"], None, b, address, None)
    assert same_customer(a, [address], "+977 984-1234567", b, address, "9841234567")
    assert not same_customer(a, [address], "9841234567", b, address, "9807654321")
    assert not same_customer(a, [address], None, "Asha Rai", address, None)
    assert not same_customer(a, [address], None, b, "2 Station Street, Pokhara", None)


@settings(max_examples=25, deadline=None)
@given(first=variants("Asha Rao"), again=variants("Asha Rao"), phone_first=st.booleans())
def test_dispatch_with_and_without_a_phone_finds_the_same_customer_and_fills_the_blank(
    first, again, phone_first
):
    with tempfile.TemporaryDirectory() as where:
        hq = open_hq(Path(where) / "hq.sqlite")
        try:
            phone = "+977 984-1234567"
            a = dispatch.create_job(
                hq,
                ADMIN,
                install(customer_name=first, customer_phone=phone if phone_first else None),
            )
            b = dispatch.create_job(
                hq,
                ADMIN,
                install(
                    customer_name=again,
                    address=" 1  station st ",
                    customer_phone=None if phone_first else phone,
                ),
            )
            assert a["customer_id"] == b["customer_id"] and a["site_id"] == b["site_id"]
            assert count(hq, "customers") == 1
            with hq.engine.connect() as conn:
                kept = conn.execute(select(schema.customers.c.phone)).scalar_one()
            assert kept == phone  # a new phone fills the blank, and a blank keeps it
            other = dispatch.create_job(
                hq, ADMIN, install(customer_name=again, customer_phone="9807654321")
            )
            assert other["customer_id"] != a["customer_id"]  # a different phone: another person
        finally:
            hq.dispose()


# -- 21: one set of rules, reported per line, in batches -------------------------------------
def test_one_set_of_rules_decides_for_dispatch_and_import(hq, tmp_path):
    long = "x" * 10_000
    with pytest.raises(BadInput, match=r"summary: at most 500 characters, this one has 10,000"):
        dispatch.create_job(hq, ADMIN, install(summary=long))
    text = as_csv(
        [
            {"ref": "I-1", "kind": "repair", "summary": "Fine", "customer_name": "A", "address": "1 A St"},
            {"ref": "I-2", "kind": "repair", "summary": long, "customer_name": "B", "address": "2 B St"},
            {"ref": "I-3", "kind": "teleport", "summary": "x", "customer_name": "C", "address": "3 C St"},
            {"ref": "I-1", "kind": "repair", "summary": "Again", "customer_name": "D", "address": "4 D"},
            {"ref": "I-5", "kind": "repair", "summary": "Fine", "customer_name": "E", "address": "5 E St",
             "technician": "nobody"},
            {"ref": "I-6", "kind": "repair", "summary": "Fine", "customer_name": "F", "address": "6 F St"},
        ]
    )  # fmt: skip
    report = importer.import_jobs(hq, ADMIN, text).as_dict()
    assert report["created_refs"] == ["I-1", "I-6"]
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert set(reasons) == {3, 4, 5, 6}
    assert "summary: at most 500 characters, this one has 10,000" in reasons[3]
    assert "unknown job kind 'teleport'" in reasons[4]
    assert "ref I-1 is already on line 2" in reasons[5]
    assert "no user 'nobody'" in reasons[6]
    assert count(hq, "jobs") == 2 and count(hq, "customers") == 2  # a refused row left nothing
    again = importer.import_jobs(hq, ADMIN, text).as_dict()
    assert again["created"] == 0 and again["already_there"] == 2
    assert count(hq, "jobs") == 2 and count(hq, "customers") == 2


def test_cli_dispatch_refuses_a_summary_too_long_in_one_line(tmp_path):
    home = tmp_path / "hq-home"
    assert cli_run(home, "hq", "init")[0] == 0
    code, out, err = cli_run(
        home, "hq", "dispatch", "--kind", "repair", "--summary", "y" * 100_000,
        "--customer", "Asha", "--address", "1 Station St",
    )  # fmt: skip
    assert code != 0 and out == ""
    assert err == "fieldtech: summary: at most 500 characters, this one has 100,000\n"


def test_thousands_of_rows_import_in_a_few_transactions(hq):
    rows = [
        {
            "ref": f"B-{i:05d}",
            "kind": ("repair", "install", "maintenance")[i % 3],
            "summary": f"Job {i}",
            "customer_name": f"Customer {i % 700}",
            "address": f"{i % 700} Station Road",
            "customer_phone": f"98{i % 700:08d}",
            "technician": "tenzin-dorje",
        }
        for i in range(2000)
    ]
    commits = []
    event.listen(hq.engine, "commit", lambda conn: commits.append(1))
    seen: list[tuple[int, int]] = []
    report = importer.import_jobs(hq, ADMIN, as_csv(rows), lambda d, t: seen.append((d, t)))
    assert len(report.created) == 2000 and not report.rejected
    assert len(commits) <= 2000 // importer.BATCH + 2  # one per batch, not one per row
    assert count(hq, "customers") == 700 and count(hq, "jobs") == 2000
    assert seen[0] == (0, 2000) and seen[-1] == (2000, 2000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    with hq.engine.connect() as conn:  # parents before jobs in the change feed
        j, c = schema.jobs.c, schema.customers.c
        late = conn.execute(
            select(func.count())
            .select_from(schema.jobs.join(schema.customers))
            .where(c.seq > j.seq)
        ).scalar()
    assert late == 0


def cli_run(home: Path, *args: str, stdin_file: Path | None = None, tty_stderr: bool = False):
    """The installed command in a child process: stdout piped, stderr a pipe or a terminal."""
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("FIELDTECH_HOME", None)
    cmd = [sys.executable, "-m", "fieldtech", "--home", str(home), *args]
    if not tty_stderr:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        return p.returncode, p.stdout, p.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read().decode()
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, out, err.decode(errors="replace")


def test_import_shows_progress_on_a_terminal_and_keeps_piped_output_clean(tmp_path):
    home = tmp_path / "hq-home"
    assert cli_run(home, "hq", "init")[0] == 0
    rows = [
        {"ref": f"P-{i}", "kind": "repair", "summary": "Noise", "customer_name": f"C{i}", "address": "1 St"}
        for i in range(1200)
    ]  # fmt: skip
    path = tmp_path / "jobs.csv"
    path.write_text(as_csv(rows))
    code, out, err = cli_run(home, "hq", "import", str(path), tty_stderr=True)
    assert code == 0, err
    assert out.strip() == "1200 created, 0 already there, 0 rejected"
    assert "importing" in err and "1200/1200" in err
    code, out, err = cli_run(home, "hq", "import", str(path))
    assert (code, out.strip(), err) == (0, "0 created, 1200 already there, 0 rejected", "")


def test_a_file_that_is_not_utf8_is_one_clear_line(tmp_path):
    home = tmp_path / "hq-home"
    assert cli_run(home, "hq", "init")[0] == 0
    path = tmp_path / "jobs.csv"
    path.write_bytes(b"ref,kind,summary,customer_name,address\nL-1,repair,caf\xe9,Jos\xe9,1 St\n")
    code, out, err = cli_run(home, "hq", "import", str(path))
    assert code != 0
    assert err.startswith("fieldtech: ") and len(err.strip().splitlines()) == 1
    assert "not UTF-8" in err and "line 2" in err and "Traceback" not in err + out


def test_seed_shows_progress_on_a_terminal_only(tmp_path):
    code, out, err = cli_run(tmp_path / "a", "seed", "--jobs", "3000", tty_stderr=True)
    assert code == 0, err
    assert "seeding" in err and "3000/3000" in err
    assert "Traceback" not in err
    code, out, err = cli_run(tmp_path / "b", "seed", "--jobs", "300")
    assert code == 0 and err == ""

"""Hostile data over every CLI read command.

Hypothesis fills real device stores (SQLite in a temporary folder, through the store layer)
with the text people and HQ really send: markup brackets, terminal control sequences, CJK,
right-to-left scripts, emoji, 10,000-character strings and empty optional fields, over
every status, priority and kind. Every read command then runs in text and in JSON: it
exits 0 without a traceback, its text carries no raw control character (a stored escape
sequence must not retitle or clear the reader's terminal), and its JSON gives back the
stored text exactly.
"""

from __future__ import annotations

import itertools
import json
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fieldtech.cli import cli
from fieldtech.domain.jobs import Kind, Priority, Status
from fieldtech.domain.text import plain
from fieldtech.services.seed import seed
from fieldtech.store import open_store

DAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

NASTY = (
    "[/]",
    "compressor [/] checked",
    "[bold]loud[/bold]",
    "[link=https://example.com]click[/link]",
    "[red",
    "\x1b]0;pwned\x07",  # retitles the terminal
    "\x1b[2J\x1b[H",  # clears it
    "\x1b[31mred\x1b[0m",
    "\x9b31m",  # an 8-bit CSI
    "bell\x07",
    "over\rwrite",
    "tab\there",
    "two\nlines",
    "nul\x00byte",
    "\x7f",
    "東京都港区芝公園4-2-8 配管の漏れ",
    "مرحبا، السخان لا يعمل",
    "שלום, הדוד דולף",
    "\u202eevil\u202c",
    "🔥🧯👩‍🔧 🇳🇵",
    "e\u0301\u0301\u0301",
    "x" * 10_000,
    "",
    " ",
)

texts = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.lists(st.sampled_from(NASTY[:-3]), min_size=2, max_size=4).map("".join),
)
optional = st.one_of(st.none(), texts)

# A raw control byte (but line feed) or a C1 control in what a person's terminal receives.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _build(home: Path, jobs: list[dict], people: list[str]) -> list[dict]:
    """A device store under `home` with seeded templates and parts, whose first jobs carry
    the given hostile text (customer, site, appliance, job fields, history, readings,
    requests, outbox reasons, conflicts). Returns the jobs as stored."""
    store = open_store(home / "data" / "device.sqlite")
    try:
        seed(store, max(1, len(jobs)), now=DAY, seed=3)
        rows = [store.job(r["id"]) for r in store.queue(limit=10_000)]
        rows += [
            store.job(r[0])
            for r in store.db.execute("SELECT id FROM jobs WHERE open = 0").fetchall()
        ]
        with store.transaction():
            for i, name in enumerate(people):
                store.db["users"].insert(
                    {"id": f"tech-{i}", "name": name, "role": "technician", "team": "north"},
                    replace=True,
                )
            stored = []
            for n, (row, spec) in enumerate(zip(rows, jobs, strict=False)):
                stored.append(_hostile_job(store, row, spec, n))
        return stored
    finally:
        store.close()


def _hostile_job(store, row: dict, spec: dict, n: int) -> dict:
    # A customer, site and appliance of this job's own: seeded customers share jobs.
    customer, site, appliance_id = (f"{row['id'][:-4]}{x}{n:03d}" for x in "cst")
    store.put_customer({"id": customer, "name": spec["name"], "phone": spec["phone"]})
    store.put_site(
        {
            "id": site,
            "customer_id": customer,
            "address": spec["address"],
            "city": spec["city"],
            "contact_name": spec["phone"],
            "access_notes": spec["notes"],
            "hazards": spec["hazards"],
        }
    )
    appliance = spec["appliance"]
    if appliance is not None:
        store.put_appliance(
            {
                "id": appliance_id,
                "customer_id": customer,
                "site_id": site,
                "category": "air conditioner",
                "brand": appliance,
                "model": appliance,
                "serial": appliance,
            }
        )
    store.update_job(
        row["id"],
        {
            "customer_id": customer,
            "site_id": site,
            "appliance_id": appliance_id if appliance is not None else None,
        },
    )
    status = spec["status"]
    fields = {
        "ref": spec["ref"],
        "kind": spec["kind"].value,
        "priority": spec["priority"].value,
        "priority_rank": spec["priority"].rank,
        "status": status.value,
        "summary": spec["summary"],
        "technician_id": f"tech-{n % 2}",
        "hold_reason": spec["reason"] if status is Status.ON_HOLD else None,
        "cannot_complete_reason": spec["reason"] if status is Status.CANNOT_COMPLETE else None,
        "outcome": "repaired" if status is Status.COMPLETED else None,
        "signoff_name": spec["name"] if status is Status.COMPLETED else None,
        "rating": 3 if status is Status.COMPLETED else None,
        "escalation_level": 1 if n % 2 else 0,
    }
    store.update_job(row["id"], fields)
    at = "2026-11-23T09:00:00Z"
    for k, (kind, body) in enumerate(
        (("note", spec["notes"]), ("escalation", spec["reason"]), ("status", spec["reason"]))
    ):
        store.add_job_event(
            {
                "id": f"{row['id']}-e{k}",
                "job_id": row["id"],
                "kind": kind,
                "from_status": "assigned" if kind == "status" else None,
                "to_status": status.value if kind == "status" else None,
                "body": body,
                "actor": spec["name"],
                "hlc": f"{1795000000000 + k:013d}-00000-dev",
                "at": at,
            }
        )
    if row["template_id"]:
        key = store.template(row["template_id"], row["template_version"]).items[0].key
        store.add_reading(
            {
                "id": f"{row['id']}-r",
                "job_id": row["id"],
                "item_key": key,
                "value": spec["summary"],
                "verdict": "ok",
                "comment": spec["notes"],
                "actor": spec["name"],
                "hlc": f"{1795000000000:013d}-00001-dev",
                "at": at,
            }
        )
    store.put_request(
        {
            "id": f"0199fb7b-0000-7000-8000-{n:012d}",
            "sku": "AC-CAP-35",
            "qty": 1,
            "job_id": row["id"],
            "status": "submitted",
            "note": spec["notes"],
            "decided_reason": spec["reason"],
            "created_at": at,
            "updated_at": at,
            "hlc": f"{1795000000000:013d}-00002-dev",
            "technician_id": f"tech-{n % 2}",
        }
    )
    op_id = f"0199fb7b-0000-7000-9000-{n:012d}"
    store.append_outbox(
        {
            "id": op_id,
            "hlc": f"{1795000000000:013d}-00003-dev",
            "device_id": "dev",
            "op": "job.note",
            "entity": "job",
            "entity_id": row["id"],
            "payload": {"body": spec["notes"]},
            "priority": 5,
            "created_at": at,
        }
    )
    if n % 2:
        store.park_rejected(op_id, spec["reason"])
    store.add_conflict(
        {
            "id": f"{row['id']}-c",
            "entity": "job",
            "entity_id": row["id"],
            "field": "summary",
            "mine": spec["summary"],
            "theirs": spec["notes"],
            "theirs_by": spec["name"],
            "theirs_at": at,
            "mine_at": at,
            "detected_at": at,
        }
    )
    store.refresh_job_search(row["id"])
    return {**spec, "id": row["id"], "has_template": bool(row["template_id"])}


job_specs = st.fixed_dictionaries(
    {
        "ref": st.one_of(st.just("H-000001"), texts.filter(lambda t: t.strip() != "")),
        "name": texts,
        "phone": optional,
        "address": texts,
        "city": optional,
        "notes": optional,
        "hazards": st.lists(texts, max_size=2),
        "appliance": optional,
        "summary": texts,
        "reason": texts,
        "status": st.sampled_from(list(Status)),
        "priority": st.sampled_from(list(Priority)),
        "kind": st.sampled_from(list(Kind)),
    }
)


def run(home: Path, *args: str, columns: str | None = None) -> str:
    result = CliRunner(env={"COLUMNS": columns}).invoke(cli, ["--home", str(home), *args])
    shown = f"fieldtech {' '.join(args)[:200]}: {result.output[:500]!r}"
    assert result.exception is None or (
        isinstance(result.exception, SystemExit) and result.exit_code == 0
    ), f"{shown} raised {result.exception!r}"
    assert result.exit_code == 0, shown
    assert "Traceback" not in result.output, shown
    return result.output


def text_of(home: Path, *args: str) -> str:
    out = run(home, *args)
    found = RAW_CONTROL.search(out)
    assert found is None, f"raw {found.group()!r} in `fieldtech {' '.join(args)[:80]}`"
    narrow = run(home, *args, columns="80")  # a terminal's width cuts long cells, safely
    assert RAW_CONTROL.search(narrow) is None
    return out


def json_of(home: Path, *args: str):
    out = run(home, *args, "--json")
    assert RAW_CONTROL.search(out) is None  # escaped in JSON, never raw
    return json.loads(out)


READS = (
    ("jobs", "--all", "--limit", "1000"),
    ("jobs", "--status", "on_hold"),
    ("jobs", "-q", "[/]"),
    ("parts", "stock"),
    ("parts", "requests"),
    ("outbox",),
    ("outbox", "--state", "rejected"),
    ("status",),
    ("team", "requests", "--all"),
    ("team", "escalations"),
    ("locate",),
)


def check_every_face(home: Path, stored: list[dict]) -> None:
    for args in READS:
        text_of(home, *args)
        json_of(home, *args)
    text_of(home, "status", "--rating-below", "4")
    queue = {j["id"]: j for j in json_of(home, "jobs", "--all", "--limit", "1000")["jobs"]}
    outbox = json_of(home, "outbox")
    requests = {r["job_ref"]: r for r in json_of(home, "team", "requests", "--all")}
    for job in stored:
        row = queue[job["id"]]
        assert (row["customer"], row["summary"], row["address"], row["city"]) == (
            job["name"],
            job["summary"],
            job["address"],
            job["city"],
        )
        shown = text_of(home, "job", "show", job["id"])
        if len(job["summary"]) < 200:
            assert plain(job["summary"]) in shown
        card = json_of(home, "job", "show", job["id"])
        assert card["ref"] == job["ref"] and card["summary"] == job["summary"]
        assert card["customer"]["name"] == job["name"]
        assert card["customer"]["phone"] == job["phone"]
        assert card["site"]["address"] == job["address"]
        assert card["site"]["access_notes"] == job["notes"]
        assert card["site"]["hazards"] == job["hazards"]
        if job["appliance"] is not None:
            assert card["appliance"]["serial"] == job["appliance"]
        else:
            assert card["appliance"] is None
        bodies = {e["kind"]: e["body"] for e in card["history"]}
        assert bodies["note"] == job["notes"] and bodies["escalation"] == job["reason"]
        assert card["conflicts"][0]["theirs"] == job["notes"]
        text_of(home, "checklist", "show", job["id"])
        checklist = json_of(home, "checklist", "show", job["id"])
        if job["has_template"]:
            assert checklist["items"][0]["comment"] == job["notes"]
        mine = [o for o in outbox if o["entity_id"] == job["id"] and o["op"] == "job.note"]
        assert [o["payload"]["body"] for o in mine] == [job["notes"]]
        if mine[0]["state"] == "rejected":
            assert mine[0]["reason"] == job["reason"]
        assert requests[job["ref"]]["note"] == job["notes"]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failure prints its example
)
@given(
    jobs=st.lists(job_specs, min_size=1, max_size=3, unique_by=lambda j: j["ref"]),
    people=st.lists(texts, min_size=1, max_size=2),
)
def test_every_read_command_survives_hostile_text(jobs, people):
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        stored = _build(home, jobs, people)
        check_every_face(home, stored)
        status = json_of(home, "status")
        assert {r["name"] for r in status} >= set(people[:2])


def test_every_status_priority_and_kind(tmp_path):
    """Every combination at once, each with a different hostile text, in one queue."""
    combos = list(itertools.product(Status, Priority, Kind))
    cycle = itertools.cycle(NASTY)
    jobs = [
        {
            "ref": f"H-{n:06d}",
            "name": next(cycle),
            "phone": None,
            "address": next(cycle),
            "city": None if n % 3 else next(cycle),
            "notes": None if n % 4 == 0 else next(cycle),
            "hazards": [next(cycle)] if n % 2 else [],
            "appliance": None if n % 5 == 0 else next(cycle),
            "summary": next(cycle),
            "reason": next(cycle),
            "status": status,
            "priority": priority,
            "kind": kind,
        }
        for n, (status, priority, kind) in enumerate(combos, 1)
    ]
    stored = _build(tmp_path, jobs, ["Kofi [bold]Mensah", "\x1b]0;x\x07Olga"])
    assert len(stored) == len(combos)
    listed = run(tmp_path, "jobs", "--all", "--limit", "1000")
    assert RAW_CONTROL.search(listed) is None
    assert f"{len(combos)} jobs" in listed
    # job show and checklist show over one job of each status and kind, priorities cycling
    sample = {(j["status"], j["kind"]): j for j in stored}
    check_every_face(tmp_path, list(sample.values()))


@pytest.mark.parametrize("style", ["", "bold red", "dim"])
def test_table_cells_are_never_markup(style, capsys):
    """The root of `fieldtech jobs`' MarkupError: a cell is text, a style is ours."""
    from fieldtech.cli.common import table

    table("t", ["a", "b"], [((f"[{style}]normal[/]", style), "[/] [bold]x")])
    out = capsys.readouterr().out
    assert f"[{style}]normal[/]" in out and "[/] [bold]x" in out

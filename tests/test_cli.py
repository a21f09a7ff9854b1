"""The installed `fieldtech` command, run as a person would: output, JSON, and mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIELDTECH = str(Path(sys.executable).with_name("fieldtech"))


def ft(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "FIELDTECH_HOME"}
    full_env.update(env or {})
    return subprocess.run(
        [FIELDTECH, "--home", str(home), *args] if home else [FIELDTECH, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def ok(home: Path, *args: str) -> str:
    r = ft(home, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def js(home: Path, *args: str):
    return json.loads(ok(home, *args, "--json"))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    h = tmp_path_factory.mktemp("profile")
    ok(h, "seed", "--jobs", "80", "--date", "2026-11-23")
    return h


def first(home: Path, status: str, kind: str) -> dict:
    rows = js(home, "jobs", "--status", status, "--kind", kind, "--limit", "1000")["jobs"]
    return next(r for r in rows if js(home, "checklist", "show", r["ref"])["template"])


def test_entry_points_and_locate(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "fieldtech", "--home", str(tmp_path), "locate", "--json"],
        capture_output=True,
        text=True,
    )
    assert json.loads(r.stdout)["data"] == str(tmp_path.resolve() / "data")
    env_home = ft(None, "locate", "--json", env={"FIELDTECH_HOME": str(tmp_path / "e")})
    assert json.loads(env_home.stdout)["source"] == "$FIELDTECH_HOME"


def test_queue_filters_and_json(home):
    queue = js(home, "jobs", "--limit", "1000")
    rows = queue["jobs"]
    assert queue["total"] == len(rows)
    assert rows and all(r["status"] not in ("completed", "cancelled") for r in rows)
    ranks = [r["priority_rank"] for r in rows]
    assert ranks == sorted(ranks)
    installs = js(home, "jobs", "--kind", "install", "--limit", "1000")["jobs"]
    assert installs and {r["kind"] for r in installs} == {"install"}
    city = rows[0]["city"]
    found = js(home, "jobs", "-q", city, "--limit", "1000")["jobs"]
    assert found and all(city in (r["city"] + " " + r["address"]) for r in found[:20])
    assert rows[0]["ref"] in ok(home, "jobs", "--limit", "5")


def test_a_day_through_the_cli(home):
    job = first(home, "assigned", "repair")
    ref = job["ref"]
    assert "en route" in ok(home, "job", "start", ref)
    assert "on site" in ok(home, "job", "arrive", ref)
    ok(home, "job", "note", ref, "customer offered tea")
    card = js(home, "job", "show", ref)
    assert card["status"] == "on_site" and "confirmation_code" not in card
    assert any(e["body"] == "customer offered tea" for e in card["history"])
    refused = ft(
        home,
        "job",
        "close",
        ref,
        "--outcome",
        "repaired",
        "--name",
        "X",
        "--code",
        "000000",
        "--rating",
        "5",
    )
    assert refused.returncode == 1 and "cannot close yet" in refused.stderr
    said = refused.stderr.strip().splitlines()
    assert said[0] == "fieldtech: cannot close yet:" and "not ticked" in refused.stderr
    assert all(x.startswith("  ") for x in said[1:])
    for item in js(home, "checklist", "show", ref)["items"]:
        value = {"tick": "yes", "choice": (item["choices"] or ["x"])[0]}.get(item["type"], "ok")
        ok(home, "checklist", "set", ref, item["key"], value)
    ok(home, "parts", "use", ref, "AC-CAP-35")
    ok(home, "job", "hold", ref, "--reason", "waiting for the customer")
    assert "in progress" in ok(home, "job", "resume", ref)
    missing = json.loads(
        ft(
            home,
            "job",
            "close",
            ref,
            "--outcome",
            "repaired",
            "--name",
            "X",
            "--code",
            "000000",
            "--rating",
            "5",
            "--json",
        ).stdout
    )
    assert missing == {
        "closed": False,
        "missing": ["confirmation code does not match the customer's"],
    }
    from fieldtech.domain.demo_data import demo_code

    code = demo_code(ref)  # a seeded profile: the demo's stand-in for the customer's phone
    done = js(
        home,
        "job",
        "close",
        ref,
        "--outcome",
        "repaired",
        "--name",
        "Olga",
        "--code",
        code,
        "--rating",
        "5",
    )
    assert done["status"] == "completed"
    ops = [o["op"] for o in js(home, "outbox")]
    assert ops.count("job.status") >= 5 and ops[-1] == "job.close"


def test_checklist_warning_needs_comment(home):
    job = first(home, "assigned", "install")
    ok(home, "job", "arrive", job["ref"])
    items = {i["key"]: i for i in js(home, "checklist", "show", job["ref"])["items"]}
    warn = next(
        (
            k
            for k, i in items.items()
            if i["type"] == "number"
            and i["min"] is not None
            and k not in ("supply_voltage", "insulation", "earth_continuity")
        ),
        None,
    )
    if warn is None:
        pytest.fail("seeded install has no warn-type numeric item")
    low = str(items[warn]["min"] - 1)
    r = ft(home, "checklist", "set", job["ref"], warn, low)
    assert r.returncode == 1 and "add a comment" in r.stderr
    out = ok(home, "checklist", "set", job["ref"], warn, low, "--comment", "old pipework")
    assert "warning" in out


def test_parts_commands(home):
    stock = js(home, "parts", "stock")
    assert {r["sku"] for r in stock} >= {"AC-CAP-35"}
    assert js(home, "parts", "catalog", "-q", "anode")[0]["sku"] == "WH-ANODE-M"
    req = js(home, "parts", "request", "WH-ELEM-2K", "--qty", "2", "--draft")
    assert req["status"] == "draft"
    assert js(home, "parts", "submit", req["id"][-8:])["status"] == "submitted"
    assert js(home, "parts", "cancel", req["id"][-8:])["status"] == "cancelled"
    assert any(r["id"] == req["id"] for r in js(home, "parts", "requests"))
    before = next(r["on_hand"] for r in js(home, "parts", "stock") if r["sku"] == "WH-ANODE-M")
    ok(home, "parts", "return", "WH-ANODE-M", "--reason", "excess")
    returned = next(r["on_hand"] for r in js(home, "parts", "stock") if r["sku"] == "WH-ANODE-M")
    assert returned == before - 1
    counted = js(home, "parts", "adjust", "WH-ANODE-M", str(returned + 2), "--reason", "found two")
    assert counted["on_hand"] == returned + 2 and counted["qty"] == 2
    ok(home, "parts", "adjust", "WH-ANODE-M", "1", "--reason", "stock take")
    after = next(r["on_hand"] for r in js(home, "parts", "stock") if r["sku"] == "WH-ANODE-M")
    assert after == 1  # a stock-take figure sets the count; the ledger holds the difference


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("job", "show", "J-999999"), "no job"),
        (("jobs", "--status", "finished"), "'finished' is not one of 'assigned'"),
        (("jobs", "--kind", "boiler"), "'boiler' is not one of 'survey'"),
        (("jobs", "--priority", "urgent"), "'urgent' is not one of 'emergency'"),
        (("job", "hold", "J-000001"), "say what the job waits for"),
        (("parts", "request", "AC-CAP-35", "--qty", "zero"), "whole number"),
        (("parts", "request", "NOPE-1"), "no part"),
        (("checklist", "set", "J-000001"), "Missing argument"),
        (("sync",), "not enrolled"),
        (("enroll", "ftp://hq", "ABCD"), "http"),
        (("nonsense",), "No such command"),
    ],
)
def test_mistakes_get_one_line_and_a_nonzero_exit(home, args, says):
    r = ft(home, *args)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fieldtech:"), r.stderr
    assert says.lower() in lines[0].lower()
    assert "Traceback" not in r.stderr + r.stdout


def test_seed_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for h in (a, b):
        ok(h, "seed", "--jobs", "40", "--date", "2026-11-01", "--seed", "3")
    assert ok(a, "jobs", "--all", "--json", "--limit", "1000") == ok(
        b, "jobs", "--all", "--json", "--limit", "1000"
    )

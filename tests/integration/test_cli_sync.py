"""`fieldtech enroll`, `fieldtech sync` and the `fieldtech hq` commands, as a person runs them."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import run

pytestmark = pytest.mark.integration


def test_enroll_sync_dry_run_and_unreachable_hq(hq, tmp_path):
    user = hq.add_user("Tenzin Dorje")
    hq.cli(
        "dispatch",
        "--kind",
        "repair",
        "--summary",
        "No hot water",
        "--customer",
        "Olga Berg",
        "--address",
        "3 Mill Lane",
        "--technician",
        "tenzin-dorje",
    )
    dev = tmp_path / "tenzin"
    bad = run(dev, "enroll", hq.url, "WRONG-CODE-0000", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("fieldtech: HQ refused the enrollment")
    out = run(dev, "enroll", hq.url, user["enrollment_code"]).stdout
    assert "enrolled as Tenzin Dorje" in out
    synced = json.loads(run(dev, "sync", "--json").stdout)
    assert synced["requests"] >= 1 and synced["pulled"] > 0
    job = json.loads(run(dev, "jobs", "--json").stdout)["jobs"][0]
    run(dev, "job", "note", job["ref"], "gate code 4411")
    plan = json.loads(run(dev, "sync", "--dry-run", "--json").stdout)
    assert plan["ops"] == 1 and plan["by_kind"] == {"job.note": 1}
    assert json.loads(run(dev, "outbox", "--json").stdout)[0]["op"] == "job.note"
    assert "1 sent" in run(dev, "sync").stdout
    assert json.loads(run(dev, "outbox", "--json").stdout) == []
    hq.stop()
    run(dev, "job", "note", job["ref"], "offline again")
    down = run(dev, "sync", check=False)
    assert down.returncode == 1
    assert down.stderr.count("\n") == 1 and "cannot be reached" in down.stderr
    assert "Traceback" not in down.stderr
    assert len(json.loads(run(dev, "outbox", "--json").stdout)) == 1


def test_hq_commands_and_their_mistakes(hq, tmp_path):
    again = hq.cli("init", check=False)
    assert again.returncode == 1 and "already set up" in again.stderr
    bad_role = hq.cli("user", "add", "--name", "X", "--role", "boss", check=False)
    assert bad_role.returncode == 2 and bad_role.stderr.count("\n") == 1
    no_team = hq.cli("user", "add", "--name", "X", "--role", "technician", check=False)
    assert no_team.returncode == 1 and "team" in no_team.stderr
    hq.add_user("Tenzin Dorje")
    users = hq.cli_json("user", "list")
    assert {u["id"] for u in users} >= {"admin", "tenzin-dorje"}
    csv = tmp_path / "jobs.csv"
    csv.write_text(
        "ref,kind,summary,customer_name,address,technician\n"
        "CLI-1,repair,Leak,Maria Santos,12 Pine Ave,tenzin-dorje\n"
        "CLI-2,fly,Bad,Someone,1 Road,tenzin-dorje\n"
    )
    imported = hq.cli("import", str(csv), check=False)
    assert imported.returncode == 1 and "1 created" in imported.stdout
    assert "line 3 (CLI-2): unknown job kind" in imported.stdout
    assert "CLI-1" in hq.cli("jobs").stdout
    hq.add_user("Kofi Mensah")
    assert "assigned to kofi-mensah" in hq.cli("assign", "CLI-1", "kofi-mensah").stdout
    assert "cancelled" in hq.cli("cancel", "CLI-1", "--reason", "duplicate call").stdout
    report = hq.cli("report", "CLI-1").stdout
    assert report.startswith("# Service report CLI-1")
    parts = tmp_path / "parts.csv"
    parts.write_text("sku,name\nX-1,Valve\n")
    assert "1 parts saved" in hq.cli("parts", str(parts)).stdout
    template = tmp_path / "t.json"
    template.write_text("{not json")
    broken = hq.cli("template", str(template), check=False)
    assert broken.returncode == 1 and "not valid JSON" in broken.stderr
    devices = hq.cli_json("devices")
    assert any(d["kind"] == "admin" for d in devices)
    missing = hq.cli("revoke", "no-such-device", check=False)
    assert missing.returncode == 1 and "no active credential" in missing.stderr


def test_supervisor_status_from_the_last_pulled_state(hq, tmp_path):
    tenzin = hq.add_user("Tenzin Dorje")
    hq.add_user("Kofi Mensah")
    hq.add_user("Olga South", team="south")
    boss = hq.add_user("Lhamo Supervisor", role="supervisor")
    for tech, ref in (
        ("tenzin-dorje", "S-1"),
        ("tenzin-dorje", "S-2"),
        ("kofi-mensah", "S-3"),
        ("olga-south", "S-4"),
    ):
        hq.cli(
            "dispatch",
            "--kind",
            "repair",
            "--summary",
            "x",
            "--customer",
            "C",
            "--address",
            "A",
            "--technician",
            tech,
            "--ref",
            ref,
            "--sla-due",
            "2000-01-01T00:00",
        )
    dev = tmp_path / "tech"
    run(dev, "enroll", hq.url, tenzin["enrollment_code"])
    run(dev, "sync")
    run(dev, "job", "hold", "S-1", "--reason", "waiting for parts")
    run(dev, "job", "escalate", "S-2", "--note", "need a second pair of hands")
    run(dev, "sync")
    sup = tmp_path / "boss"
    run(sup, "enroll", hq.url, boss["enrollment_code"])
    run(sup, "sync")
    rows = {r["technician"]: r for r in json.loads(run(sup, "status", "--json").stdout)}
    assert set(rows) == {"tenzin-dorje", "kofi-mensah"}  # not the other team
    t = rows["tenzin-dorje"]
    assert (t["open"], t["on_hold_for_parts"], t["overdue"], t["escalated"]) == (2, 1, 2, 1)
    only = json.loads(run(sup, "status", "--escalated", "--json").stdout)
    assert [r["technician"] for r in only] == ["tenzin-dorje"]
    csv_text = run(sup, "status", "--csv", "--technician", "kofi-mensah").stdout
    assert csv_text.splitlines()[0] == (
        "technician,name,open,in_progress,on_hold_for_parts,completed_today,overdue,"
        "escalated,avg_rating,avg_callback"
    )
    assert csv_text.splitlines()[1].startswith("kofi-mensah,Kofi Mensah,1,")
    held = json.loads(run(sup, "status", "--status", "on_hold", "--json").stdout)
    assert [r["name"] for r in held] == ["Tenzin Dorje"]
    assert "pulled from HQ just now" in run(sup, "status").stdout
    bad = run(sup, "status", "--status", "sleeping", check=False)
    assert bad.returncode == 2 and "sleeping" in bad.stderr and "Traceback" not in bad.stderr

    # The supervisor acts from the terminal, offline; it reaches the technician via HQ.
    esc = json.loads(run(sup, "team", "escalations", "--open", "--json").stdout)
    assert [e["ref"] for e in esc] == ["S-2"]
    run(sup, "team", "ack", "S-2", "--note", "on it")
    assert json.loads(run(sup, "team", "escalations", "--open", "--json").stdout) == []
    run(sup, "team", "reassign", "S-1", "Kofi Mensah")
    refused = run(sup, "team", "reassign", "S-1", "olga-south", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "fieldtech: 'olga-south' is not a technician of this team (sync to refresh the team)"
    )
    run(sup, "sync")
    run(dev, "sync")
    mine = {j["ref"]: j for j in json.loads(run(dev, "jobs", "--all", "--json").stdout)["jobs"]}
    assert "S-1" not in mine  # moved to Kofi: off Tenzin's queue
    boss_view = {r["technician"]: r for r in json.loads(run(sup, "status", "--json").stdout)}
    assert boss_view["kofi-mensah"]["open"] == 2


def test_a_photo_through_the_commands_to_a_real_hq_and_its_report(hq, tmp_path):
    """As a technician and the office would: attach, see what would go, sync to the real
    `fieldtech hq serve`, then the office's report carries the picture."""
    import base64

    from PIL import Image

    hq.add_user("Tenzin Dorje")
    hq.cli(
        "dispatch", "--kind", "repair", "--summary", "Leaking valve", "--customer", "Olga Berg",
        "--address", "3 Mill Lane", "--technician", "tenzin-dorje", "--ref", "PH-1",
    )  # fmt: skip
    dev = tmp_path / "tenzin"
    enrollment = hq.cli("user", "enrollment", "tenzin-dorje").stdout.strip()
    run(dev, "enroll", hq.url, enrollment)
    run(dev, "sync")
    picture = tmp_path / "DSC_0001.jpg"
    Image.effect_noise((2400, 1800), 30).convert("RGB").save(picture, quality=92)
    said = run(dev, "attach", "PH-1", str(picture), "--caption", "the valve, before").stdout
    assert "attached JPEG photo 'DSC_0001.jpg'" in said and "to PH-1" in said
    plan = run(dev, "sync", "--dry-run").stdout
    assert "then 1 file(s)" in plan
    synced = run(dev, "sync").stdout
    assert "files: 1 now at HQ" in synced and "0 waiting" in synced
    listed = json.loads(run(dev, "attachments", "PH-1", "--json").stdout)["attachments"]
    assert listed[0]["at_hq"] and listed[0]["caption"] == "the valve, before"
    kept = (dev / "data" / "files" / listed[0]["sha256"][:2] / listed[0]["sha256"]).read_bytes()
    assert len(kept) == listed[0]["size"] < picture.stat().st_size  # it went downscaled
    html = hq.cli("report", "PH-1", "--html").stdout
    assert f"data:image/jpeg;base64,{base64.b64encode(kept).decode()}" in html
    md = hq.cli("report", "PH-1").stdout
    assert "JPEG photo DSC_0001.jpg" in md and "the valve, before" in md

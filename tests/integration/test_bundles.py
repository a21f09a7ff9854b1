"""A sync carried as a file (fieldtech.sync.bundles) between a real `fieldtech hq serve` and
devices driven by the installed `fieldtech` command: export on the device, import at HQ
with a reply, the reply imported on the device — ending where a sync would have ended —
and every bad bundle refused in one line with nothing applied."""

from __future__ import annotations

import json
import sqlite3

import httpx
import pytest

from fieldtech.sync import bundles, keys
from tests.integration.conftest import run

pytestmark = pytest.mark.integration


def device(hq, tmp_path, name: str, code: str):
    home = tmp_path / name
    run(home, "enroll", hq.url, code)
    run(home, "sync")
    return home


def ft_json(home, *args: str):
    return json.loads(run(home, *args, "--json").stdout)


def notes_at_hq(hq, job_id: str) -> list[str]:
    history = hq.api().get(f"/v1/jobs/{job_id}").json()["history"]
    return sorted(e["body"] for e in history if e["kind"] == "note")


def pending(home) -> list[dict]:
    return ft_json(home, "outbox", "--state", "pending")


def credential(home) -> dict:
    return json.loads((home / "config" / "credential.json").read_text())


def worked(hq, tmp_path, name: str = "Ana Lima", notes: int = 3):
    """A technician's device with five jobs and `notes` notes made offline on the first."""
    tech = hq.add_user(name)
    # Each technician's jobs of their own seed and refs (seeding repeats ids for a seed).
    seed = str(sum(map(ord, name)))
    prefix = name[:2].upper() + "-"
    hq.cli(
        "seed",
        "--jobs",
        "5",
        "--technician",
        tech["user"]["id"],
        "--seed",
        seed,
        "--prefix",
        prefix,
    )
    home = device(hq, tmp_path, name.split()[0].lower(), tech["enrollment_code"])
    job = ft_json(home, "jobs")["jobs"][0]
    for i in range(notes):
        run(home, "job", "note", job["id"], f"note {i} [/] ← ملاحظة 备注 🔧")
    return tech, home, job


def test_export_carry_import_reply_ends_where_a_sync_would(hq, tmp_path):
    tech, home, job = worked(hq, tmp_path)
    hq.cli(
        "seed", "--jobs", "2", "--technician", tech["user"]["id"], "--prefix", "K-", "--seed", "11"
    )
    out = tmp_path / "stick" / "ana.ftb"
    said = run(home, "bundle", "export", str(out)).stdout
    assert "3 change(s)" in said and out.is_file()
    assert len(pending(home)) == 3  # exporting changes nothing here
    shown = ft_json(home, "bundle", "show", str(out))
    assert shown["kind"] == "outgoing" and shown["operations"] == 3

    reply = tmp_path / "stick" / "ana-reply.ftb"
    at_hq = json.loads(hq.cli("bundle", "import", str(out), "--reply", str(reply), "--json").stdout)
    assert at_hq["operations"] == 3 and at_hq["rejected"] == 0
    want = sorted(f"note {i} [/] ← ملاحظة 备注 🔧" for i in range(3))
    assert notes_at_hq(hq, job["id"]) == want
    # Carried twice, or by two people: applied once.
    hq.cli("bundle", "import", str(out), "--reply", str(tmp_path / "again.ftb"))
    assert notes_at_hq(hq, job["id"]) == want

    got = ft_json(home, "bundle", "import", str(reply))
    assert got["settled"] == 3 and not got["stale"]
    assert pending(home) == []
    refs = {j["ref"] for j in ft_json(home, "jobs", "--all")["jobs"]}
    assert sum(r.startswith("K-") for r in refs) == 2  # dispatched while away, now here
    again = run(home, "bundle", "import", str(reply)).stdout
    assert "nothing changed" in again
    # Where a sync would have ended: nothing to send, nothing new to receive.
    said = run(home, "sync").stdout
    assert "0 sent, 0 received" in said, said


def test_a_bundle_carried_over_the_api_by_a_colleague(hq, tmp_path):
    tech, home, job = worked(hq, tmp_path, notes=2)
    colleague = hq.add_user("Bo Chen")
    carrier = device(hq, tmp_path, "bo", colleague["enrollment_code"])
    out = tmp_path / "ana.ftb"
    run(home, "bundle", "export", str(out))
    hq.cli(
        *("dispatch", "--kind", "repair", "--summary", "Boiler lockout"),
        *("--customer", "Dolma Secretname", "--address", "7 Hidden Lane"),
        *("--technician", tech["user"]["id"], "--ref", "SEALED-1"),
    )
    token = credential(carrier)["token"]
    api = hq.api(token)
    r = api.post("/v1/bundles", content=out.read_bytes())
    assert r.status_code == 200, r.text
    assert len(notes_at_hq(hq, job["id"])) == 2
    # The colleague carried both ways and read neither: the notes nor the new customer.
    assert b"note 0" not in out.read_bytes()
    assert b"Secretname" not in r.content and b"Hidden Lane" not in r.content
    (tmp_path / "reply.ftb").write_bytes(r.content)
    assert ft_json(home, "bundle", "import", str(tmp_path / "reply.ftb"))["settled"] == 2
    refs = {j["ref"] for j in ft_json(home, "jobs", "--all")["jobs"]}
    assert "SEALED-1" in refs  # what the reply brought, opened here
    # Nobody signed in may carry one; what is not a bundle is refused with a reason.
    assert httpx.post(hq.url + "/v1/bundles", content=out.read_bytes()).status_code == 401
    bad = api.post("/v1/bundles", content=b"not a bundle")
    assert bad.status_code == 400 and "not a fieldtech bundle" in bad.json()["detail"]


def refused(hq, *args: str) -> str:
    r = hq.cli(*args, check=False)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


def test_bad_bundles_are_refused_at_hq_in_one_line_with_nothing_applied(hq, tmp_path):
    tech, home, job = worked(hq, tmp_path, notes=2)
    out = tmp_path / "ana.ftb"
    run(home, "bundle", "export", str(out))
    data = out.read_bytes()
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0x40
    me = credential(home)["device_id"]
    other_key = bundles.new_key()[0]
    hq_box = credential(home)[keys.HQ_BOX]
    forged = bundles.pack(
        {"kind": "outgoing", "device": me}, {"v": 2, "ops": []}, other_key, hq_box
    )
    cases = {
        "cut.ftb": (data[: len(data) - 30], "cut short"),
        "flipped.ftb": (bytes(flipped), "changed after it was signed"),
        "junk.ftb": (b"PK\x03\x04 a holiday photo", "not a fieldtech bundle"),
        "forged.ftb": (forged, f"not device {me}'s"),
    }
    reply = tmp_path / "reply.ftb"
    for name, (body, words) in cases.items():
        (tmp_path / name).write_bytes(body)
        line = refused(hq, "bundle", "import", str(tmp_path / name), "--reply", str(reply))
        assert words in line, (name, line)
        assert not reply.exists()
    assert notes_at_hq(hq, job["id"]) == []
    # A reply is for a device, not for HQ.
    hq.cli("bundle", "import", str(out), "--reply", str(reply))
    line = refused(hq, "bundle", "import", str(reply), "--reply", str(tmp_path / "r2.ftb"))
    assert "import it on that device" in line
    # A revoked device's bundle is refused, however it was signed.
    run(home, "job", "note", job["id"], "after the theft")
    run(home, "bundle", "export", str(tmp_path / "late.ftb"))
    hq.cli("revoke", me)
    line = refused(hq, "bundle", "import", str(tmp_path / "late.ftb"), "--reply", str(reply))
    assert "revoked" in line
    assert "after the theft" not in notes_at_hq(hq, job["id"])


def test_a_reply_for_another_device_or_changed_is_refused_on_the_device(hq, tmp_path):
    _, home, job = worked(hq, tmp_path, notes=1)
    _, other, _ = worked(hq, tmp_path, "Bo Chen", notes=1)
    out, reply = tmp_path / "bo.ftb", tmp_path / "bo-reply.ftb"
    run(other, "bundle", "export", str(out))
    hq.cli("bundle", "import", str(out), "--reply", str(reply))
    cases = [
        (reply.read_bytes(), "is for device"),
        (out.read_bytes(), "import it at HQ"),
    ]
    mine = tmp_path / "ana.ftb"
    run(home, "bundle", "export", str(mine))
    hq.cli("bundle", "import", str(mine), "--reply", str(tmp_path / "ana-reply.ftb"))
    changed = bytearray((tmp_path / "ana-reply.ftb").read_bytes())
    changed[-1] ^= 0x01  # the signature's last byte
    cases.append((bytes(changed), "not HQ's"))
    for n, (body, words) in enumerate(cases):
        path = tmp_path / f"case{n}.ftb"
        path.write_bytes(body)
        r = run(home, "bundle", "import", str(path), check=False)
        assert r.returncode != 0 and words in r.stderr, (n, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert len(pending(home)) == 1  # nothing settled by any of them


def test_a_device_enrolled_before_keys_gets_one_at_its_next_sync(hq, tmp_path):
    _, home, job = worked(hq, tmp_path, notes=1)
    # As a device enrolled by an earlier release: no key on either side.
    path = home / "config" / "credential.json"
    cred = credential(home)
    for name in (keys.DEVICE_KEY, keys.DEVICE_BOX, keys.HQ_KEY, keys.HQ_BOX, keys.KEY_AT_HQ):
        cred.pop(name)
    path.write_text(json.dumps(cred))
    with sqlite3.connect(hq.home / "data" / "hq.sqlite") as db:
        db.execute(
            "UPDATE credentials SET public_key = NULL, box_key = NULL WHERE device_id = ?",
            [cred["device_id"]],
        )
    r = run(home, "bundle", "export", str(tmp_path / "early.ftb"), check=False)
    assert r.returncode != 0 and "sync once where there is signal" in r.stderr
    run(home, "sync")  # offers its new key, and sends the note
    assert credential(home)[keys.KEY_AT_HQ] is True
    run(home, "job", "note", job["id"], "with a key now")
    run(home, "bundle", "export", str(tmp_path / "keyed.ftb"))
    hq.cli("bundle", "import", str(tmp_path / "keyed.ftb"), "--reply", str(tmp_path / "r.ftb"))
    assert "with a key now" in notes_at_hq(hq, job["id"])


def test_a_bundle_after_a_sync_and_replies_out_of_order_apply_nothing_twice(hq, tmp_path):
    _, home, job = worked(hq, tmp_path, notes=2)
    first, second = tmp_path / "b1.ftb", tmp_path / "b2.ftb"
    run(home, "bundle", "export", str(first))
    run(home, "job", "note", job["id"], "third")
    run(home, "bundle", "export", str(second))  # all three: nothing was acknowledged yet
    r1, r2 = tmp_path / "r1.ftb", tmp_path / "r2.ftb"
    hq.cli("bundle", "import", str(first), "--reply", str(r1))
    hq.cli("bundle", "import", str(second), "--reply", str(r2))
    assert len(notes_at_hq(hq, job["id"])) == 3
    assert ft_json(home, "bundle", "import", str(r2))["settled"] == 3
    assert ft_json(home, "bundle", "import", str(r1))["stale"] is True  # older: nothing
    # The same after an online sync got there first.
    run(home, "job", "note", job["id"], "fourth")
    run(home, "bundle", "export", str(first))
    run(home, "sync")
    hq.cli("bundle", "import", str(first), "--reply", str(r1))
    assert sorted(notes_at_hq(hq, job["id"])).count("fourth") == 1
    assert ft_json(home, "bundle", "import", str(r1))["settled"] == 0
    assert pending(home) == []
    assert "0 sent, 0 received" in run(home, "sync").stdout


def test_a_colleague_carries_it_with_their_own_sync_and_hands_the_reply_back(hq, tmp_path):
    _, home, job = worked(hq, tmp_path, notes=2)
    _, carrier, _ = worked(hq, tmp_path, "Bo Chen", notes=0)
    ana_device = credential(home)["device_id"]
    out = tmp_path / "ana.ftb"
    run(home, "bundle", "export", str(out))
    said = run(carrier, "bundle", "carry", str(out)).stdout
    assert f"device {ana_device}'s bundle (2 change(s)" in said
    assert "already carried" in run(carrier, "bundle", "carry", str(out)).stdout
    # Until the carrier's sync, HQ has none of it and there is nothing to hand over.
    assert notes_at_hq(hq, job["id"]) == []
    early = run(carrier, "bundle", "hand-over", ana_device, str(tmp_path / "r.ftb"), check=False)
    assert early.returncode != 0 and "comes with this device's next sync" in early.stderr
    assert "carried 1 colleague's bundle" in run(carrier, "sync").stdout
    assert len(notes_at_hq(hq, job["id"])) == 2
    (row,) = ft_json(carrier, "bundle", "carried")
    assert row["device"] == ana_device and row["reply_size"] > 0 and row["problem"] is None
    run(carrier, "sync")  # carried once: not again
    assert len(notes_at_hq(hq, job["id"])) == 2
    run(carrier, "bundle", "hand-over", ana_device, str(tmp_path / "reply.ftb"))
    assert ft_json(home, "bundle", "import", str(tmp_path / "reply.ftb"))["settled"] == 2
    assert pending(home) == []
    # Nothing else is carried: a reply, one's own bundle, or what is not a bundle.
    own = tmp_path / "bo.ftb"
    run(carrier, "bundle", "export", str(own))
    for path, words in (
        (tmp_path / "reply.ftb", "hand it to that device"),
        (own, "this device's own bundle"),
        (tmp_path / "ana.ftb.part", "cannot read"),
    ):
        r = run(carrier, "bundle", "carry", str(path), check=False)
        assert r.returncode != 0 and words in r.stderr, (path, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


def test_a_carried_bundle_hq_refuses_is_said_and_not_sent_again(hq, tmp_path):
    _, home, job = worked(hq, tmp_path, notes=1)
    _, carrier, _ = worked(hq, tmp_path, "Bo Chen", notes=0)
    out = tmp_path / "ana.ftb"
    run(home, "bundle", "export", str(out))
    ana_device = credential(home)["device_id"]
    run(carrier, "bundle", "carry", str(out))
    hq.cli("revoke", ana_device)  # her phone was lost meanwhile
    run(carrier, "sync")
    (row,) = ft_json(carrier, "bundle", "carried")
    assert "revoked" in row["problem"] and not row["reply_size"]
    r = run(carrier, "bundle", "hand-over", ana_device, str(tmp_path / "r.ftb"), check=False)
    assert r.returncode != 0 and "HQ refused" in r.stderr and "revoked" in r.stderr
    assert notes_at_hq(hq, job["id"]) == []

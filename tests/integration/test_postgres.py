"""HQ on PostgreSQL, and two stateless HQ processes sharing it (the scaled deployment)."""

from __future__ import annotations

import json

import pytest

from fieldtech.services import jobs
from tests.integration.conftest import enroll_device, launch, run
from tests.integration.test_dispatch_to_device import dispatch

pytestmark = pytest.mark.integration


def test_two_hq_processes_on_one_postgres(tmp_path, pg_url):
    home = tmp_path / "hq"
    home.mkdir()
    init = json.loads(run(home, "hq", "--db", pg_url, "init", "--json").stdout)
    first = launch(home, init["admin_token"], pg_url)
    second = launch(home, init["admin_token"], pg_url)
    try:
        a = first.add_user("Tenzin Dorje")
        b = first.add_user("Kofi Mensah")
        tech_a = enroll_device(first, tmp_path / "a", a["enrollment_code"])
        tech_b = enroll_device(second, tmp_path / "b", b["enrollment_code"])
        job_a = dispatch(first, "tenzin-dorje")
        job_b = dispatch(second, "kofi-mensah", ref="PG-B-1")
        tech_a.sync()
        tech_b.sync()
        assert tech_a.store.job(job_a["id"])["ref"] == job_a["ref"]
        assert tech_b.store.job(job_b["id"])["ref"] == "PG-B-1"
        # Scope holds across processes: A never receives B's job.
        assert not tech_a.store.job_exists(job_b["id"])

        jobs.start(tech_a.device, job_a["id"])
        jobs.note(tech_a.device, job_a["id"], "on my way over the pass")
        tech_a.sync()
        # The other process serves what the first one stored.
        seen = second.api().get(f"/v1/jobs/{job_a['id']}").json()
        assert seen["status"] == "en_route"
        assert [e["body"] for e in seen["history"] if e["kind"] == "note"] == [
            "on my way over the pass"
        ]
        # And a reassignment made through process two reaches A's and B's devices.
        r = second.api().post(f"/v1/jobs/{job_a['id']}/assign", json={"technician": "kofi-mensah"})
        assert r.status_code == 200, r.text
        tech_a.sync()
        tech_b.sync()
        assert tech_b.store.job(job_a["id"])["technician_id"] == "kofi-mensah"
        assert tech_a.store.job(job_a["id"])["technician_id"] == "kofi-mensah"
        for h in (tech_a, tech_b):
            h.close()
    finally:
        first.stop()
        second.stop()

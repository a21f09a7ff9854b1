"""The scaled deployment under concurrent dispatch: two HQ processes on one PostgreSQL take
new customers, their sites and jobs at the same time, some for the same customer typed
twice, while a technician's device syncs over and over. Every sync must succeed (a pulled
row that names a customer or site the device has not received yet never breaks the page),
and in the end the device holds every job dispatched to it, with its real customer."""

from __future__ import annotations

import json
import threading

import pytest

from tests.integration.conftest import enroll_device, launch, run

pytestmark = pytest.mark.integration

ROUNDS = 12


def test_concurrent_dispatch_on_two_processes_never_breaks_a_device_sync(tmp_path, pg_url):
    home = tmp_path / "hq"
    home.mkdir()
    init = json.loads(run(home, "hq", "--db", pg_url, "init", "--json").stdout)
    hqs = [launch(home, init["admin_token"], pg_url) for _ in range(2)]
    try:
        added = hqs[0].add_user("Tenzin Dorje")
        user = added["user"]
        other = hqs[0].add_user("Kofi Mensah")["user"]
        tech = enroll_device(hqs[1], tmp_path / "tenzin", added["enrollment_code"])
        made: list[dict] = []
        errors: list[str] = []

        def dispatcher(n: int) -> None:
            api = hqs[n % 2].api()
            try:
                for i in range(ROUNDS):
                    body = {
                        "kind": "install" if i % 2 else "repair",
                        "summary": f"Job {n}-{i}",
                        # Each round a new customer; every third one the same person
                        # dispatched again on the other process, with and without a phone.
                        "customer_name": f"Customer {n}-{i}" if i % 3 else "Maria Santos",
                        "customer_phone": None if (n + i) % 2 else "+86 139 0000 1111",
                        "address": f"{i} Pine Ave" if i % 3 else "12 Pine Ave",
                        "city": "Lhasa",
                        "technician": (user if (n + i) % 3 else other)["id"],
                        "appliance_category": "air conditioner",
                    }
                    r = api.post("/v1/jobs", json=body)
                    if r.status_code >= 300:
                        errors.append(f"{r.status_code} {r.text[:200]}")
                    else:
                        made.append({**r.json(), "customer_name": body["customer_name"]})
            finally:
                api.close()

        threads = [threading.Thread(target=dispatcher, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        syncs = 0
        while any(t.is_alive() for t in threads):
            tech.sync()  # raises on any failed sync: that is the failure under test
            syncs += 1
        for t in threads:
            t.join()
        tech.sync()
        assert not errors, errors
        assert syncs >= 1
        mine = [j for j in made if j["technician_id"] == user["id"]]
        assert mine
        for job in mine:
            held = tech.store.job_card(job["id"])
            assert held["ref"] == job["ref"]
            assert held["customer"]["name"] == job["customer_name"], held["customer"]
        theirs = [j for j in made if j["technician_id"] != user["id"]]
        assert theirs and not any(tech.store.job_exists(j["id"]) for j in theirs)
        tech.close()
    finally:
        for h in hqs:
            h.stop()

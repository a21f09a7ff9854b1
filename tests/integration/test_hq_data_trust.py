"""What HQ sends must be right on the device: the newest template, the whole customer file."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from fieldtech.domain.templates import REPAIR, SPLIT_AC
from fieldtech.hq import auth, catalog, dispatch
from fieldtech.services import jobs
from tests.integration.world import ADMIN

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(world):
    auth.add_user(world.hq, name="Admin", role="admin", user_id="admin")
    token = auth.admin_token(world.hq, "admin")
    with httpx.Client(
        base_url=world.server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        yield http


def upload(admin, template) -> int:
    """A new version of a template, uploaded as HQ staff do (one item more)."""
    extra = replace(template.items[0], key="extra_check", label="Extra check")
    body = catalog.template_to_json(replace(template, items=(*template.items, extra)))
    r = admin.post("/v1/templates", json={k: v for k, v in body.items() if k != "version"})
    assert r.status_code == 200, r.text
    return r.json()["version"]


def test_jobs_made_after_an_upload_use_it_on_hq_and_on_the_device(world, admin):
    phone = world.phone("Tenzin Dorje")
    early = world.job(phone.user_id, kind="repair", summary="Noisy fan")
    assert early["template_version"] == 1
    phone.client.sync()
    assert upload(admin, REPAIR) == 2
    assert upload(admin, SPLIT_AC) == 2
    by_api = admin.post(
        "/v1/jobs",
        json={
            "kind": "install",
            "summary": "Install",
            "customer_name": "Bo Li",
            "address": "2 Hill Rd",
            "appliance_category": "air conditioner",
            "technician": phone.user_id,
        },
    )
    assert by_api.status_code == 201, by_api.text
    assert (by_api.json()["template_id"], by_api.json()["template_version"]) == (
        "split-ac-install",
        2,
    )
    phone.client.sync()
    # The job the device already had keeps its version; the device now holds both.
    assert phone.store.job(early["id"])["template_version"] == 1
    assert phone.store.template("repair-visit", 1).version == 1
    assert phone.store.template("repair-visit").version == 2
    # A follow-up made in the field gets the newest version the device holds.
    jobs.start(phone.device, early["id"])
    jobs.arrive(phone.device, early["id"])
    done = jobs.cannot_complete(phone.device, early["id"], "part on order", follow_up=True)
    follow_up = done["spawned"]
    assert (follow_up["template_id"], follow_up["template_version"]) == ("repair-visit", 2)
    phone.client.sync()
    [at_hq] = world.rows("jobs", id=follow_up["id"])
    assert at_hq["template_version"] == 2


def test_a_technician_sees_the_whole_customer_file_even_work_done_by_others(world):
    first = world.phone("Tenzin Dorje")
    second = world.phone("Mingma Sherpa")
    second.client.sync()  # its cursor passes the customer's rows before they are its business
    spec = {
        "customer_name": "Asha Rao",
        "address": "1 Station St",
        "appliance_category": "air conditioner",
    }
    old = dispatch.create_job(
        world.hq,
        ADMIN,
        {
            **spec,
            "kind": "install",
            "summary": "Install split AC",
            "customer_phone": "+977 984-1234567",
            "appliance_serial": "AC-1",
            "technician": first.user_id,
        },
    )
    dispatch.create_job(
        world.hq,
        ADMIN,
        {
            **spec,
            "kind": "install",
            "summary": "Water heater",
            "appliance_category": "water heater",
            "technician": first.user_id,
        },
    )
    first.client.sync()
    second.client.sync()
    new = dispatch.create_job(
        world.hq,
        ADMIN,
        {
            **spec,
            "customer_name": "  asha   RAO ",  # typed again, without the phone
            "kind": "repair",
            "summary": "Not cooling",
            "appliance_serial": "AC-1",
            "technician": second.user_id,
        },
    )
    assert new["customer_id"] == old["customer_id"]
    assert world.count("customers") == 1
    second.client.sync()  # raises if the page cannot be applied
    card = second.store.job_card(new["id"])
    assert card["customer"]["name"] == "Asha Rao"
    assert card["customer"]["phone"] == "+977 984-1234567"
    file = second.store.customer_history(new["customer_id"], new["id"])
    assert [j["summary"] for j in file["jobs"]] == ["Water heater", "Install split AC"]
    heater = world.rows("jobs", summary="Water heater")[0]
    assert {j["ref"] for j in file["jobs"]} == {old["ref"], heater["ref"]}
    assert sorted(a["category"] for a in file["appliances"]) == ["air conditioner", "water heater"]
    assert card["appliance"]["serial"] == "AC-1"
    # The other technician's own jobs stay theirs: the second device's queue has one job.
    assert [j["id"] for j in second.store.queue(limit=10)] == [new["id"]]

"""A first walk through a job's day through the services, end to end on a real file."""

from fieldtech.domain.demo_data import demo_code
from fieldtech.domain.errors import CloseRefused
from fieldtech.services import checklists, jobs
from tests.conftest import job_with


def test_job_day_from_assigned_to_completed(device):
    job = job_with(device.store, "assigned", kind="repair")
    jobs.start(device, job["id"])
    jobs.arrive(device, job["id"])
    cl = checklists.checklist(device, job["id"])
    for entry in cl["items"]:
        item = entry["item"]
        value = {
            "tick": "yes",
            "number": item.min if item.min is not None else 1,
            "choice": item.choices[0] if item.choices else "x",
        }.get(item.type.value, "ok")
        checklists.record_reading(device, job["id"], item.key, value)
    try:
        jobs.close(device, job["id"], outcome="repaired", signoff_name="A", code="0", rating=5)
    except CloseRefused as refused:
        assert refused.missing == ["confirmation code does not match the customer's"]
    closed = jobs.close(
        device,
        job["id"],
        outcome="repaired",
        signoff_name="A Customer",
        code=demo_code(job["ref"]),
        rating=5,
    )
    assert closed["status"] == "completed"
    ops = [o["op"] for o in device.store.outbox()]
    assert ops[0] == "job.status" and ops[-1] == "job.close"

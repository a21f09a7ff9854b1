"""Fill a device store with demo data, as if it had been pulled from HQ."""

from __future__ import annotations

from datetime import datetime

from fieldtech.domain.demo_data import generate
from fieldtech.domain.jobs import Status
from fieldtech.domain.templates import DEFAULT_TEMPLATES
from fieldtech.store import Store

BATCH = 5000


def install_templates(store: Store) -> None:
    with store.transaction():
        for t in DEFAULT_TEMPLATES:
            store.put_template(t)


def seed(
    store: Store, jobs: int, *, now: datetime, seed: int = 7, technician_id: str = "tech-demo"
) -> dict[str, int]:
    """Replace-free, idempotent load: running it twice with the same seed changes nothing."""
    data = generate(jobs, now=now, seed=seed, technician_id=technician_id)
    db = store.db
    with store.transaction():
        for t in DEFAULT_TEMPLATES:
            store.put_template(t)
        db["customers"].insert_all(data.customers, pk="id", ignore=True, batch_size=BATCH)
        sites = [{**s, "hazards": __import__("json").dumps(s["hazards"])} for s in data.sites]
        db["sites"].insert_all(sites, pk="id", ignore=True, batch_size=BATCH)
        db["appliances"].insert_all(data.appliances, pk="id", ignore=True, batch_size=BATCH)
        for j in data.jobs:
            j["open"] = int(Status(j["status"]).is_open)
        db["jobs"].insert_all(data.jobs, pk="id", ignore=True, batch_size=BATCH)
        db["parts"].insert_all(data.parts, pk="sku", ignore=True)
        db["stock_ledger"].insert_all(data.stock, pk="id", ignore=True)
        store.rebuild_job_search()
    return {
        "customers": len(data.customers),
        "appliances": len(data.appliances),
        "jobs": len(data.jobs),
        "parts": len(data.parts),
    }

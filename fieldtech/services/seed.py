"""Fill a device store with demo data, as if it had been pulled from HQ."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fieldtech.domain.demo_data import SEEDED, generate
from fieldtech.domain.jobs import Status
from fieldtech.domain.templates import DEFAULT_TEMPLATES
from fieldtech.store import Store

BATCH = 5000


def install_templates(store: Store) -> None:
    with store.transaction():
        for t in DEFAULT_TEMPLATES:
            store.put_template(t)


def seed(
    store: Store,
    jobs: int,
    *,
    now: datetime,
    seed: int = 7,
    technician_id: str = "tech-demo",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Replace-free, idempotent load: running it twice with the same seed changes nothing.
    `progress(done, total)` hears of every batch of jobs written."""
    step = progress or (lambda done, total: None)
    step(0, jobs)
    data = generate(jobs, now=now, seed=seed, technician_id=technician_id)
    db = store.db
    with store.transaction():
        for t in DEFAULT_TEMPLATES:
            store.put_template(t)
        db["customers"].insert_all(data.customers, pk="id", ignore=True, batch_size=BATCH)
        sites = [{**s, "hazards": __import__("json").dumps(s["hazards"])} for s in data.sites]
        db["sites"].insert_all(sites, pk="id", ignore=True, batch_size=BATCH)
        db["appliances"].insert_all(data.appliances, pk="id", ignore=True, batch_size=BATCH)
        jobs = data.device_jobs()  # the codes' hashes: a device never keeps the code
        for j in jobs:
            j["open"] = int(Status(j["status"]).is_open)
        for i in range(0, len(jobs), BATCH):
            db["jobs"].insert_all(jobs[i : i + BATCH], pk="id", ignore=True, batch_size=BATCH)
            step(min(i + BATCH, len(jobs)), len(jobs))
        db["parts"].insert_all(data.parts, pk="sku", ignore=True)
        db["stock_ledger"].insert_all(data.stock, pk="id", ignore=True)
        store.rebuild_job_search()
        store.set_meta("demo_data", SEEDED)  # `job show` and the app show the demo's codes
    return {
        "customers": len(data.customers),
        "appliances": len(data.appliances),
        "jobs": len(data.jobs),
        "parts": len(data.parts),
    }

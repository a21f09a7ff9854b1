"""Fill a device store with demo data, as if it had been pulled from HQ."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from fieldtech.domain.demo_data import SEEDED, generate
from fieldtech.domain.jobs import Status
from fieldtech.domain.templates import DEFAULT_TEMPLATES
from fieldtech.store import Store

BATCH = 5000


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
    with store.transaction():
        for t in DEFAULT_TEMPLATES:
            store.put_template(t)
        store.add_absent("customers", data.customers, batch=BATCH)
        sites = [{**s, "hazards": json.dumps(s["hazards"])} for s in data.sites]
        store.add_absent("sites", sites, batch=BATCH)
        store.add_absent("appliances", data.appliances, batch=BATCH)
        rows = data.device_jobs()  # the codes' hashes: a device never keeps the code
        for j in rows:
            j["open"] = int(Status(j["status"]).is_open)
        for i in range(0, len(rows), BATCH):
            store.add_absent("jobs", rows[i : i + BATCH], batch=BATCH)
            step(min(i + BATCH, len(rows)), len(rows))
        store.add_absent("parts", data.parts)
        store.add_absent("stock_ledger", data.stock)
        store.rebuild_job_search()
        store.set_meta("demo_data", SEEDED)  # `job show` and the app show the demo's codes
    return {
        "customers": len(data.customers),
        "appliances": len(data.appliances),
        "jobs": len(data.jobs),
        "parts": len(data.parts),
    }

"""Building the app for tests: a seeded device in tmp_path, a fixed clock, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fieldtech.app import build_app
from fieldtech.paths import Locations
from fieldtech.services.seed import seed
from fieldtech.store import open_store

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SEED_DAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def make_app(tmp: Path, jobs: int = 60, sync_agent=None, **kwargs):
    loc = Locations(tmp / "data", tmp / "config", tmp / "logs", "test")
    store = open_store(loc.device_db)
    if store.count_jobs() == 0:
        seed(store, jobs, now=SEED_DAY)
    return build_app(loc, store=store, sync_agent=sync_agent, now=lambda: NOW, **kwargs)


def first_ref(app, status: str, kind: str | None = None) -> str:
    for row in app.store.queue(limit=1000):
        job = app.store.job(row["id"])
        if job["status"] == status and (kind is None or job["kind"] == kind) and job["template_id"]:
            return job["ref"]
    raise LookupError(status)

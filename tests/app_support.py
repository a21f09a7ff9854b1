"""Building the app for tests: a seeded device in tmp_path, a fixed clock, no network."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fieldtech.app import build_app
from fieldtech.paths import Locations
from fieldtech.services.seed import seed
from fieldtech.store import open_store

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SEED_DAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def until(pilot, condition: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Wait until `condition()` holds (a timer fired, a worker's message landed): poll
    between short pauses up to a deadline, instead of sleeping a guessed time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout}s still waiting for {what}")
        await pilot.pause(0.01)


def make_app(tmp: Path, jobs: int = 60, sync_agent=None, now=None, **kwargs):
    loc = Locations(tmp / "data", tmp / "config", tmp / "logs", "test")
    store = open_store(loc.device_db)
    if store.count_jobs() == 0:
        seed(store, jobs, now=SEED_DAY)
    now = now or (lambda: NOW)
    return build_app(loc, store=store, sync_agent=sync_agent, now=now, **kwargs)


def first_ref(app, status: str, kind: str | None = None) -> str:
    for row in app.store.queue(limit=1000):
        job = app.store.job(row["id"])
        if job["status"] == status and (kind is None or job["kind"] == kind) and job["template_id"]:
            return job["ref"]
    raise LookupError(status)


TEAM = (("ana", "Ana Lima"), ("ben", "Ben Okafor"), ("chen", "Chen Wei"))


def make_team_app(tmp: Path, jobs: int = 60, **kwargs):
    """A supervisor's device holding its team's state as HQ last sent it: three technicians,
    two part requests waiting, one escalation, one call-back."""
    loc = Locations(tmp / "data", tmp / "config", tmp / "logs", "test")
    store = open_store(loc.device_db)
    if store.count_jobs() == 0:
        seed(store, jobs, now=SEED_DAY)
        db = store.db
        with store.transaction():
            for key, value in (
                ("role", "supervisor"),
                ("team", "north"),
                ("user_id", "sue"),
                ("last_sync_ok", "2026-11-23T08:40:00Z"),
            ):
                store.set_meta(key, value)
            for uid, name in (*TEAM, ("sue", "Sue Park")):
                role = "supervisor" if uid == "sue" else "technician"
                db["users"].insert({"id": uid, "name": name, "role": role, "team": "north"})
            ids = [r[0] for r in db.execute("SELECT id FROM jobs ORDER BY ref")]
            for i, job_id in enumerate(ids):
                db.execute(
                    "UPDATE jobs SET technician_id = ?, team = 'north' WHERE id = ?",
                    [TEAM[i % 3][0], job_id],
                )
            open_ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM jobs WHERE open AND technician_id = 'ben' ORDER BY ref"
                )
            ]
            db.execute("UPDATE jobs SET escalation_level = 2 WHERE id = ?", [open_ids[0]])
            store.add_job_event(
                {
                    "id": "esc-1",
                    "job_id": open_ids[0],
                    "kind": "escalation",
                    "body": "customer threatens to cancel",
                    "actor": "ben",
                    "hlc": "1790000000000-00000-fixture",
                    "at": "2026-11-23T08:30:00Z",
                }
            )
            skus = [r[0] for r in db.execute("SELECT sku FROM parts ORDER BY sku LIMIT 2")]
            for n, (tech, sku) in enumerate(zip(("ana", "chen"), skus, strict=True)):
                store.put_request(
                    {
                        "id": f"req-{n}",
                        "sku": sku,
                        "qty": n + 1,
                        "job_id": None,
                        "status": "submitted",
                        "note": "van is out" if n == 0 else None,
                        "technician_id": tech,
                        "created_at": f"2026-11-23T07:0{n}:00Z",
                        "updated_at": f"2026-11-23T07:0{n}:00Z",
                        "hlc": f"179000000000{n}-00000-fixture",
                    }
                )
            done = db.execute(
                "SELECT id, technician_id FROM jobs WHERE status = 'completed' ORDER BY ref"
            ).fetchone()
            store.add_callback(
                {
                    "id": "cb-1",
                    "job_id": done[0],
                    "technician_id": done[1],
                    "skill": 5,
                    "attitude": 4,
                    "adherence": 4,
                    "comment": "fixed first time",
                    "recorded_by": "sue",
                    "at": "2026-11-22T16:00:00Z",
                }
            )
    return build_app(loc, store=store, sync_agent=None, now=lambda: NOW, **kwargs)

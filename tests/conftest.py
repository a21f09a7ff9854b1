"""Shared fixtures. Every test builds its data in tmp_path; none touches the user's home."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest

from fieldtech.services import Device
from fieldtech.services.seed import seed
from fieldtech.store import open_store

DAY = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _collector_as_found():
    """An app run freezes the heap it finds (gc.freeze): give it back after each test, so
    one test's garbage does not outlive it."""
    yield
    gc.enable()
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _isolate_home(tmp_path, monkeypatch):
    """Keep platformdirs and $FIELDTECH_HOME away from the real user's folders."""
    monkeypatch.setenv("FIELDTECH_HOME", str(tmp_path / "profile"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / "config"))


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "device.sqlite")
    yield s
    s.close()


@pytest.fixture
def seeded(store):
    seed(store, 120, now=DAY, seed=7)
    return store


@pytest.fixture
def device(seeded):
    return Device.open(seeded, now=lambda: DAY)


def job_with(store, status: str, kind: str | None = None, template: bool = True) -> dict:
    """The first seeded job in a given status (and kind), with a checklist if asked."""
    for row in store.queue(limit=10_000):
        job = store.job(row["id"])
        if job["status"] != status or (kind and job["kind"] != kind):
            continue
        if template and not job["template_id"]:
            continue
        return job
    raise LookupError(f"no seeded job {status} {kind}")

"""The pull cursor never skips a change, even while many devices commit at once."""

from __future__ import annotations

import secrets
import threading

import psycopg
import pytest

from fieldtech.services import jobs
from tests.integration.test_postgres import ADMIN_URL
from tests.integration.world import World


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield None
        return
    name = f"ft_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL} (CI starts it): {exc}")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_reader_with_small_pages_sees_every_concurrent_change(tmp_path, db_url):
    world = World.start(tmp_path, db_url)
    try:
        writers = [world.phone(f"Tech {i}") for i in range(4)]
        boss = world.phone("Lhamo Supervisor", role="supervisor")
        boss.client.page = 7
        job_ids = {
            w.user_id: world.job(w.user_id, ref=f"C-{i}")["id"] for i, w in enumerate(writers)
        }
        for w in writers:
            w.client.sync()
        done = threading.Event()
        errors: list[BaseException] = []

        def write(phone):
            try:
                for round_ in range(6):
                    for n in range(8):
                        jobs.note(phone.device, job_ids[phone.user_id], f"r{round_} n{n}")
                    phone.client.sync()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        def read():
            while not done.is_set():
                try:
                    boss.client.sync()
                except BaseException as exc:
                    errors.append(exc)
                    return

        threads = [threading.Thread(target=write, args=(w,)) for w in writers]
        reader = threading.Thread(target=read)
        reader.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        reader.join()
        assert not errors, errors
        boss.client.sync()
        for job_id in job_ids.values():
            at_hq = {e["id"] for e in world.rows("job_events", job_id=job_id)}
            seen = {e["id"] for e in boss.store.job_events(job_id)}
            assert seen == at_hq
            assert sum(1 for e in boss.store.job_events(job_id) if e["kind"] == "note") == 48
    finally:
        world.stop()

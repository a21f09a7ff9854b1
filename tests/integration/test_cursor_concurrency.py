"""The pull cursor never skips a change, even while many devices commit at once."""

from __future__ import annotations

import threading

import pytest

from fieldtech.services import jobs
from tests.integration.world import World

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    return None if request.param == "sqlite" else request.getfixturevalue("pg_url")


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

"""Property: devices and HQ change things concurrently while offline, sync in any order
through any faults — and end up equal, with no operation lost or applied twice."""

from __future__ import annotations

import contextlib
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldtech.domain.errors import FieldtechError
from fieldtech.services import checklists, jobs, parts
from fieldtech.sync.client import SyncError
from fieldtech.sync.hq import dispatch
from tests.integration.faultproxy import FAULTS
from tests.integration.world import ADMIN, World

FIELD = ("start", "arrive", "hold", "resume", "note", "reading", "use_part", "give_up")
field_step = st.tuples(
    st.just("field"), st.integers(0, 1), st.sampled_from(FIELD), st.integers(0, 2)
)
sync_step = st.tuples(
    st.just("sync"), st.integers(0, 1), st.sampled_from(FAULTS), st.integers(0, 0)
)
hq_step = st.tuples(
    st.just("hq"), st.integers(0, 1), st.sampled_from(("reassign", "cancel")), st.integers(0, 2)
)
steps = st.lists(st.one_of(field_step, field_step, sync_step, hq_step), min_size=3, max_size=15)


def do_field(phone, action: str, job_id: str) -> None:
    d = phone.device
    if not phone.store.job_exists(job_id):
        return
    try:
        if action == "start":
            jobs.start(d, job_id)
        elif action == "arrive":
            jobs.arrive(d, job_id)
        elif action == "hold":
            jobs.hold(d, job_id, "waiting for parts")
        elif action == "resume":
            jobs.resume(d, job_id)
        elif action == "note":
            jobs.note(d, job_id, f"note {random.random():.6f}")
        elif action == "reading":
            checklists.record_reading(d, job_id, "diagnosis", f"d{random.randint(1, 9)}")
        elif action == "use_part":
            parts.use_part(d, job_id, "AC-CAP-35", 1, override_reason="spare")
        elif action == "give_up":
            jobs.cannot_complete(d, job_id, "no access")
    except FieldtechError:
        pass  # the rules said no, offline, on the device: nothing was written


@settings(
    max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(plan=steps)
def test_replicas_converge_and_nothing_is_lost_or_doubled(plan):
    with tempfile.TemporaryDirectory() as tmp:
        world = World.start(Path(tmp))
        try:
            phones = [world.phone("Tenzin Dorje"), world.phone("Kofi Mensah")]
            techs = [p.user_id for p in phones]
            job_ids = [
                world.job(techs[0], ref="P-0")["id"],
                world.job(techs[0], ref="P-1")["id"],
                world.job(techs[1], ref="P-2")["id"],
            ]
            for p in phones:
                p.client.sync()
            created: set[str] = set()
            for kind, who, what, which in plan:
                phone = phones[who]
                if kind == "field":
                    do_field(phone, what, job_ids[which])
                    created |= {o["id"] for o in phone.store.outbox()}
                elif kind == "sync":
                    phone.link.schedule = [what]
                    with contextlib.suppress(SyncError):
                        phone.client.sync()
                else:
                    try:
                        if what == "reassign":
                            dispatch.assign(world.hq, ADMIN, job_ids[which], techs[who])
                        else:
                            dispatch.cancel(world.hq, ADMIN, job_ids[which], "customer called")
                    except FieldtechError:
                        pass
            # The link comes back for good: everyone syncs until nothing moves.
            for _ in range(3):
                for p in phones:
                    p.client.sync()
            check(world, phones, created)
        finally:
            world.stop()


def check(world: World, phones, created: set[str]) -> None:
    applied = {r["id"]: r for r in world.rows("applied_ops")}
    # No operation lost: every one ever written is known to HQ, applied or refused.
    assert created <= set(applied)
    for p in phones:
        assert p.store.outbox("pending") == []
        for op in p.store.outbox("rejected"):
            assert applied[op["id"]]["outcome"] == "rejected"
    # None applied twice: one row per applied operation that adds one.
    for op_id, r in applied.items():
        if r["outcome"] != "applied":
            continue
        if r["op"] in ("job.note", "job.status", "job.close"):
            assert world.count("job_events", id=op_id) == 1
        if r["op"] == "reading.add":
            assert world.count("readings", id=op_id) == 1
        if r["op"] == "stock.move":
            assert world.count("stock_ledger", id=op_id) == 1
    # All replicas equal, for every job each device holds.
    for p in phones:
        for row in p.store.queue(limit=100):
            hq_job = world.rows("jobs", id=row["id"])[0]
            mine = p.store.job(row["id"])
            for f in (
                "status",
                "technician_id",
                "outcome",
                "hold_reason",
                "closed_at",
                "cannot_complete_reason",
            ):
                assert mine[f] == hq_job[f], (p.name, f, mine[f], hq_job[f])
            hq_events = {e["id"] for e in world.rows("job_events", job_id=row["id"])}
            assert {e["id"] for e in p.store.job_events(row["id"])} == hq_events
            hq_readings = {r["id"] for r in world.rows("readings", job_id=row["id"])}
            assert {r["id"] for r in p.store.reading_history(row["id"])} == hq_readings

"""Property: devices and HQ change things concurrently while offline, sync in any order
through any faults — and end up equal, with no operation lost or applied twice."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldtech.domain.errors import FieldtechError
from fieldtech.hq import dispatch
from fieldtech.sync.client import SyncError
from tests.integration.faultproxy import FAULTS
from tests.integration.world import ADMIN, FIELD, World, check, do_field

pytestmark = pytest.mark.integration

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


DAY_MS = 86_400_000
# A device's wall clock: right, days ahead, days behind, a few minutes ahead (within the
# bound HQ accepts). HQ re-stamps what runs too far ahead; the device's clock catches up.
SKEWS = (0, 3 * DAY_MS, -3 * DAY_MS, 4 * 60_000)


def skewed(offset: int):
    return None if offset == 0 else (lambda: int(time.time() * 1000) + offset)


@settings(
    max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(plan=steps, skews=st.tuples(st.sampled_from(SKEWS), st.sampled_from(SKEWS)))
def test_replicas_converge_and_nothing_is_lost_or_doubled(plan, skews):
    with tempfile.TemporaryDirectory() as tmp:
        world = World.start(Path(tmp))
        try:
            phones = [
                world.phone("Tenzin Dorje", wall=skewed(skews[0])),
                world.phone("Kofi Mensah", wall=skewed(skews[1])),
            ]
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

"""Pages bounded by bytes read each table a little at a time (hq.pull._feed): whatever the
mix of tables, the pages together carry every row one unbounded pull carries, the cursor
only rises, and the last page says there is no more."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldtech.domain.jobs import Priority
from fieldtech.hq import auth, catalog, dispatch
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.pull import pull
from tests.integration.world import ADMIN

pytestmark = pytest.mark.integration


def rows_of(page) -> set[tuple[str, str]]:
    out = set()
    for name, block in page["changes"].items():
        key = block["cols"].index("sku" if name == "parts" else "id")
        out |= {(name, r[key]) for r in block["rows"]}
    return out


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    jobs=st.integers(1, 150),  # past FIRST_READ rows in a table: pages read it in steps
    reassign=st.booleans(),
    page_bytes=st.sampled_from([4096, 9000, 65536]),
    limit=st.sampled_from([7, 200, 20000]),
    seed=st.integers(0, 10**6),
)
def test_pages_carry_every_row_once_in_cursor_order(
    tmp_path_factory, jobs, reassign, page_bytes, limit, seed
):
    rng = random.Random(seed)
    hq = HQ.open(sqlite_url(tmp_path_factory.mktemp("hq") / "hq.sqlite"))
    try:
        catalog.install_defaults(hq)
        user, _ = auth.add_user(hq, name="Ida Moss", role="technician", team="north")
        made = []
        for _ in range(jobs):  # customers, sites, jobs and events interleave in the feed
            spec = {
                "kind": rng.choice(["repair", "install", "maintenance"]),
                "summary": "x" * rng.randint(1, 500),
                "customer_name": f"Customer {rng.randint(0, jobs // 2)}",
                "address": f"{rng.randint(1, 9)} Station St",
                "technician": user["id"],
                "priority": rng.choice([p.value for p in Priority]),
            }
            made.append(dispatch.create_job(hq, ADMIN, spec)["id"])
        if reassign:  # a stretch of the feed that is mostly one table: events, moved jobs
            other, _ = auth.add_user(hq, name="Bo Moss", role="technician", team="north")
            for _ in range(rng.randint(1, 3 * jobs)):
                dispatch.assign(hq, ADMIN, rng.choice(made), rng.choice([user, other])["id"])
            dispatch.assign(hq, ADMIN, made[-1], user["id"])
            made = [
                j for j in made if dispatch.get_job(hq, ADMIN, j)["technician_id"] == user["id"]
            ]
        tech = Principal(user["id"], "Ida Moss", "technician", "north", None, "c")
        whole = rows_of(pull(hq, tech, 0, 100_000))
        seen: set[tuple[str, str]] = set()
        cursor, carried, pages = 0, {}, 0
        while True:
            page = pull(hq, tech, cursor, limit, max_bytes=page_bytes, carried=carried)
            seen |= rows_of(page)
            pages += 1
            assert page["cursor"] >= cursor
            if not page["more"]:
                break
            assert page["cursor"] > cursor, "a page that says more must move the cursor"
            cursor = page["cursor"]
            assert pages < 10_000
        assert seen >= whole
        # every job now the technician's (and those moved away from them, to say so)
        assert {r for r in seen if r[0] == "jobs"} >= {("jobs", j) for j in made}
    finally:
        hq.dispose()

"""An HQ database made by an earlier fieldtech gains the columns added since, on SQLite and
on PostgreSQL, without losing a row."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from fieldtech.hq import auth, catalog, dispatch
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.pull import pull
from tests.integration.world import ADMIN

pytestmark = pytest.mark.integration

ADDED = (("users", "seq"), ("jobs", "escalation_ack_level"))


def make_old(url: str) -> str:
    """Today's schema, less the columns added for supervisors' devices."""
    hq = HQ.open(url)
    catalog.install_defaults(hq)
    user, _ = auth.add_user(hq, name="Tenzin Dorje", role="technician", team="north")
    job = dispatch.create_job(
        hq,
        ADMIN,
        {
            "kind": "repair",
            "summary": "Leak",
            "customer_name": "C",
            "address": "A",
            "technician": user["id"],
        },
    )
    with hq.tx() as conn:
        conn.execute(text("DROP INDEX IF EXISTS ix_users_seq"))
        for table, column in ADDED:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    hq.dispose()
    return job["id"]


def check_upgrade(url: str) -> None:
    job_id = make_old(url)
    hq = HQ.open(url)
    try:
        found = inspect(hq.engine)
        for table, column in ADDED:
            assert column in {c["name"] for c in found.get_columns(table)}
        assert "ix_users_seq" in {i["name"] for i in found.get_indexes("users")}
        with hq.engine.connect() as conn:
            assert (
                conn.execute(
                    text("SELECT count(*) FROM jobs WHERE id = :i"), {"i": job_id}
                ).scalar()
                == 1
            )
            assert conn.execute(text("SELECT escalation_ack_level FROM jobs")).scalar() == 0
        # And it works as a new one would: a supervisor's pull carries the roster.
        auth.add_user(hq, name="Lhamo Dolma", role="supervisor", team="north")
        from fieldtech.hq.auth import Principal

        boss = Principal("lhamo-dolma", "Lhamo Dolma", "supervisor", "north", "d1", "c1")
        page = pull(hq, boss, 0, 1000)
        assert {r[0] for r in page["changes"]["users"]["rows"]} >= {"lhamo-dolma"}
        assert job_id in {
            r[page["changes"]["jobs"]["cols"].index("id")] for r in page["changes"]["jobs"]["rows"]
        }
    finally:
        hq.dispose()


def test_an_older_sqlite_hq_is_brought_up_to_date(tmp_path):
    check_upgrade(sqlite_url(tmp_path / "hq.sqlite"))


def test_an_older_postgresql_hq_is_brought_up_to_date(pg_url):
    check_upgrade(pg_url)

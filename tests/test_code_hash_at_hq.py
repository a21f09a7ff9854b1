"""HQ keeps each new job's code hash beside the code (made once, not at every pull), and a
job from before that column still reaches devices with a hash that checks its code."""

from __future__ import annotations

from sqlalchemy import select, update

from fieldtech.domain.jobs import code_matches
from fieldtech.hq import schema
from fieldtech.hq.pull import pull
from tests.test_hq_service import ADMIN, hq, new_job, technician  # noqa: F401  (a fixture)


def stored(hq_, job_id: str) -> tuple[str, str | None]:
    with hq_.engine.connect() as conn:
        row = conn.execute(
            select(schema.jobs.c.confirmation_code, schema.jobs.c.confirmation_hash).where(
                schema.jobs.c.id == job_id
            )
        ).one()
    return row[0], row[1]


def sent_hashes(hq_, p) -> dict[str, str]:
    block = pull(hq_, p, 0, 1000)["changes"]["jobs"]
    cols = block["cols"]
    assert "confirmation_code" not in cols  # a device never gets the code itself
    return {r[cols.index("id")]: r[cols.index("confirmation_hash")] for r in block["rows"]}


def test_a_new_job_keeps_its_hash_and_an_older_one_gets_one_as_it_is_sent(hq):  # noqa: F811
    tech = technician(hq, "Ana Lima")
    made = new_job(hq, tech.user_id)
    older = new_job(hq, tech.user_id, summary="Noisy fan")
    code, kept = stored(hq, made["id"])
    assert code and kept and code_matches(code, kept) and not code_matches("000000", kept)
    with hq.tx() as conn:  # as a job made before HQ kept hashes
        conn.execute(
            update(schema.jobs)
            .where(schema.jobs.c.id == older["id"])
            .values(confirmation_hash=None)
        )
    sent = sent_hashes(hq, tech)
    assert sent[made["id"]] == kept
    older_code, _ = stored(hq, older["id"])
    assert code_matches(older_code, sent[older["id"]])


def test_a_customers_appliances_are_marked_sent_only_with_every_site_they_name(hq):  # noqa: F811
    """A stream marks a customer's appliances looked up only when each one's site went
    too: an appliance sent without its site is kept without it, and must go again."""
    from fieldtech.hq.customer_file import APPLIANCES_OF, complete_page

    tech = technician(hq, "Ana Lima")
    first = new_job(hq, tech.user_id)
    second = new_job(
        hq, tech.user_id, customer_id=first["customer_id"], address="9 Quay Road", summary="Leak"
    )
    with hq.engine.connect() as conn:
        job = dict(
            conn.execute(select(schema.jobs).where(schema.jobs.c.id == first["id"]))
            .mappings()
            .one()
        )
        other_site = conn.execute(
            select(schema.jobs.c.site_id).where(schema.jobs.c.id == second["id"])
        ).scalar_one()
        assert other_site != job["site_id"]  # one customer, two sites, an appliance at each
        mark = (APPLIANCES_OF, job["customer_id"])
        page = [(job["seq"], "jobs", dict(job))]
        own_site = {("sites", job["site_id"]): b""}  # the job's site went in an earlier page
        assert mark not in complete_page(conn, tech, 0, list(page), own_site)
        both = {**own_site, ("sites", other_site): b""}
        assert mark in complete_page(conn, tech, 0, list(page), both)

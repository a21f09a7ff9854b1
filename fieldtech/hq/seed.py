"""Demo data at HQ: customers, sites, appliances and jobs for one technician, in bulk."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert

from fieldtech.domain.demo_data import generate
from fieldtech.domain.jobs import code_and_hash
from fieldtech.hq import schema
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.rows import upsert

BATCH = 2000


def seed_hq(
    hq: HQ,
    jobs: int,
    *,
    technician_id: str,
    team: str,
    now: datetime,
    seed: int = 7,
    ref_prefix: str = "J-",
) -> dict[str, int]:
    """Load `jobs` demo jobs assigned to one technician, with van stock for them."""
    data = generate(jobs, now=now, seed=seed, technician_id=technician_id, team=team)
    with hq.tx() as conn:
        seq = Seq(conn)

        def bulk(table: Table, rows: list[dict[str, Any]]) -> None:
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), [{**r, "seq": seq()} for r in rows[i : i + BATCH]])

        for part in data.parts:
            upsert(conn, schema.parts, {**part, "seq": seq()}, ["sku"])
        bulk(schema.customers, data.customers)
        bulk(schema.sites, [{**s, "hazards": json.dumps(s["hazards"])} for s in data.sites])
        bulk(schema.appliances, data.appliances)
        job_rows = [
            {
                **j,
                **code_and_hash(j["confirmation_code"], j["id"]),
                "ref": ref_prefix + j["ref"][2:],
                "origin": None,
            }
            for j in data.jobs
        ]
        bulk(schema.jobs, job_rows)
        for i in range(0, len(job_rows), BATCH):
            conn.execute(
                insert(schema.job_assignments),
                [
                    {"job_id": j["id"], "technician_id": technician_id, "at": j["created_at"]}
                    for j in job_rows[i : i + BATCH]
                ],
            )
        bulk(
            schema.stock_ledger,
            [{**m, "technician_id": technician_id, "origin": None} for m in data.stock],
        )
    return {"customers": len(data.customers), "jobs": len(job_rows)}

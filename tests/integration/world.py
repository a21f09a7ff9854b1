"""An in-process HQ served over real HTTP on 127.0.0.1, with devices enrolled through links."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fieldtech.domain.errors import FieldtechError
from fieldtech.hq import auth, catalog, dispatch, schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.server import BackgroundHQ
from fieldtech.services import Device, checklists, jobs, parts
from fieldtech.store import open_store
from fieldtech.sync.client import Backoff, SyncClient
from fieldtech.sync.enroll import enroll
from tests.integration.faultproxy import FaultyLink

ADMIN = Principal("admin", "HQ", "admin", None, None, "console")


@dataclass
class Phone:
    name: str
    user_id: str
    device: Device
    client: SyncClient
    link: FaultyLink
    wall: Any = None  # the device's wall clock, when it is not the machine's

    @property
    def store(self):
        return self.device.store


@dataclass
class World:
    root: Path
    hq: HQ
    server: BackgroundHQ
    phones: list[Phone] = field(default_factory=list)
    south_job: dict | None = None

    @classmethod
    def start(cls, root: Path, url: str | None = None) -> World:
        hq = HQ.open(url or sqlite_url(root / "hq.sqlite"))
        catalog.install_defaults(hq)
        from fieldtech.domain.demo_data import parts_catalog

        catalog.put_parts(hq, parts_catalog())
        return cls(root, hq, BackgroundHQ(hq).start())

    def phone(self, name: str, team: str = "north", role: str = "technician", wall=None) -> Phone:
        user, code = auth.add_user(self.hq, name=name, role=role, team=team)
        home = self.root / user["id"]
        store = open_store(home / "device.sqlite")
        device = Device.open(store, wall=wall)
        link = FaultyLink()
        enroll(device, home / "credential.json", self.server.url, code)
        token = json.loads((home / "credential.json").read_text())["token"]
        client = SyncClient(
            device,
            self.server.url,
            token,
            transport=link,
            backoff=Backoff(attempts=1, sleep=lambda s: None),
        )
        p = Phone(name, user["id"], device, client, link, wall)
        self.phones.append(p)
        return p

    def job(self, tech: str, **extra) -> dict:
        spec = {
            "kind": "repair",
            "summary": "Not cooling",
            "customer_name": f"C {tech}",
            "address": "1 Station St",
            "technician": tech,
            "appliance_category": "air conditioner",
            **extra,
        }
        return dispatch.create_job(self.hq, ADMIN, spec)

    def count(self, table, **where) -> int:
        t = getattr(schema, table)
        q = select(func.count()).select_from(t)
        for k, v in where.items():
            q = q.where(t.c[k] == v)
        with self.hq.engine.connect() as conn:
            return conn.execute(q).scalar_one()

    def rows(self, table, **where) -> list[dict]:
        t = getattr(schema, table)
        q = select(t)
        for k, v in where.items():
            q = q.where(t.c[k] == v)
        with self.hq.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def stop(self) -> None:
        for p in self.phones:
            p.client.close()
            p.store.close()
        self.server.stop()
        self.hq.dispose()


FIELD = ("start", "arrive", "hold", "resume", "note", "reading", "use_part", "give_up")


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
                "escalation_level",
                "escalation_ack_level",
            ):
                assert mine[f] == hq_job[f], (p.name, f, mine[f], hq_job[f])
            hq_events = {e["id"] for e in world.rows("job_events", job_id=row["id"])}
            assert {e["id"] for e in p.store.job_events(row["id"])} == hq_events
            hq_readings = {r["id"] for r in world.rows("readings", job_id=row["id"])}
            assert {r["id"] for r in p.store.reading_history(row["id"])} == hq_readings
        for req in p.store.part_requests():
            [hq_req] = world.rows("part_requests", id=req["id"])
            assert (req["status"], req["decided_reason"]) == (
                hq_req["status"],
                hq_req["decided_reason"],
            ), (p.name, req["id"])

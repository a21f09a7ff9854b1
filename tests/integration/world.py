"""An in-process HQ served over real HTTP on 127.0.0.1, with devices enrolled through links."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from fieldtech.services import Device
from fieldtech.store import open_store
from fieldtech.sync.client import Backoff, SyncClient
from fieldtech.sync.enroll import enroll
from fieldtech.sync.hq import auth, catalog, dispatch, schema
from fieldtech.sync.hq.auth import Principal
from fieldtech.sync.hq.db import HQ, sqlite_url
from fieldtech.sync.hq.server import BackgroundHQ
from tests.integration.faultproxy import FaultyLink

ADMIN = Principal("admin", "HQ", "admin", None, None, "console")


@dataclass
class Phone:
    name: str
    user_id: str
    device: Device
    client: SyncClient
    link: FaultyLink

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
        p = Phone(name, user["id"], device, client, link)
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

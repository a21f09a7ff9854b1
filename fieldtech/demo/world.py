"""The demo world: an HQ in this process on 127.0.0.1, seeded, and one enrolled technician."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldtech.hq import auth, catalog
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.seed import seed_hq
from fieldtech.hq.server import BackgroundHQ
from fieldtech.services import Device
from fieldtech.store import open_store
from fieldtech.sync import credentials
from fieldtech.sync.client import SyncClient
from fieldtech.sync.enroll import enroll
from fieldtech.sync.link import SwitchableLink

DEMO_TECHNICIAN = "Tenzin Dorje"
DEMO_SUPERVISOR = "Mei Chen"
DEMO_TEAM = "north"
# The rest of the team a supervisor's demo shows: name, data seed, job reference prefix.
TEAMMATES = (("Kofi Mensah", 8, "K-"), ("Ana Lima", 9, "A-"))


@dataclass
class DemoWorld:
    root: Path
    server: BackgroundHQ
    device: Device
    client: SyncClient
    link: SwitchableLink

    def customer_code(self, job_id: str) -> str | None:
        """The code HQ gave this job's customer: in the demo it stands in for the customer's
        phone (the device itself keeps only the code's hash)."""
        from sqlalchemy import select

        from fieldtech.hq import schema

        J = schema.jobs.c
        with self.server.hq.engine.connect() as conn:
            return conn.execute(select(J.confirmation_code).where(J.id == job_id)).scalar()

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.server.hq.dispose()
        self.device.store.close()


def build_demo(
    root: Path,
    *,
    jobs: int = 40,
    now: datetime | None = None,
    fresh: bool = True,
    role: str = "technician",
) -> DemoWorld:
    """Set up (afresh by default) and start the demo under `root`: the device belongs to a
    technician, or (role="supervisor") to the team's supervisor."""
    if fresh and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hq = HQ.open(sqlite_url(root / "hq.sqlite"))
    catalog.install_defaults(hq)
    from fieldtech.domain.demo_data import parts_catalog

    catalog.put_parts(hq, parts_catalog())
    auth.add_user(hq, name="HQ admin", role="admin", user_id="admin")
    user, code = auth.add_user(hq, name=DEMO_TECHNICIAN, role="technician", team=DEMO_TEAM)
    seed_hq(hq, jobs, technician_id=user["id"], team=DEMO_TEAM, now=now)
    if role == "supervisor":
        team = [user["id"]]
        for name, seed, prefix in TEAMMATES:
            mate, _ = auth.add_user(hq, name=name, role="technician", team=DEMO_TEAM)
            seed_hq(
                hq,
                max(1, jobs // 2),
                technician_id=mate["id"],
                team=DEMO_TEAM,
                now=now,
                seed=seed,
                ref_prefix=prefix,
            )
            team.append(mate["id"])
        _field_activity(hq, team)
        user, code = auth.add_user(hq, name=DEMO_SUPERVISOR, role="supervisor", team=DEMO_TEAM)
    server = BackgroundHQ(hq).start()
    store = open_store(root / "device" / "device.sqlite")
    device = Device.open(store)
    link = SwitchableLink(server.url)
    cred_path = root / "device" / "credential.json"
    enroll(device, cred_path, server.url, code, transport=link)
    token = credentials.load(cred_path)["token"]
    client = SyncClient(device, server.url, token, transport=link)
    client.sync()
    return DemoWorld(root, server, device, client, link)


def _field_activity(hq: HQ, technicians: list[str]) -> None:
    """What the technicians' devices would have sent: part requests and a call for help,
    through HQ's own push, so the supervisor has decisions waiting."""
    from fieldtech.domain import ops
    from fieldtech.domain.ids import new_id
    from fieldtech.hq.auth import Principal
    from fieldtech.hq.dispatch import list_jobs
    from fieldtech.hq.push import WireOp, push

    asks = (("AC-CAP-35", 2, "van is out of them"), ("WH-ELEM-2K", 1, None))
    for n, (uid, (sku, qty, note)) in enumerate(zip(technicians, asks, strict=False)):
        p = Principal(uid, uid, "technician", DEMO_TEAM, f"demo-{uid}", "demo")
        payload: dict[str, Any] = {"sku": sku, "qty": qty, "status": "submitted"}
        if note:
            payload["note"] = note
        wire = [WireOp(new_id(), hq.stamp(), ops.REQUEST_CREATE, new_id(), payload)]
        open_jobs = list_jobs(hq, p, status="assigned", limit=1)
        if n == 1 and open_jobs:
            why = {"note": "customer is furious, second visit this week"}
            wire.append(WireOp(new_id(), hq.stamp(), ops.ESCALATION_RAISE, open_jobs[0]["id"], why))
        push(hq, p, wire)

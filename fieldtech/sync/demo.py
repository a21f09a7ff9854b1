"""The demo world: an HQ in this process on 127.0.0.1, seeded, and one enrolled technician."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fieldtech.services import Device
from fieldtech.store import open_store
from fieldtech.sync import credentials
from fieldtech.sync.client import SyncClient
from fieldtech.sync.enroll import enroll
from fieldtech.sync.hq import auth, catalog
from fieldtech.sync.hq.db import HQ, sqlite_url
from fieldtech.sync.hq.seed import seed_hq
from fieldtech.sync.hq.server import BackgroundHQ
from fieldtech.sync.link import SwitchableLink

DEMO_TECHNICIAN = "Tenzin Dorje"
DEMO_TEAM = "north"


@dataclass
class DemoWorld:
    root: Path
    server: BackgroundHQ
    device: Device
    client: SyncClient
    link: SwitchableLink

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.server.hq.dispose()
        self.device.store.close()


def build_demo(
    root: Path, *, jobs: int = 40, now: datetime | None = None, fresh: bool = True
) -> DemoWorld:
    """Set up (afresh by default) and start the demo under `root`."""
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
    server = BackgroundHQ(hq).start()
    store = open_store(root / "device" / "device.sqlite")
    device = Device.open(store)
    link = SwitchableLink()
    cred_path = root / "device" / "credential.json"
    enroll(device, cred_path, server.url, code, transport=link)
    token = credentials.load(cred_path)["token"]
    client = SyncClient(device, server.url, token, transport=link)
    client.sync()
    return DemoWorld(root, server, device, client, link)

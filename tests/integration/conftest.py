"""A real HQ process on 127.0.0.1 (the installed `fieldtech hq serve`), and enrolled devices."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from fieldtech.services import Device
from fieldtech.store import open_store
from fieldtech.sync.client import Backoff, SyncClient
from fieldtech.sync.enroll import enroll

FIELDTECH = [sys.executable, "-m", "fieldtech"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(
    home: Path, *args: str, check: bool = True, env_extra: dict | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    env.pop("FIELDTECH_HOME", None)
    proc = subprocess.run(
        [*FIELDTECH, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"fieldtech {' '.join(args)} failed: {proc.stderr}")
    return proc


@dataclass
class HQProcess:
    home: Path
    url: str
    admin_token: str
    proc: subprocess.Popen
    db: str | None = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        extra = ("--db", self.db) if self.db else ()
        return run(self.home, "hq", *extra, *args, check=check)

    def cli_json(self, *args: str):
        return json.loads(self.cli(*args, "--json").stdout)

    def add_user(self, name: str, role: str = "technician", team: str = "north") -> dict:
        return self.cli_json("user", "add", "--name", name, "--role", role, "--team", team)

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            timeout=30,
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_hq(
    home: Path, db: str | None = None, port: int | None = None, prepare_every: float = 0
) -> HQProcess:
    extra = ["--db", db] if db else []
    init = run(home, "hq", *extra, "init", "--json")
    token = json.loads(init.stdout)["admin_token"]
    return launch(home, token, db, port, prepare_every)


def launch(
    home: Path,
    token: str,
    db: str | None = None,
    port: int | None = None,
    prepare_every: float = 0,
) -> HQProcess:
    """`fieldtech hq serve` in its own process. `prepare_every`: its preparer of first syncs
    (fieldtech.hq.priming) looks that often; off unless a test asks, so what a test's
    device is streamed does not hang on when the preparer last looked."""
    port = port or free_port()
    extra = ["--db", db] if db else []
    env = {k: v for k, v in os.environ.items() if k != "FIELDTECH_HOME"}
    log = open(home / "hq.log", "ab")  # noqa: SIM115 - closed with the process
    serve = ["serve", "--port", str(port), "--prepare-every", str(prepare_every)]
    proc = subprocess.Popen(
        [*FIELDTECH, "--home", str(home), "hq", *extra, *serve],
        stdout=log,
        stderr=log,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=1)
            if r.status_code == 200:
                return HQProcess(home, url, token, proc, db)
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("HQ did not start: " + (home / "hq.log").read_text()[-2000:])


@pytest.fixture
def hq(tmp_path):
    home = tmp_path / "hq"
    home.mkdir()
    server = start_hq(home)
    yield server
    server.stop()


@dataclass
class Handset:
    """One enrolled device: its store, services context and sync client."""

    home: Path
    device: Device
    client: SyncClient

    @property
    def store(self):
        return self.device.store

    def sync(self):
        return self.client.sync()

    def close(self):
        self.client.close()
        self.device.store.close()


def enroll_device(hq: HQProcess, home: Path, code: str) -> Handset:
    store = open_store(home / "data" / "device.sqlite")
    device = Device.open(store)
    enroll(device, home / "config" / "credential.json", hq.url, code)
    cred = json.loads((home / "config" / "credential.json").read_text())
    client = SyncClient(
        device, cred["hq_url"], cred["token"], backoff=Backoff(attempts=2, base=0.05)
    )
    return Handset(home, device, client)


@pytest.fixture
def handset(hq, tmp_path):
    made: list[Handset] = []

    def make(name: str, role: str = "technician", team: str = "north") -> Handset:
        user = hq.add_user(name, role, team)
        h = enroll_device(hq, tmp_path / name.replace(" ", "_"), user["enrollment_code"])
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    name = f"ft_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (CI starts it): {exc}")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def world(tmp_path):
    """An in-process HQ over real HTTP on 127.0.0.1, with devices to enroll (`world.phone`)."""
    from tests.integration.world import World

    w = World.start(tmp_path)
    yield w
    w.stop()

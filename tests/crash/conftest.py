"""The crash suite's machinery: a zygote that forks device processes to be killed, and an HQ
served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fieldtech.domain.demo_data import parts_catalog
from fieldtech.hq import auth, catalog
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.seed import seed_hq
from fieldtech.hq.server import BackgroundHQ
from fieldtech.services import Device
from fieldtech.store import open_store
from fieldtech.sync import credentials
from fieldtech.sync.client import Backoff, SyncClient, SyncReport
from fieldtech.sync.enroll import enroll
from tests.crash.worker import credential_path, db_path

WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).resolve().parents[2]
ADMIN = Principal("admin", "HQ", "admin", None, None, "console")


def kill_budget() -> dict[str, int]:
    """FIELDTECH_CRASH_KILLS (default 200) kills in all: half through services, half in sync
    (a quarter of those on a fresh device's first pull, the rest on a working device)."""
    total = int(os.environ.get("FIELDTECH_CRASH_KILLS", "200"))
    services = total // 2
    sync = total - services
    prime = sync // 4
    return {"services": services, "work": sync - prime, "prime": prime}


def base_seed() -> int:
    return int(os.environ.get("FIELDTECH_CRASH_SEED", "20261123"))


# -- the zygote: one Python start-up, one fork per session --------------------------------


@dataclass
class Trigger:
    """Kill after the `count`-th line starting with `event`, `delay` seconds later."""

    event: str
    count: int
    delay: float

    def __str__(self) -> str:
        return f"{self.event}#{self.count}+{self.delay * 1000:.3f}ms"


@dataclass
class Session:
    home: Path
    seed: int
    mode: str
    trigger: Trigger
    lines: list[str] = field(default_factory=list)
    pid: int = 0
    status: int = 0
    killed: bool = False

    @property
    def signalled(self) -> bool:
        return os.WIFSIGNALED(self.status) and os.WTERMSIG(self.status) == signal.SIGKILL

    def events(self, word: str) -> list[list[str]]:
        return [ln.split(" ") for ln in self.lines if ln.split(" ", 1)[0] == word]

    def errors(self) -> list[str]:
        return [json.loads(ln.split(" ", 1)[1]) for ln in self.lines if ln.startswith("ERROR ")]

    def saved_ops(self) -> list[tuple[str, str, str]]:
        """(op, op id, entity id) of every change the person was told is saved."""
        return [tuple(w.split(":", 2)) for ev in self.events("SAVED") for w in ev[3:]]

    def refused_ops(self) -> list[tuple[str, str, str]]:
        return [tuple(w.split(":", 2)) for ev in self.events("REFUSED") for w in ev[2:]]

    def phase(self) -> str:
        """Where the kill landed, as far as the worker's own words tell."""
        person = sync = None
        for ln in self.lines:
            word = ln.split(" ", 1)[0]
            if word == "BEGIN":
                person = "in an action"
            elif word in ("SAVED", "REFUSED"):
                person = None
            elif word == "APPLYING":
                sync = "applying HQ's answer"
            elif word == "APPLIED":
                sync = None
        if not self.lines or self.lines[-1].startswith("PID"):
            return "starting"
        return sync or person or "between writes"


class Zygote:
    def __init__(self, log: Path):
        env = {k: v for k, v in os.environ.items() if k != "FIELDTECH_HOME"}
        env["PYTHONPATH"] = str(ROOT)
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), "--zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=ROOT,
            env=env,
        )
        self._fd = self.proc.stdout.fileno()
        self._buf = b""
        line = self.readline(60)
        if not line or not line.startswith("READY"):
            raise RuntimeError(f"the crash worker did not start: {line!r}; see {log}")

    def readline(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                chunk = os.read(self._fd, 65536)
                if not chunk:
                    raise RuntimeError("the crash worker's zygote exited")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode()

    def run(
        self, home: Path, seed: int, mode: str, trigger: Trigger, timeout: float = 60
    ) -> Session:
        """Start a device session and SIGKILL it when the trigger fires."""
        s = Session(home, seed, mode, trigger)
        req = {"home": str(home), "seed": seed, "mode": mode}
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        try:
            return self._watch(s, timeout)
        except BaseException:
            if s.pid and not s.killed and not s.status:  # never leave a session running
                with contextlib.suppress(ProcessLookupError):
                    os.kill(s.pid, signal.SIGKILL)
            raise

    def _watch(self, s: Session, timeout: float) -> Session:
        trigger = s.trigger
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            line = self.readline(max(0.0, deadline - time.monotonic()))
            if line is None:  # the trigger never came: stop it anyway, and say so
                s.lines.append(f"TIMEOUT waiting for {trigger}")
                if s.pid:
                    os.kill(s.pid, signal.SIGKILL)
                    s.killed = True
                break
            s.lines.append(line)
            word = line.split(" ", 1)[0]
            if word == "PID":
                s.pid = int(line.split()[1])
            if word == "DEAD":  # ended by itself (an error): nothing to kill
                s.status = int(line.split()[2])
                return s
            if word == trigger.event:
                seen += 1
                if seen >= trigger.count:
                    pause(trigger.delay)
                    os.kill(s.pid, signal.SIGKILL)
                    s.killed = True
                    break
        while True:  # everything it wrote before it died, then the zygote's DEAD line
            line = self.readline(60)
            if line is None:
                raise RuntimeError(f"session {s.pid} did not die")
            if line.startswith("DEAD "):
                s.status = int(line.split()[2])
                return s
            s.lines.append(line)

    def stop(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def pause(seconds: float) -> None:
    """Sleep precisely, sub-millisecond included (a kill should land inside a transaction)."""
    end = time.perf_counter() + seconds
    if seconds > 0.003:
        time.sleep(seconds - 0.002)
    while time.perf_counter() < end:
        pass


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("zygote") / "worker.log")
    yield z
    z.stop()


# -- HQ on 127.0.0.1 ---------------------------------------------------------------------------


@dataclass
class World:
    root: Path
    hq: HQ
    server: BackgroundHQ
    tech_id: str

    @property
    def url(self) -> str:
        return self.server.url

    def enroll(self, home: Path) -> str:
        """Enroll a new device for the technician in `home`; returns its device id."""
        store = open_store(db_path(home))
        try:
            device = Device.open(store)
            enroll(
                device, credential_path(home), self.url, auth.new_enrollment(self.hq, self.tech_id)
            )
            return device.device_id
        finally:
            store.close()

    def clean_sync(self, home: Path) -> SyncReport:
        """The device restarts after the crash and syncs to the end, the network being fine."""
        cred = credentials.load(credential_path(home))
        store = open_store(db_path(home))
        device = Device.open(store)
        client = SyncClient(
            device, cred["hq_url"], cred["token"], backoff=Backoff(attempts=3, base=0.05)
        )
        try:
            report = client.sync()
            for _ in range(3):
                if not store.outbox("pending"):
                    break
                report = client.sync()
            return report
        finally:
            client.close()
            store.close()

    def stop(self) -> None:
        self.server.stop()
        self.hq.dispose()


class _NoDisconnects(logging.Filter):
    """A device killed mid-request is this suite's point; HQ logging each one is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "ClientDisconnect"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hq")
    hq = HQ.open(sqlite_url(root / "hq.sqlite"))
    catalog.install_defaults(hq)
    catalog.put_parts(hq, parts_catalog())
    auth.add_user(hq, name="HQ admin", role="admin", user_id="admin")
    user, _code = auth.add_user(hq, name="Tenzin Dorje", role="technician", team="north")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    seed_hq(hq, 150, technician_id=user["id"], team="north", now=now)
    quiet = _NoDisconnects()
    logging.getLogger("uvicorn.error").addFilter(quiet)
    w = World(root, hq, BackgroundHQ(hq).start(), user["id"])
    yield w
    w.stop()
    logging.getLogger("uvicorn.error").removeFilter(quiet)

"""A device process for the crash suite: it writes through the real services (and syncs) until
it is killed.

Every line it prints is one event, written with a single os.write so lines never interleave:

    PID <pid>                          first line of every session
    BEGIN <kind>                       a person's action is about to run
    SAVED <kind> <ms> <op>:<op id>:<entity id> ...
                                       the action committed: the person is told "saved"
    REFUSED <kind> <op>:<op id>:<entity id> ...
                                       the rules said no (any op ids it started must vanish)
    APPLYING <acks> <changes>          HQ answered; its answer is being applied
    APPLIED <ms> <acks>                that answer is committed on the device
    SYNCFAIL <message>                 a sync that did not happen (HQ unreachable, ...)
    ERROR <traceback as JSON>          the worker itself broke (the test fails on it)

Modes: `services` (one person, no HQ), `sync` (a person on one connection and the sync agent on
its own connection in a thread, as in the app), `prime` (only sync: a fresh device's first
pulls). The profile folder holds data/device.sqlite and config/credential.json.

Run one session by hand:  python tests/crash/worker.py --home DIR --seed 1 --mode services
The suite starts `--zygote` once: it imports everything, then forks one session per request
(read as a JSON line on stdin), so each kill costs a fork instead of a Python start-up. After
each session ends (killed or not) the zygote prints `DEAD <pid> <wait status>`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from fieldtech.domain.checklists import ItemType, is_satisfied
from fieldtech.domain.demo_data import demo_code
from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.parts import RequestStatus
from fieldtech.services import Device, checklists, escalations, jobs, parts
from fieldtech.services.context import PRIORITY_NORMAL
from fieldtech.store import open_store
from fieldtech.sync import credentials
from fieldtech.sync.client import Backoff, SyncClient, SyncError

OUTCOME = {
    "install": "installed",
    "repair": "repaired",
    "maintenance": "maintained",
    "survey": "surveyed",
    "inspection": "inspected",
}
SKUS = ("AC-CAP-35", "AC-PIPE-14", "WH-ANODE-M", "GEN-RCD-30", "RF-GASKET", "WM-BELT")
WORKING = ("on_site", "in_progress")


def emit(*words: object) -> None:
    os.write(1, (" ".join(str(w) for w in words) + "\n").encode())


def db_path(home: Path) -> Path:
    return home / "data" / "device.sqlite"


def credential_path(home: Path) -> Path:
    return home / "config" / "credential.json"


class RecordingDevice(Device):
    """The real Device; it also notes the outbox operations the current action appended."""

    def record(
        self,
        op: str,
        entity: str,
        entity_id: str,
        payload: dict[str, Any],
        *,
        hlc: str,
        op_id: str | None = None,
        priority: int = PRIORITY_NORMAL,
    ) -> str:
        op_id = super().record(
            op, entity, entity_id, payload, hlc=hlc, op_id=op_id, priority=priority
        )
        self.__dict__.setdefault("captured", []).append(f"{op}:{op_id}:{entity_id}")
        return op_id


class LoudClient(SyncClient):
    """The real sync client; it says when it starts and finishes applying HQ's answer."""

    def apply(self, answer: dict[str, Any], report=None, **kwargs: Any) -> None:
        from fieldtech.sync.client import _settled

        changes = sum(len(b.get("rows") or []) for b in (answer.get("changes") or {}).values())
        acks = len(_settled(answer, kwargs.get("sent") or []))
        emit("APPLYING", acks, changes)
        t0 = time.perf_counter()
        super().apply(answer, report, **kwargs)
        emit("APPLIED", f"{(time.perf_counter() - t0) * 1000:.3f}", acks)


def good_value(item, rng: random.Random) -> str:
    """A value the checklist accepts without a comment."""
    if item.type is ItemType.TICK:
        return "yes"
    if item.type is ItemType.NUMBER:
        lo = item.min if item.min is not None else (item.max - 10 if item.max is not None else 0)
        hi = item.max if item.max is not None else lo + 10
        return f"{rng.uniform(lo, hi):.1f}" if hi - lo >= 0.2 else f"{lo:g}"
    if item.type is ItemType.CHOICE:
        return rng.choice(item.choices)
    return f"entered {rng.randrange(10**6)}"


class Person:
    """A technician working through the day: mostly finishing one job at a time."""

    def __init__(self, dev: RecordingDevice, rng: random.Random, pause: float = 0.0):
        self.dev = dev
        self.st = dev.store
        self.rng = rng
        self.pause = pause
        self.job_id: str | None = None

    def open_jobs(self) -> list[str]:
        return [r[0] for r in self.st.db.execute("SELECT id FROM jobs WHERE open = 1 ORDER BY id")]

    def pick_job(self) -> str | None:
        ids = self.open_jobs()
        self.job_id = self.rng.choice(ids) if ids else None
        return self.job_id

    def action(self) -> tuple[str, Any]:
        """The next thing to do, as (kind, callable)."""
        rng, dev, st = self.rng, self.dev, self.st
        if rng.random() < 0.12:
            return self.stock_action()
        if self.job_id is None or rng.random() < 0.05:
            self.pick_job()
        if self.job_id is None:
            return self.stock_action()
        job = st.job(self.job_id)
        jid, status = job["id"], job["status"]
        r = rng.random()
        if status == "assigned":
            if r < 0.5:
                return "start", lambda: jobs.start(dev, jid)
            if r < 0.85:
                return "arrive", lambda: jobs.arrive(dev, jid)
            if r < 0.93:
                return "hold", lambda: jobs.hold(dev, jid, "waiting for customer")
            follow = rng.random() < 0.5
            return "give_up", lambda: jobs.cannot_complete(dev, jid, "no access", follow_up=follow)
        if status == "en_route":
            if r < 0.85:
                return "arrive", lambda: jobs.arrive(dev, jid)
            return "hold", lambda: jobs.hold(dev, jid, "weather")
        if status == "on_hold":
            return "resume", lambda: jobs.resume(dev, jid)
        if status in WORKING:
            return self.work_action(job)
        self.pick_job()  # closed meanwhile (by us, or by HQ)
        return "note", lambda: jobs.note(dev, jid, f"looked at a closed job {rng.random():.5f}")

    def work_action(self, job: dict) -> tuple[str, Any]:
        rng, dev, st = self.rng, self.dev, self.st
        jid = job["id"]
        template = (
            st.template(job["template_id"], job["template_version"]) if job["template_id"] else None
        )
        missing = []
        if template is not None:
            current = st.current_readings(jid)
            missing = [
                i
                for i in template.items
                if i.required
                and not is_satisfied(i, current[i.key].value if i.key in current else None, None)
            ]
        r = rng.random()
        if r < 0.08:
            return "note", lambda: jobs.note(dev, jid, f"customer says {rng.random():.6f}")
        if r < 0.16:
            sku = rng.choice(SKUS)
            qty = rng.choice((1, 1, 2))
            return "use_part", lambda: parts.use_part(
                dev, jid, sku, qty, override_reason="spare from the depot"
            )
        if r < 0.18:
            return "escalate", lambda: escalations.escalate(dev, jid, "need a second pair of hands")
        if r < 0.21:
            return "hold", lambda: jobs.hold(dev, jid, "waiting for parts")
        if template is not None and (missing or r < 0.3):
            item = rng.choice(missing or list(template.items))
            value = good_value(item, rng)
            return "reading", lambda: checklists.record_reading(dev, jid, item.key, value)
        spawn = job["kind"] == "survey" and rng.random() < 0.5
        return "close", lambda: jobs.close(
            dev,
            jid,
            outcome=OUTCOME[job["kind"]],
            signoff_name="Customer Name",
            code=demo_code(job["ref"]),  # HQ's seeded and dispatched jobs: the demo's codes
            rating=rng.randint(1, 5),
            spawn_install=spawn,
        )

    def stock_action(self) -> tuple[str, Any]:
        rng, dev, st = self.rng, self.dev, self.st
        sku = rng.choice(SKUS)
        r = rng.random()
        if r < 0.25:
            qty = rng.choice((-1, 1, 2))
            return "adjust", lambda: parts.adjust_stock(dev, sku, qty, "van count")
        if r < 0.4:
            return "return", lambda: parts.return_part(dev, sku, 1, "excess")
        if r < 0.7:
            draft = rng.random() < 0.3
            return "request", lambda: parts.request_part(
                dev, sku, rng.randint(1, 3), job_id=self.job_id, note="for the van", draft=draft
            )
        reqs = st.db.execute(
            "SELECT id, status FROM part_requests WHERE status IN "
            "('draft', 'submitted', 'shipped') ORDER BY id"
        ).fetchall()
        if not reqs:
            return "adjust", lambda: parts.adjust_stock(dev, sku, 1, "found one")
        req_id, status = rng.choice(reqs)
        target = {
            "draft": RequestStatus.SUBMITTED,
            "submitted": RequestStatus.CANCELLED,
            "shipped": RequestStatus.RECEIVED,
        }[status]
        return f"request_{target.value}", lambda: parts.step_request(dev, req_id, target)

    def step(self) -> None:
        kind, run = self.action()
        self.dev.captured = []
        emit("BEGIN", kind)
        t0 = time.perf_counter()
        try:
            run()
        except FieldtechError:
            emit("REFUSED", kind, *self.dev.captured)
            return
        ms = (time.perf_counter() - t0) * 1000
        emit("SAVED", kind, f"{ms:.3f}", *self.dev.captured)

    def run(self, max_ops: int | None) -> None:
        n = 0
        while max_ops is None or n < max_ops:
            self.step()
            n += 1
            if self.pause:
                time.sleep(self.rng.uniform(0, self.pause))


def sync_loop(home: Path, rng: random.Random, pause: float, rounds: int | None) -> None:
    """The app's sync agent: its own connection to the file, syncing over and over."""
    cred = credentials.load(credential_path(home))
    device = Device.open(open_store(db_path(home)))
    client = LoudClient(
        device, cred["hq_url"], cred["token"], backoff=Backoff(attempts=1, sleep=lambda s: None)
    )
    n = 0
    while rounds is None or n < rounds:
        try:
            client.sync()
        except SyncError as exc:
            emit("SYNCFAIL", exc.message.replace("\n", " "))
            time.sleep(0.05)
        n += 1
        time.sleep(rng.uniform(0, pause))


def fail(exc: BaseException) -> None:
    emit("ERROR", json.dumps("".join(traceback.format_exception(exc))))
    os._exit(3)


def session(home: Path, seed: int, mode: str, max_ops: int | None = None) -> None:
    """One device session. Runs until killed (or until max_ops, for running by hand)."""
    emit("PID", os.getpid())
    rng = random.Random(seed)
    if mode == "prime":
        sync_loop(home, rng, 0.01, max_ops)
        return
    if mode == "sync":

        def agent() -> None:
            try:
                sync_loop(home, random.Random(seed + 1), 0.03, None)
            except BaseException as exc:  # noqa: BLE001 - reported, then the process ends
                fail(exc)

        threading.Thread(target=agent, daemon=True).start()
    store = open_store(db_path(home))
    dev = RecordingDevice.open(store)
    Person(dev, rng, pause=0.003 if mode == "sync" else 0.0).run(max_ops)


def _die_with_parent() -> None:
    """Should the suite itself die, its sessions must not run on (Linux; else best effort)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:
        os._exit(0)


def zygote() -> None:
    emit("READY", os.getpid())
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            try:
                session(Path(req["home"]), int(req["seed"]), req["mode"], req.get("max_ops"))
            except BaseException as exc:  # noqa: BLE001
                fail(exc)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        emit("DEAD", pid, status)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zygote", action="store_true")
    ap.add_argument("--home", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", choices=("services", "sync", "prime"), default="services")
    ap.add_argument("--ops", type=int, default=None, help="stop after this many (default: never)")
    args = ap.parse_args()
    if args.zygote:
        zygote()
    elif args.home is None:
        ap.error("--home is required")
    else:
        try:
            session(args.home, args.seed, args.mode, args.ops)
        except BaseException as exc:  # noqa: BLE001
            fail(exc)


if __name__ == "__main__":
    main()

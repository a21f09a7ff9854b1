"""Randomized fault schedules against a real HQ over HTTP and several devices.

Each schedule (one seed) starts a fresh HQ with two technicians and their supervisor, then
plays 20–40 random steps: field work, a supervisor's decisions, HQ reassigning or
cancelling, and syncs through a faulty link — the request lost, the answer lost after HQ
committed, the request delivered twice, the answer cut short, delayed, an old request
replayed after newer ones (reordering), HQ restarted, or the device killed while applying
HQ's answer (its transaction dies with it; the process starts again from its file). Device
clocks may run days ahead or behind. A sync may run on a byte budget (700 B to 6 KB: the
outbox goes in part, urgent first) and with small pages (4 KB: many frames to cut).

Afterwards every link is healed and everyone syncs, and the checks run: no operation lost
(every one a device wrote is known to HQ, applied or refused with a reason), none applied
twice (one row per applied operation), all replicas equal (every job each device holds, its
history, readings, part requests), nothing left waiting.

    python -m tests.integration.schedules --schedules 1000        # the full run
    python -m tests.integration.schedules --first 417 --schedules 1 -v   # replay one seed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from unittest import mock

import httpx

from fieldtech.domain.errors import FieldtechError
from fieldtech.hq import dispatch
from fieldtech.hq.db import HQ
from fieldtech.hq.server import BackgroundHQ
from fieldtech.services import Device, parts, supervision
from fieldtech.store import open_store
from fieldtech.sync import protocol
from fieldtech.sync.client import Backoff, SyncClient, SyncError
from tests.integration.faultproxy import FAULTS, FaultyLink
from tests.integration.world import ADMIN, FIELD, World, check, do_field

SYNC_FAULTS = (*FAULTS, "replay", "kill")
DAY_MS = 86_400_000
SKEWS = (0, 0, 3 * DAY_MS, -3 * DAY_MS, 4 * 60_000)  # device wall clocks: mostly right


def skewed(offset: int):
    return None if offset == 0 else (lambda: int(time.time() * 1000) + offset)


STEP_KINDS = ("field",) * 4 + ("sync",) * 3 + ("supervise", "hq")
RESTART_CHANCE = 0.04  # of a step being an HQ restart


class Killed(Exception):
    """The device process died while applying HQ's answer."""


class ReplayingLink(FaultyLink):
    """Remembers the requests it carried, to deliver a stale one again later."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append(request)
        return super().handle_request(request)

    def replay(self, rng: random.Random) -> None:
        if not self.sent:
            return
        old = rng.choice(self.sent[-5:])
        stale = httpx.Request(old.method, old.url, headers=old.headers, content=old.content)
        with contextlib.suppress(httpx.HTTPError):
            self.inner.handle_request(stale).read()  # whatever HQ answers is lost


def restart_hq(world: World) -> None:
    """HQ stops and starts again on the same database and port (a new process would too)."""
    port = world.server.port
    url = str(world.hq.engine.url)
    world.server.stop()
    world.hq.dispose()
    world.hq = HQ.open(url)
    for _ in range(50):
        try:
            world.server = BackgroundHQ(world.hq, port=port).start()
            return
        except (RuntimeError, OSError):
            time.sleep(0.1)
    raise RuntimeError("HQ did not come back on its port")


def restart_device(world: World, phone) -> None:
    """The device process starts again from its file: new connection, new client."""
    path = phone.store.path
    token = phone.client.http.headers["Authorization"].removeprefix("Bearer ")
    phone.client.close()
    phone.store.close()
    device = Device.open(open_store(path), wall=phone.wall)
    phone.device = device
    phone.client = SyncClient(
        device,
        world.server.url,
        token,
        transport=phone.link,
        backoff=Backoff(attempts=1, sleep=lambda s: None),
    )


BUDGETS = (None, None, None, 700, 2_000, 6_000)  # bytes a sync may use, both ways
PAGES = (protocol.PAGE_BYTES, protocol.MIN_PAGE_BYTES)  # small pages: many cut points


def shape(phone, shaping: random.Random) -> str:
    """This sync's byte budget and page size (drawn apart from the schedule's own steps, so
    a seed plays the same steps it always did)."""
    phone.client.budget = shaping.choice(BUDGETS)
    phone.client.page_bytes = shaping.choice(PAGES)
    return "budget" if phone.client.budget is not None else "no budget"


def sync_with(world: World, phone, fault: str, rng: random.Random) -> str:
    if fault == "replay":
        phone.link.replay(rng)
        phone.link.schedule = ["ok"]
        with contextlib.suppress(SyncError):
            phone.client.sync()
        return "replay"
    if fault == "kill":
        with (
            mock.patch.object(phone.store, "merge_jobs", side_effect=Killed),
            contextlib.suppress(Killed, SyncError),
        ):
            phone.client.sync()
        restart_device(world, phone)
        return "kill"
    phone.link.schedule = [fault]
    with contextlib.suppress(SyncError):
        phone.client.sync()
    return fault


def supervise(sup, rng: random.Random, techs: list[str], job_ids: list[str]) -> None:
    d = sup.device
    with contextlib.suppress(FieldtechError):
        choice = rng.choice(("reassign", "approve", "reject", "ack"))
        if choice == "reassign":
            job = rng.choice(job_ids)
            if sup.store.job_exists(job):
                supervision.reassign(d, job, rng.choice(techs))
        elif choice in ("approve", "reject"):
            waiting = sup.store.team_requests()
            if waiting:
                req = rng.choice(waiting)["id"]
                if choice == "approve":
                    supervision.approve(d, req)
                else:
                    supervision.reject(d, req, "use the spare from the store")
        else:
            for esc in sup.store.escalations(unacknowledged_only=True):
                supervision.acknowledge(d, esc["id"], "on it")


def play(seed: int, root: Path, log=None) -> Counter:
    """One schedule. Raises AssertionError when a check fails."""
    rng = random.Random(seed)
    shaping = random.Random(f"{seed}-budget")
    played: Counter = Counter()
    world = World.start(root)
    try:
        phones = [
            world.phone("Tenzin Dorje", wall=skewed(rng.choice(SKEWS))),
            world.phone("Kofi Mensah", wall=skewed(rng.choice(SKEWS))),
        ]
        sup = world.phone("Lhamo Dolma", role="supervisor", wall=skewed(rng.choice(SKEWS)))
        everyone = [*phones, sup]
        for p in everyone:
            p.link = ReplayingLink()
            restart_device(world, p)
        techs = [p.user_id for p in phones]
        job_ids = [
            world.job(techs[i % 2], ref=f"F-{seed}-{i}", priority=rng.choice(("normal", "vip")))[
                "id"
            ]
            for i in range(4)
        ]
        for p in everyone:
            p.client.sync()
        created: set[str] = set()
        for _ in range(rng.randint(20, 40)):
            kind = "restart" if rng.random() < RESTART_CHANCE else rng.choice(STEP_KINDS)
            played[kind] += 1
            if kind == "field":
                phone = rng.choice(phones)
                action = rng.choice((*FIELD, "request", "escalate"))
                mine = [r["id"] for r in phone.store.queue(limit=20)]
                job = rng.choice(mine or job_ids)
                if action == "request":
                    with contextlib.suppress(FieldtechError):
                        parts.request_part(phone.device, "AC-CAP-35", rng.randint(1, 3))
                elif action == "escalate":
                    from fieldtech.services import escalations

                    with contextlib.suppress(FieldtechError):
                        if phone.store.job_exists(job):
                            escalations.escalate(phone.device, job, "need a second pair of hands")
                else:
                    do_field(phone, action, job)
                created |= {o["id"] for o in phone.store.outbox()}
            elif kind == "supervise":
                supervise(sup, rng, techs, job_ids)
                created |= {o["id"] for o in sup.store.outbox()}
            elif kind == "hq":
                with contextlib.suppress(FieldtechError):
                    if rng.random() < 0.7:
                        dispatch.assign(world.hq, ADMIN, rng.choice(job_ids), rng.choice(techs))
                    else:
                        dispatch.cancel(world.hq, ADMIN, rng.choice(job_ids), "customer called")
            elif kind == "restart":
                restart_hq(world)
            else:
                phone = rng.choice(everyone)
                played[shape(phone, shaping)] += 1
                played[sync_with(world, phone, rng.choice(SYNC_FAULTS), rng)] += 1
            if log:
                log(f"  {seed}: {kind}")
        # The link comes back for good: everyone syncs until nothing moves.
        for _ in range(3):
            for p in everyone:
                p.link.schedule = []
                p.client.budget, p.client.page_bytes = None, protocol.PAGE_BYTES
                p.client.sync()
        check(world, everyone, created)
        played["ops"] += len(created)
        return played
    finally:
        world.stop()


def run(first: int, count: int, verbose: bool = False) -> dict:
    failures: list[dict] = []
    totals: Counter = Counter()
    started = time.monotonic()
    for seed in range(first, first + count):
        with tempfile.TemporaryDirectory() as tmp:
            try:
                totals += play(seed, Path(tmp), log=print if verbose else None)
            except AssertionError as exc:
                where = traceback.extract_tb(exc.__traceback__)[-1]
                what = (str(exc).splitlines() or [""])[0][:300]
                failures.append(
                    {"seed": seed, "error": f"{where.name}:{where.lineno} {what}".strip()}
                )
                print(f"schedule {seed}: FAILED {failures[-1]['error']}", file=sys.stderr)
        if (seed - first + 1) % 50 == 0:
            print(f"{seed - first + 1} schedules, {len(failures)} failed", file=sys.stderr)
    return {
        "schedules": count,
        "first_seed": first,
        "failed": len(failures),
        "failures": failures,
        "seconds": round(time.monotonic() - started, 1),
        "steps": dict(sorted(totals.items())),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schedules", type=int, default=1000)
    ap.add_argument("--first", type=int, default=1, help="first seed")
    ap.add_argument("--json", type=Path, help="also write the result here")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    result = run(args.first, args.schedules, args.verbose)
    print(
        f"{result['schedules']} schedules (seeds {args.first}–{args.first + args.schedules - 1})"
        f" in {result['seconds']} s: {result['failed']} failed"
    )
    for name, n in result["steps"].items():
        print(f"  {name:<14} {n:>7,}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())

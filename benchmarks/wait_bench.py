"""Dispatch in seconds: what held waits cost HQ, and how soon a device hears of its work.

    python -m benchmarks.wait_bench [--devices 500] [--dispatches 20] [--idle-s 30]

A real `fieldtech hq serve` (SQLite) on 127.0.0.1 with `--devices` enrolled technicians.
Each device is played by this process as a device does it (one connection, one held
`GET /v1/wait` at a time, renewed when it ends; after "changes", one sync, then a wait
from the new cursor), on raw sockets so the device side costs little. Measured on the HQ
process (from /proc):
  RSS            before any wait, and once every device's wait is held (HQ has sent the
                 headers of each), per held wait
  idle CPU       CPU seconds over --idle-s with every wait held and renewed as a device
                 does (its hold is the device's, 25 s: each renews once in 30 s), and over
                 a window in which no wait renews (holds of 30 s): what is left is HQ's
                 one look a second at the change feed
  dispatch       --dispatches jobs, each to a device picked at random, one at a time:
                 from the dispatch request to that device reading {"changes": true}, and
                 to the job being on the device (its sync answered with it); through
                 HQ's API (HQ commits it itself), and written into HQ's database by this
                 process, as `fieldtech hq dispatch` or a second HQ process would (HQ
                 notices at its once-a-second look)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import HQServer, show, write
from fieldtech.hq import auth
from fieldtech.hq.auth import Principal
from fieldtech.hq.change_watch import feed_tops
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.hq.dispatch import create_job
from fieldtech.paths import locate
from fieldtech.sync import protocol

DEVICE_HOLD = 25.0  # what a device asks for (fieldtech.sync.waiter.HOLD)
LONG_HOLD = 30.0  # HQ's ceiling: a window without renewals
TICK = os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    # Fields after the command's name: utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Device:
    """One technician's device, as far as waiting goes."""

    user_id: str
    device_id: str
    token: str
    cursor: int
    hold: float = DEVICE_HOLD
    held: asyncio.Event = field(default_factory=asyncio.Event)
    waits: int = 0
    heard: asyncio.Queue[float] = field(default_factory=asyncio.Queue)
    synced: asyncio.Queue[tuple[float, int]] = field(default_factory=asyncio.Queue)

    async def run(self, host: str, port: int, sync: httpx.AsyncClient) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                self.held.clear()
                head = (
                    f"GET /v1/wait?cursor={self.cursor}&timeout={self.hold:g} HTTP/1.1\r\n"
                    f"Host: {host}:{port}\r\nAuthorization: Bearer {self.token}\r\n\r\n"
                )
                writer.write(head.encode())
                await writer.drain()
                self.waits += 1
                answer = await read_answer(reader, self.held)
                if answer.get("changes"):
                    self.heard.put_nowait(time.monotonic())
                    await self.sync(sync)
        finally:
            writer.close()

    async def sync(self, sync: httpx.AsyncClient) -> None:
        body = {"v": 1, "device": self.device_id, "cursor": self.cursor, "limit": 1000}
        r = await sync.post(
            "/v1/sync",
            content=protocol.encode({**body, "ops": []}),
            headers={"Authorization": f"Bearer {self.token}", "Content-Encoding": "gzip"},
        )
        r.raise_for_status()
        answer = r.json()
        self.cursor = int(answer["cursor"])
        jobs = len((answer.get("changes") or {}).get("jobs", {}).get("rows", []))
        self.synced.put_nowait((time.monotonic(), jobs))


async def read_answer(reader: asyncio.StreamReader, held: asyncio.Event) -> dict[str, Any]:
    """One HTTP/1.1 answer: its head (the wait is held from then on), then its body."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
    status = int(head.split(" ", 2)[1])
    if status != 200:
        raise RuntimeError(f"HQ answered a wait with {status}: {head}")
    held.set()
    if "transfer-encoding: chunked" in head:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        body = await reader.readexactly(length)
    answer: dict[str, Any] = json.loads(body)
    return answer


def fleet(home: Path, n: int) -> list[Device]:
    """`n` technicians, each with an enrolled device, written into HQ's database directly
    (enrolling 500 through the CLI would take minutes), and each device's cursor at the
    feed's top, as after a sync."""
    hq = HQ.open(sqlite_url(locate(home).hq_db), create=False)
    try:
        devices = []
        for i in range(n):
            user, code = auth.add_user(hq, name=f"Tech {i:03}", role="technician", team="north")
            device_id = f"bench-device-{i:03}"
            _, token = auth.enroll(hq, code, device_id, f"phone {i}")
            devices.append(Device(user["id"], device_id, token, 0))
        with hq.engine.connect() as conn:
            top = max(feed_tops(conn).values())
        for d in devices:
            d.cursor = top
        return devices
    finally:
        hq.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Bench:
    def __init__(self, root: Path, args: argparse.Namespace):
        self.root, self.args = root, args
        self.server = HQServer(root / "hq")
        init = json.loads(self.server.hq("init", "--json"))
        self.token = init["admin_token"]
        admin = init["admin"]
        self.admin = Principal(admin["id"], admin["name"], "admin", None, None, "console")
        self.devices = fleet(self.server.home, args.devices)
        self.rng = random.Random(7)
        self.other: HQ | None = None

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid

    async def run(self) -> list[dict[str, Any]]:
        host, port = "127.0.0.1", self.server.port
        rows: list[dict[str, Any]] = []
        limits = httpx.Limits(max_connections=20)
        async with (
            httpx.AsyncClient(base_url=self.server.url, timeout=30, limits=limits) as sync,
            httpx.AsyncClient(
                base_url=self.server.url,
                timeout=30,
                headers={"Authorization": f"Bearer {self.token}"},
            ) as admin,
        ):
            r = await admin.get("/v1/me")  # warm: the first request loads what serving needs
            r.raise_for_status()
            # Warm the wait too: HQ's watcher and its threads start with the first wait.
            first = self.devices[0]
            r = await admin.get(
                "/v1/wait",
                params={"cursor": first.cursor, "timeout": 1.5},
                headers={"Authorization": f"Bearer {first.token}"},
            )
            r.raise_for_status()
            await asyncio.sleep(1)
            n = len(self.devices)
            rss = [rss_mib(self.pid)]
            tasks = []
            for half in (self.devices[: n // 2], self.devices[n // 2 :]):
                for d in half:
                    tasks.append(asyncio.create_task(d.run(host, port, sync)))
                    await asyncio.sleep(0.002)  # a fleet arrives over a second or so
                await asyncio.wait_for(asyncio.gather(*(d.held.wait() for d in half)), 60)
                await asyncio.sleep(1)
                rss.append(rss_mib(self.pid))
            per_wait = (rss[2] - rss[1]) * 1024 / (n - n // 2)
            rows.append(
                self.row(
                    f"RSS: 0, {n // 2}, {n} waits held",
                    " → ".join(f"{m:.1f}" for m in rss) + " MiB",
                    f"{per_wait:.1f} KiB per held wait (the second half); "
                    f"{(rss[2] - rss[0]) * 1024 / n:.1f} KiB over all",
                )
            )
            label = f"idle {self.args.idle_s:g} s, holds of 25 s (each renews once)"
            rows.append(await self.idle(label, None))
            rows.extend(await self.dispatch(admin, "API"))
            rows.extend(await self.dispatch(admin, "another writer"))
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # Held again, with holds of 30 s: a window in which no wait renews.
            for d in self.devices:
                d.hold = LONG_HOLD
            tasks = [asyncio.create_task(d.run(host, port, sync)) for d in self.devices]
            await asyncio.wait_for(asyncio.gather(*(d.held.wait() for d in self.devices)), 60)
            rows.append(await self.idle("idle 12 s, holds of 30 s (none renews)", 12.0))
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return rows

    async def quiet(self, most: float = 15.0) -> None:
        """Until HQ has worked through the waits that just came (at most 2% of a core for a
        second): what an idle window measures is HQ holding them, not taking them."""
        deadline = time.monotonic() + most
        while time.monotonic() < deadline:
            cpu = cpu_seconds(self.pid)
            await asyncio.sleep(1)
            if cpu_seconds(self.pid) - cpu <= 0.02:
                return

    async def idle(self, label: str, seconds: float | None) -> dict[str, Any]:
        seconds = seconds or self.args.idle_s
        await self.quiet()
        waits = sum(d.waits for d in self.devices)
        cpu, start = cpu_seconds(self.pid), time.monotonic()
        await asyncio.sleep(seconds)
        used = cpu_seconds(self.pid) - cpu
        renewed = sum(d.waits for d in self.devices) - waits
        wall = time.monotonic() - start
        return self.row(
            label,
            f"{used:.2f} CPU s in {wall:.1f} s ({used / wall * 100:.1f}% of a core)",
            f"{renewed} waits renewed",
        )

    async def dispatch(self, admin: httpx.AsyncClient, how: str) -> list[dict[str, Any]]:
        heard: list[float] = []
        landed: list[float] = []
        cpu, waits = cpu_seconds(self.pid), sum(d.waits for d in self.devices)
        for i in range(self.args.dispatches):
            d = self.rng.choice(self.devices)
            spec = {
                "kind": "repair",
                "summary": f"bench job {how} {i}",
                "customer_name": f"Customer {how} {i}",
                "address": f"{i} Bench St",
                "technician": d.user_id,
            }
            start = time.monotonic()
            if how == "API":
                r = await admin.post("/v1/jobs", json=spec)
                r.raise_for_status()
            else:
                await asyncio.to_thread(self.dispatch_elsewhere, spec)
            at = await asyncio.wait_for(d.heard.get(), 30)
            synced_at, jobs = await asyncio.wait_for(d.synced.get(), 30)
            assert jobs >= 1, "the sync after the hint brought no job"
            heard.append(at - start)
            landed.append(synced_at - start)
            # Spread over more than the watcher's second, so dispatches fall anywhere in it.
            await asyncio.sleep(0.3 + self.rng.random() * 2.0)
        used = cpu_seconds(self.pid) - cpu
        renewed = sum(d.waits for d in self.devices) - waits - len(heard)
        where = "POST /v1/jobs (HQ commits)" if how == "API" else "another process commits"
        return [
            self.row(
                f"dispatch → notified, {where}",
                f"p50 {statistics.median(heard):.3f} s · p95 {percentile(heard, 95):.3f} s",
                f"max {max(heard):.3f} s over {len(heard)}",
            ),
            self.row(
                f"dispatch → job on the device, {how}",
                f"p50 {statistics.median(landed):.3f} s · p95 {percentile(landed, 95):.3f} s",
                f"HQ CPU {used:.2f} s for the {len(heard)} dispatches, their syncs and "
                f"{renewed} waits renewed meanwhile",
            ),
        ]

    def dispatch_elsewhere(self, spec: dict[str, str]) -> None:
        """What `fieldtech hq dispatch` does, from this process: another writer of HQ's
        database, whose commit HQ learns of only at its once-a-second look. (The command
        itself would add its own start, ~1 s, before the commit.)"""
        if self.other is None:
            self.other = HQ.open(sqlite_url(locate(self.server.home).hq_db), create=False)
        create_job(self.other, self.admin, spec)

    def row(self, what: str, measured: str, note: str) -> dict[str, Any]:
        print(f"  {what}: {measured} ({note})", flush=True)
        return {"what": what, "measured": measured, "note": note}


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--dispatches", type=int, default=20, help="each way (API, CLI)")
    ap.add_argument("--idle-s", type=float, default=30.0)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    args = parse(argv)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), args)
        b.server.start(b.token)
        try:
            rows = asyncio.run(b.run())
        finally:
            b.server.stop()
            if b.other is not None:
                b.other.dispose()
    show(f"held waits at HQ, {args.devices} devices (commit {commit})", rows)
    out = write("wait", rows, {**vars(args), "commit": commit})
    print(f"written {out}")
    return rows


if __name__ == "__main__":
    main()

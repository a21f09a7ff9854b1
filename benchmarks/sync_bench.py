"""Sync on the wire: requests, bytes up and down, wall time.

    python -m benchmarks.sync_bench [--jobs 10000] [--ops 10000] [--latency-ms 0]

Scenarios (a real HQ process on 127.0.0.1, a real device file):
  a) first push of N operations        b) re-sync after 100 changed jobs
  c) a sync with nothing to do         d) a new device priming N jobs
The baseline is one authenticated empty round trip (GET /v1/me) in the same run; each
scenario's time is also given as a multiple of it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import HQServer, show, write
from fieldtech.services import Device, jobs
from fieldtech.store import open_store
from fieldtech.sync.client import SyncClient
from fieldtech.sync.enroll import enroll


class Latency(httpx.HTTPTransport):
    """Adds a fixed delay to every request, as a slow link would."""

    def __init__(self, ms: float):
        super().__init__()
        self.delay = ms / 1000

    def handle_request(self, request):
        time.sleep(self.delay)
        return super().handle_request(request)


def device(home: Path, server: HQServer, code: str, latency_ms: float) -> SyncClient:
    store = open_store(home / "data" / "device.sqlite")
    dev = Device.open(store)
    enroll(dev, home / "config" / "credential.json", server.url, code)
    token = json.loads((home / "config" / "credential.json").read_text())["token"]
    return SyncClient(dev, server.url, token, transport=Latency(latency_ms) if latency_ms else None)


def timed(client: SyncClient):
    t0 = time.perf_counter()
    report = client.sync()
    return report, time.perf_counter() - t0


def row(name: str, report, seconds: float, baseline: float, per: int | None = None) -> dict:
    r = {
        "scenario": name,
        "requests": report.requests,
        "bytes_up": report.bytes_up,
        "bytes_down": report.bytes_down,
        "seconds": seconds,
        "x_baseline": seconds / baseline if baseline else 0.0,
    }
    r["up_bytes_per_change"] = round(report.bytes_up / per, 1) if per else ""
    return r


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--ops", type=int, default=10_000)
    ap.add_argument("--latency-ms", type=float, default=0.0)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = HQServer(root / "hq")
        token = json.loads(server.hq("init", "--json"))["admin_token"]
        a = json.loads(
            server.hq(
                "user",
                "add",
                "--name",
                "Tech A",
                "--role",
                "technician",
                "--team",
                "north",
                "--json",
            )
        )
        b = json.loads(
            server.hq(
                "user",
                "add",
                "--name",
                "Tech B",
                "--role",
                "technician",
                "--team",
                "north",
                "--json",
            )
        )
        server.hq(
            "seed", "--jobs", str(args.jobs), "--technician", a["user"]["id"], "--prefix", "A-"
        )
        server.hq(
            "seed",
            "--jobs",
            "200",
            "--technician",
            b["user"]["id"],
            "--prefix",
            "B-",
            "--seed",
            "11",
        )
        server.start(token)
        try:
            transport = Latency(args.latency_ms) if args.latency_ms else None
            with httpx.Client(
                base_url=server.url,
                transport=transport,
                headers={"Authorization": f"Bearer {token}"},
            ) as http:
                times = []
                for _ in range(20):
                    t0 = time.perf_counter()
                    http.get("/v1/me").raise_for_status()
                    times.append(time.perf_counter() - t0)
                baseline = statistics.median(times)
            rows = [
                {
                    "scenario": "baseline: empty round trip (median of 20)",
                    "requests": 1,
                    "bytes_up": 0,
                    "bytes_down": 0,
                    "seconds": baseline,
                    "x_baseline": 1.0,
                    "up_bytes_per_change": "",
                }
            ]

            # d) a new device primes all of technician A's jobs
            dev_a = device(root / "a", server, a["enrollment_code"], args.latency_ms)
            report, secs = timed(dev_a)
            rows.append(row(f"d) new device primes {args.jobs:,} jobs", report, secs, baseline))

            # c) nothing to do
            report, secs = timed(dev_a)
            rows.append(row("c) sync with nothing to do", report, secs, baseline))

            # b) 100 jobs change on the device (one status change each), then sync
            open_jobs = [
                r["id"] for r in dev_a.store.queue(limit=100_000) if r["status"] == "assigned"
            ][:100]
            for job_id in open_jobs:
                jobs.start(dev_a.device, job_id)
            report, secs = timed(dev_a)
            rows.append(
                row("b) re-sync after 100 changed jobs", report, secs, baseline, per=len(open_jobs))
            )

            # a) first push of N operations from a device that was offline a long time
            dev_b = device(root / "b", server, b["enrollment_code"], args.latency_ms)
            dev_b.sync()
            b_jobs = [r["id"] for r in dev_b.store.queue(limit=1000)]
            with dev_b.store.transaction():
                for i in range(args.ops):
                    jobs.note(dev_b.device, b_jobs[i % len(b_jobs)], f"reading log {i}")
            report, secs = timed(dev_b)
            rows.append(
                row(
                    f"a) first push of {args.ops:,} operations",
                    report,
                    secs,
                    baseline,
                    per=args.ops,
                )
            )
            for c in (dev_a, dev_b):
                c.close()
        finally:
            server.stop()
    show(f"sync benchmark (latency {args.latency_ms:g} ms per request)", rows)
    out = write("sync", rows, {"jobs": args.jobs, "ops": args.ops, "latency_ms": args.latency_ms})
    print(f"written {out}")
    return rows


if __name__ == "__main__":
    main()

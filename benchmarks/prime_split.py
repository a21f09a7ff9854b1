"""Where a priming's time goes: HQ streaming it, and the device applying it.

    python -m benchmarks.prime_split [--jobs 10000] [--runs 2]

A real `fieldtech hq serve` (SQLite) seeded with the jobs; on 127.0.0.1, no shaping. Each
run enrolls a fresh device and primes it twice over, interleaved: once with a client that
reads the whole stream and applies nothing (HQ's share: building, compressing and sending
the pages), once with the device's own sync client, which applies each page as it comes
(both sides, overlapped). The second less the first is what the device adds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import HQServer, show, write
from fieldtech.services import Device
from fieldtech.store import open_store
from fieldtech.sync.client import Backoff, SyncClient
from fieldtech.sync.enroll import enroll


class Discarding(SyncClient):
    """The device's client, reading every frame and keeping none of it."""

    def apply(self, answer: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        return None


def prime(server: HQServer, user_id: str, home: Path, client_type: type[SyncClient]) -> tuple:
    code = server.hq("user", "enrollment", user_id).strip()
    device = Device.open(open_store(home / "device.sqlite"))
    enroll(device, home / "credential.json", server.url, code)
    cred = json.loads((home / "credential.json").read_text())
    client = client_type(device, cred["hq_url"], cred["token"], backoff=Backoff(attempts=1))
    t0 = time.perf_counter()
    try:
        report = client.sync(max_rounds=1)
    finally:
        client.close()
    took = time.perf_counter() - t0
    kept = device.store.count_jobs()
    device.store.close()
    return took, report.bytes_down, kept


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--jobs", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args(argv)
    got: dict[str, list[tuple]] = {"HQ alone (the device discards)": [], "HQ and device": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = HQServer(root / "hq")
        token = json.loads(server.hq("init", "--json"))["admin_token"]
        tech = json.loads(
            server.hq(
                "user",
                "add",
                "--name",
                "Prime Tech",
                "--role",
                "technician",
                "--team",
                "north",
                "--json",
            )
        )
        user_id = tech["user"]["id"]
        server.hq("seed", "--jobs", str(args.jobs), "--technician", user_id)
        server.start(token)
        try:
            for run in range(args.runs):
                for n, (label, kind) in enumerate(zip(got, (Discarding, SyncClient), strict=True)):
                    got[label].append(prime(server, user_id, root / f"d{run}-{n}", kind))
        finally:
            server.stop()
    rows = [
        {
            "what": label,
            "seconds (median)": statistics.median(r[0] for r in runs),
            "bytes down": runs[-1][1],
            "jobs kept": runs[-1][2],
        }
        for label, runs in got.items()
    ]
    show(f"priming {args.jobs:,} jobs over 127.0.0.1 ({args.runs} runs each)", rows)
    out = write("prime_split", rows, {**vars(args), "raw": got})
    print(f"written {out}")
    return rows


if __name__ == "__main__":
    main()

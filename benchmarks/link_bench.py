"""Sync over a slow and broken link: requests, bytes each way, wall time of `fieldtech sync`.

    python -m benchmarks.link_bench [--rate-kbit 50] [--delay-ms 300] [--prime-jobs 2000]
        [--prime-pairs 2] [--week-jobs 60] [--week-ops 3150] [--slow-kbit 8] [--cut-after-s 30]
        [--photos 20] [--photo-cuts 3] [--only all|ops|photos] [--quick]

Every scenario runs the technician's own command, `fieldtech --home DIR sync`, through
benchmarks.shaping_proxy to a real `fieldtech hq serve` (SQLite) on 127.0.0.1:
  week offline   60 jobs dispatched to one technician, a week of work on them offline
                 (~3,150 operations made by the device's services), one sync over the link
  answer lost    the same, with HQ's answer to the first sync request lost after HQ
                 committed it; sync again until the outbox is empty; HQ must hold every
                 operation exactly once (read back through HQ's API)
  priming        a new device enrolls for a technician with 2,000 jobs and syncs: at 100 ms
                 one-way delay, its first sync prepared at HQ beforehand (as the serving HQ
                 does while a code waits) and live, pairs interleaved; and at 1 KB/s with
                 the link going down after 30 s
                 (300 s in the field; --cut-after-s), when the bytes received and the jobs
                 kept on the device count
  nothing to do  one more sync of the week's device
  photos         a day on 20 jobs offline with a camera photo each (~400 KB once
                 downscaled on the device), synced while the link is cut 3 times mid-file
The proxy counts the bytes on the wire (HTTP heads and bodies) and the HTTP requests.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import HQServer, cli, show, write
from benchmarks.shaping_proxy import Counts, ShapingProxy
from fieldtech.domain import ops
from fieldtech.domain.demo_data import parts_catalog
from fieldtech.paths import locate
from fieldtech.services import Device, checklists, jobs, parts
from fieldtech.store import open_store

QUICK = {"week_jobs": 20, "week_ops": 500, "prime_jobs": 300, "cut_after_s": 5.0, "photos": 3}
# Maintenance readings a technician takes again and again over a week (the template's items).
READINGS = [
    ("supply_voltage", "231"),
    ("filters_cleaned", "yes"),
    ("supply_voltage", "226.5"),
    ("function_test", "yes"),
    ("next_visit", "clean the condenser coil before summer"),
    ("supply_voltage", "219"),
]


@dataclass
class Run:
    """One `fieldtech` command: exit code, its output, wall seconds."""

    code: int
    out: str
    err: str
    seconds: float

    def said(self) -> str:
        text = (self.err or self.out).strip().splitlines()
        return text[-1] if text else ""


def fieldtech(home: Path, *args: str) -> Run:
    t0 = time.perf_counter()
    try:
        out, code, err = cli(home, *args), 0, ""
    except subprocess.CalledProcessError as exc:
        out, code, err = exc.stdout, exc.returncode, exc.stderr
    return Run(code, out, err, time.perf_counter() - t0)


class Bench:
    def __init__(self, root: Path, args: argparse.Namespace):
        self.root = root
        self.args = args
        self.server = HQServer(root / "hq")
        self.token = json.loads(self.server.hq("init", "--json"))["admin_token"]
        self.proxy: ShapingProxy
        self.prime_user = ""  # the technician new devices are primed for, prepared
        self.live_user = ""  # and the one they are primed for live
        self.said: dict[str, list[str]] = {}  # what the command printed, per scenario
        self.extra: dict[str, Any] = {}  # figures a scenario adds to the JSON

    # -- HQ side -------------------------------------------------------------------------
    def technician(self, name: str) -> dict[str, Any]:
        added: dict[str, Any] = json.loads(
            self.server.hq(
                "user", "add", "--name", name, "--role", "technician", "--team", "north", "--json"
            )
        )
        return added

    def dispatch(self, count: int, *techs: dict[str, Any], prefix: str = "M") -> None:
        """`count` maintenance jobs for each of `techs`, dispatched as HQ does (an import)."""
        path = self.root / "jobs.csv"
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(
                ["ref", "kind", "summary", "customer_name", "address", "city"]
                + ["appliance_category", "technician"]
            )
            for t, tech in enumerate(techs):
                for i in range(count):
                    ref = f"{prefix}{t}-{i:04d}"
                    w.writerow(
                        [ref, "maintenance", "Yearly service", f"Customer {ref}", f"{i} Long Road"]
                        + ["Lima", "air conditioner", tech["user"]["id"]]
                    )
        self.server.hq("import", str(path))

    def at_hq(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )

    # -- device side ---------------------------------------------------------------------
    def enroll(self, home: Path, code: str) -> Run:
        run = fieldtech(home, "enroll", self.proxy.url, code)
        assert run.code == 0, run.err
        return run

    def work_a_week(self, home: Path, target: int) -> dict[str, list[str]]:
        """A week offline on every job this device holds, through the device's services:
        set off, arrive, readings, notes, a hold for parts and back, part requests, until
        the outbox holds `target` operations. Returns the outbox's ids by kind."""
        store = open_store(locate(home).device_db)
        dev = Device.open(store)
        held = [r["id"] for r in store.queue(limit=100_000)]
        skus = [p["sku"] for p in parts_catalog()[:8]]
        for n, job_id in enumerate(held):
            jobs.start(dev, job_id)
            jobs.arrive(dev, job_id)
            checklists.record_reading(dev, job_id, "service_card", "yes")
            parts.request_part(dev, skus[n % len(skus)], 1, job_id=job_id, note="for Monday")
            jobs.hold(dev, job_id, "compressor capacitor on order", waits_for="parts")
            jobs.resume(dev, job_id)
            if n % 2:
                parts.request_part(dev, skus[(n + 3) % len(skus)], 2, job_id=job_id)
        i = 0
        while len(store.outbox("pending")) < target:
            job_id = held[i % len(held)]
            if i % 2:
                jobs.note(dev, job_id, f"day {i % 7 + 1}: checked the unit, noted reading {i}")
            else:
                key, value = READINGS[(i // 2) % len(READINGS)]
                checklists.record_reading(dev, job_id, key, value)
            i += 1
        by_kind: dict[str, list[str]] = {}
        for o in store.outbox("pending"):
            key = o["entity_id"] if o["op"] == ops.REQUEST_CREATE else o["id"]
            by_kind.setdefault(o["op"], []).append(key)
        store.close()
        return by_kind

    def outbox(self, home: Path) -> int:
        return len(json.loads(fieldtech(home, "outbox", "--json").out))

    def jobs_kept(self, home: Path) -> int:
        return int(
            json.loads(fieldtech(home, "jobs", "--all", "--json", "--limit", "1").out)["total"]
        )

    # -- measuring -----------------------------------------------------------------------
    def shaped(self, *, rate_kbit: float | None, delay_ms: float) -> None:
        self.proxy.shape(rate_kbit=rate_kbit, delay_ms=delay_ms)
        self.proxy.reset_counts()

    def row(self, scenario: str, link: str, runs: list[Run], counts: Counts, result: str) -> dict:
        return {
            "scenario": scenario,
            "link": link,
            "requests": counts.requests,
            "connections": counts.connections,
            "bytes_up": counts.bytes_up,
            "bytes_down": counts.bytes_down,
            "seconds": sum(r.seconds for r in runs),
            "result": result,
        }


def held_once(
    bench: Bench, tech: dict[str, Any], device_home: Path, made: dict[str, list[str]]
) -> str:
    """Read back through HQ's API what this device sent: every operation's row exactly once
    (history lines and readings carry the operation's id, a part request its own), and no
    other row from this device."""
    store = open_store(locate(device_home).device_db)
    device_id = store.meta("device_id")
    store.close()
    want = Counter(i for ids in made.values() for i in ids)
    found: Counter[str] = Counter()
    with bench.at_hq() as http:
        listed = http.get("/v1/jobs", params={"technician": tech["user"]["id"], "limit": 100_000})
        job_ids = {r["id"] for r in listed.raise_for_status().json()}
        for job_id in sorted(job_ids):
            job = http.get(f"/v1/jobs/{job_id}").raise_for_status().json()
            rows = job["history"] + job["readings"]
            found.update(r["id"] for r in rows if r.get("origin") == device_id)
        requests = http.get("/v1/part-requests").raise_for_status().json()
        found.update(r["id"] for r in requests if r.get("origin") == device_id)
    missing = sum(1 for i in want if found[i] == 0)
    twice = sum(1 for i in found if found[i] > 1)
    extra = sum(1 for i in found if i not in want)
    if missing or twice or extra:
        return f"HQ: {missing} missing, {twice} twice, {extra} not sent"
    return f"HQ holds all {sum(want.values()):,} once"


def week_offline(b: Bench, tech: dict[str, Any], name: str, lose_first_answer: bool) -> dict:
    a = b.args
    home = b.root / name
    b.shaped(rate_kbit=None, delay_ms=0)
    b.enroll(home, tech["enrollment_code"])
    first = fieldtech(home, "sync")
    assert first.code == 0, first.err
    made = b.work_a_week(home, a.week_ops)
    total = sum(len(v) for v in made.values())
    b.shaped(rate_kbit=a.rate_kbit, delay_ms=a.delay_ms)
    if lose_first_answer:
        b.proxy.drop_answer(1)
    runs = [fieldtech(home, "sync")]
    while b.outbox(home) and len(runs) < 5:  # until the outbox is empty, as a person would
        runs.append(fieldtech(home, "sync"))
    counts = b.proxy.snapshot()
    left = b.outbox(home)
    label = "answer lost after HQ committed" if lose_first_answer else "week offline"
    b.said[label] = [f"exit {r.code}: {r.said()}" for r in runs]
    result = f"{total:,} ops, {len(runs)} sync run(s), {left} left"
    if lose_first_answer:
        result += f", {counts.answers_dropped} answer lost"
    result += "; " + held_once(b, tech, home, made)
    return b.row(label, link(a.rate_kbit, a.delay_ms), runs, counts, result)


def link(rate_kbit: float | None, delay_ms: float) -> str:
    rate = f"{rate_kbit:g} kbit/s" if rate_kbit else "no rate limit"
    return f"{rate}, {delay_ms:g} ms" if delay_ms else rate


def nothing_to_do(b: Bench, name: str) -> dict:
    home = b.root / name
    b.shaped(rate_kbit=b.args.rate_kbit, delay_ms=b.args.delay_ms)
    run = fieldtech(home, "sync")
    b.said["sync with nothing to do"] = [f"exit {run.code}: {run.said()}"]
    return b.row(
        "sync with nothing to do",
        link(b.args.rate_kbit, b.args.delay_ms),
        [run],
        b.proxy.snapshot(),
        run.said(),
    )


def priming(b: Bench, home: Path, code: str, slow: bool, prepared: bool | None = None) -> dict:
    """A new device enrolls and syncs. `prepared`: HQ made its first sync before it enrolled
    (`hq user prepare`, as the serving HQ does while a code waits; not timed), or not (live)."""
    a = b.args
    if prepared:
        b.server.hq("user", "prepare", b.prime_user)
    user = b.live_user if prepared is False else b.prime_user
    code = code or b.server.hq("user", "enrollment", user).strip()
    if slow:
        b.shaped(rate_kbit=a.slow_kbit, delay_ms=0)
        b.proxy.down_after(a.cut_after_s)
    else:
        b.shaped(rate_kbit=None, delay_ms=100)
    runs = [b.enroll(home, code), fieldtech(home, "sync")]
    counts = b.proxy.snapshot()
    b.proxy.restore()
    kept = b.jobs_kept(home)
    if slow:
        label = f"priming {a.prime_jobs:,} jobs, link down after {a.cut_after_s:g} s"
        where = f"{a.slow_kbit:g} kbit/s ({a.slow_kbit / 8:g} KB/s)"
    else:
        how = {None: "", True: ", prepared", False: ", live"}[prepared]
        label, where = f"priming {a.prime_jobs:,} jobs (enroll + sync{how})", link(None, 100)
    b.said[label] = [f"exit {r.code}: {r.said()}" for r in runs]
    result = f"{kept:,} of {a.prime_jobs:,} jobs kept; sync exit {runs[-1].code}"
    return b.row(label, where, runs, counts, result)


def camera_photos(folder: Path, count: int) -> list[Path]:
    """`count` photos as a phone takes them (3200 x 2400, ~3.7 MB), each its own: noise
    over a gradient, which JPEG compresses as it does a real scene's detail. Downscaled to
    1600 px on the device they come to ~400 KB each."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    grad = Image.linear_gradient("L").resize((3200, 2400)).convert("RGB")
    out = []
    for i in range(count):
        noise = Image.effect_noise((3200, 2400), 33).convert("RGB")
        path = folder / f"IMG_{i:04d}.jpg"
        Image.blend(noise, grad, 0.5).save(path, "JPEG", quality=92)
        out.append(path)
    return out


def photos(b: Bench, tech: dict[str, Any]) -> dict:
    """A day on `--photos` jobs offline, a photo on each, then syncs over the link while it
    is cut `--photo-cuts` times mid-file, each sync run again after its cut, as a person
    would. Counts the file bytes the device put on the wire against the files' sizes, checks
    every file at HQ by its hash, and that the day's operations all went before the first
    file request."""
    a = b.args
    home = b.root / "photos"
    b.shaped(rate_kbit=None, delay_ms=0)
    b.enroll(home, tech["enrollment_code"])
    assert fieldtech(home, "sync").code == 0
    store = open_store(locate(home).device_db)
    dev = Device.open(store)
    shots = camera_photos(b.root / "DCIM", a.photos)
    for n, row in enumerate(store.queue(limit=a.photos)):
        jobs.start(dev, row["id"])
        jobs.arrive(dev, row["id"])
        checklists.record_reading(dev, row["id"], "supply_voltage", "231")
        jobs.note(dev, row["id"], "condenser coil cleaned; photo of the unit attached")
        attach_run = fieldtech(home, "attach", row["id"], str(shots[n]), "--caption", "unit")
        assert attach_run.code == 0, attach_run.err
    ops_made = len(store.outbox("pending"))
    sizes = dict(store.db.execute("SELECT sha256, size FROM uploads").fetchall())
    store.close()
    total = sum(sizes.values())
    b.shaped(rate_kbit=a.rate_kbit, delay_ms=a.delay_ms)
    before = len(b.proxy.requests_log)
    # Cuts spread over the files' bytes, each at an odd offset: mid-chunk, not on a boundary.
    step = total // (a.photo_cuts + 1)
    runs: list[Run] = []
    for cut in range(a.photo_cuts + 1):
        if cut < a.photo_cuts:
            b.proxy.cut_after(up=step + 12_345 if cut == 0 else step)
        runs.append(fieldtech(home, "sync"))
        if cut == 0:
            ops_left_after_first = b.outbox(home)
    while len(runs) < a.photo_cuts + 4 and runs[-1].code != 0:
        runs.append(fieldtech(home, "sync"))
    counts = b.proxy.snapshot()
    log = b.proxy.requests_log[before:]
    first_file = next((i for i, r in enumerate(log) if " /v1/files/" in r), len(log))
    first_run_syncs = [i for i, r in enumerate(log) if r.startswith("POST /v1/sync")][:1]
    assert first_run_syncs and first_run_syncs[0] < first_file, "the operations go first"
    store = open_store(locate(home).device_db)
    on_wire = int(store.meta("file_bytes_sent") or 0)
    waiting = store.uploads_waiting()
    store.close()
    intact = 0
    with b.at_hq() as http:
        for sha in sizes:
            got = http.get(f"/v1/files/{sha}")
            intact += got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha
    resent = on_wire - total
    b.said[f"{a.photos} photos, cut {a.photo_cuts} times"] = [
        f"exit {r.code}: {r.said()}" for r in runs
    ]
    result = (
        f"{len(sizes)} photos, {total / 1e6:.2f} MB ({total // max(len(sizes), 1) // 1000} KB "
        f"each); {counts.cuts} cuts; {resent:,} B sent twice ({resent / max(counts.cuts, 1):,.0f}"
        f" per cut); {intact} of {len(sizes)} intact at HQ; {waiting[0]} waiting; "
        f"{ops_made} ops of the day, {ops_left_after_first} of them still on the device "
        f"when the first file request went"
    )
    row = b.row(
        f"{a.photos} photos, link cut {a.photo_cuts} times",
        link(a.rate_kbit, a.delay_ms),
        runs,
        counts,
        result,
    )
    b.extra["photos"] = {
        "photo_bytes": total,
        "file_bytes_on_wire": on_wire,
        "resent_per_cut": resent / max(counts.cuts, 1),
        "intact": intact,
        "ops_left_when_files_began": ops_left_after_first,
        "requests": log,
    }
    return row


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate-kbit", type=float, default=50.0, help="each way, week and no-op")
    ap.add_argument("--delay-ms", type=float, default=300.0, help="one way, week and no-op")
    ap.add_argument("--week-jobs", type=int, default=60)
    ap.add_argument("--week-ops", type=int, default=3150)
    ap.add_argument("--prime-jobs", type=int, default=2000)
    ap.add_argument(
        "--prime-pairs", type=int, default=2, help="primings prepared and live, interleaved"
    )
    ap.add_argument("--slow-kbit", type=float, default=8.0, help="the priming link that goes down")
    ap.add_argument("--cut-after-s", type=float, default=30.0, help="300 s in the field")
    ap.add_argument("--photos", type=int, default=20, help="photos of the day (one per job)")
    ap.add_argument("--photo-cuts", type=int, default=3, help="cuts while they go")
    ap.add_argument(
        "--only", choices=["all", "photos", "ops"], default="all", help="which scenarios run"
    )
    ap.add_argument("--quick", action="store_true", help="smaller sizes: about a minute")
    args = ap.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == ap.get_default(key):
                setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse(argv)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    floor = fieldtech(Path(tempfile.gettempdir()), "--version").seconds
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), args)
        names = ("Week Tech", "Lost Tech", "Prime Tech", "Photo Tech", "Live Tech")
        week, lost, prime, shooter, live = (b.technician(n) for n in names)
        b.dispatch(args.week_jobs, week, lost)
        b.dispatch(max(args.photos, 1), shooter, prefix="P")
        b.server.hq("seed", "--jobs", str(args.prime_jobs), "--technician", prime["user"]["id"])
        if args.only in ("all", "ops"):
            b.server.hq(
                *("seed", "--jobs", str(args.prime_jobs), "--technician", live["user"]["id"]),
                *("--seed", "8", "--prefix", "L-"),
            )
        b.server.start(b.token)
        try:
            with ShapingProxy(("127.0.0.1", b.server.port)) as b.proxy:
                rows = []
                if args.only in ("all", "ops"):
                    rows += [
                        week_offline(b, week, "week", lose_first_answer=False),
                        nothing_to_do(b, "week"),
                        week_offline(b, lost, "lost", lose_first_answer=True),
                    ]
                    # Prepared against live, pairs interleaved. A preparation is kept per
                    # technician: the live ones are another's, with jobs of the same making.
                    b.prime_user, b.live_user = prime["user"]["id"], live["user"]["id"]
                    for n in range(args.prime_pairs):
                        for prepared in (True, False):
                            where = b.root / f"prime-{n}-{'prepared' if prepared else 'live'}"
                            rows.append(priming(b, where, "", slow=False, prepared=prepared))
                    again = b.server.hq("user", "enrollment", prime["user"]["id"]).strip()
                    rows.append(priming(b, b.root / "prime-slow", again, slow=True))
                if args.only in ("all", "photos"):
                    rows.append(photos(b, shooter))
        finally:
            b.server.stop()
    show(f"sync over a slow and broken link (commit {commit})", rows)
    print(f"a fieldtech command's own start (fieldtech --version): {floor:.3f} s")
    print("what `fieldtech sync` said:")
    for scenario, lines in b.said.items():
        for line in lines:
            print(f"  {scenario}: {line}")
    meta = {**vars(args), "commit": commit, "cli_start_seconds": floor, "said": b.said, **b.extra}
    out = write("link", rows, meta)
    print(f"written {out}")
    return rows


if __name__ == "__main__":
    main()

"""Encodings for the sync wire: JSON+gzip (today) against zstd, a trained dictionary, msgpack.

    python -m benchmarks.encoding_bench [--runs 5] [--dict-kb 32] [--wheels DIR] [--quick]

Needs msgpack and zstandard installed beside fieldtech (they are not the project's
dependencies: this measures whether they should be). Every body is real: a real
`fieldtech hq serve` (SQLite) on 127.0.0.1 and real device files, the device's services
making the work and its own SyncClient speaking to HQ, its requests and answers captured
as they cross:
  week push        a technician's week offline on 60 dispatched jobs (link_bench's week:
                   set off, arrive, readings, notes, holds for parts, part requests), the
                   whole outbox as one request body (SyncClient._body)
  priming          every frame of the answers to a new device's first sync, for 2,000 and
                   10,000 jobs (pages of ~256 KB of JSON, each frame compressed on its own)
  routine answer   the frames answering a sync that sends 3 notes and has nothing to pull
  status push      100 jobs set off, as one request
Today a request, and each frame of an answer, is gzip'd JSON at level 6 (protocol.encode).
The dictionaries (one for JSON, one for msgpack: each device would carry the one used) are
trained on bodies of the same kinds from other technicians, other jobs and another demo
seed than those measured. CPU is process time, encode and decode each, median of --runs;
a compressor or decompressor is built per body, as one `fieldtech sync` process would.
Seconds at 50 kbit/s are the bodies' bytes alone (HTTP heads, the frames' 4-byte lengths
and round trips come on top). xz (the standard library's lzma) is measured beside them: a
stronger compression that needs no new package. What each package costs a device: wheel
(with --wheels, a folder of downloaded wheels), installed bytes, import time
(-X importtime) and the peak RSS it adds (VmHWM), median of fresh processes; and the peak
RSS of compressing and of decompressing the week push and the largest priming frame.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import json
import lzma
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgpack  # type: ignore[import-untyped, import-not-found, unused-ignore]
import zstandard  # type: ignore[import-not-found, unused-ignore]

from benchmarks.common import cli, show, write
from benchmarks.link_bench import Bench
from fieldtech.paths import locate
from fieldtech.services import Device, jobs
from fieldtech.store import open_store
from fieldtech.sync import credentials, protocol
from fieldtech.sync.client import SyncClient

LINK_BITS = 50_000  # 50 kbit/s
TODAY = "json+gzip6 (today)"  # protocol.encode: a request, and each frame of an answer
XZ_1MIB = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 20}]  # xz6, a 1 MiB window
# A training body larger than this is cut into pieces of it: the trainer learns from many
# samples, and what a dictionary can hold is the short strings every body repeats.
SAMPLE_BYTES = 8 * 1024
STATUS_CHANGES, TRAIN_STATUS_CHANGES = 100, 50
SEED, TRAIN_SEED = 7, 11  # demo data: the primed technicians take 7, 8, ...; training 11
QUICK = {"week_jobs": 20, "week_ops": 500, "prime": [300, 1000], "train_ops": 350}
QUICK |= {"train_prime": 300}


@dataclass
class Body:
    """What one side sends: a request's JSON value, or an answer's frames (each compressed on
    its own, as HQ frames them). `wire`: its bytes on the wire today, the frames' 4-byte
    lengths included (HTTP heads aside)."""

    name: str
    values: list[Any]
    answer: bool
    wire: int


@dataclass
class Exchange:
    request: Any
    frames: list[Any]  # the answer: the push's outcome, then page after page
    up: int  # bytes of the request body as sent
    down: int  # bytes of the answer's body as received


# -- the devices --------------------------------------------------------------------------------
class Capture:
    """Every /v1/sync exchange a SyncClient makes, decoded, with its bytes on the wire."""

    def __init__(self, client: SyncClient) -> None:
        self.seen: list[Exchange] = []
        client.http.event_hooks["response"] = [self.record]

    def record(self, response: httpx.Response) -> None:
        response.read()  # the client then reads the frames from what was read here
        sent = response.request.content
        assert protocol.FRAMES_TYPE in response.headers.get("content-type", ""), "not framed"
        frames = protocol.Frames(limit=protocol.MAX_INFLATED).feed(response.content)
        self.seen.append(
            Exchange(json.loads(protocol.inflate(sent)), frames, len(sent), len(response.content))
        )


def opened(home: Path) -> SyncClient:
    """The device at `home` opened as its sync command opens it."""
    where = locate(home)
    cred = credentials.load(where.credential)
    return SyncClient(Device.open(open_store(where.device_db)), cred["hq_url"], cred["token"])


def device(b: Bench, home: Path, code: str) -> SyncClient:
    cli(home, "enroll", b.server.url, code)
    return opened(home)


def week(b: Bench, home: Path, code: str, target: int) -> tuple[SyncClient, list[dict[str, Any]]]:
    """A device primed with its dispatched jobs, then a week offline on them (link_bench's
    week, through the device's services): the client and the outbox."""
    cli(home, "enroll", b.server.url, code)
    cli(home, "sync")
    b.work_a_week(home, target)
    client = opened(home)
    return client, client.store.outbox("pending", limit=100_000)


def notes(client: SyncClient, count: int) -> None:
    held = [r["id"] for r in client.store.queue(limit=count)]
    for n, job_id in enumerate(held):
        jobs.note(client.device, job_id, f"called the customer back about visit {n}")


def set_off(client: SyncClient, count: int) -> int:
    assigned = [r["id"] for r in client.store.queue(limit=100_000) if r["status"] == "assigned"]
    for job_id in assigned[:count]:
        jobs.start(client.device, job_id)
    return min(count, len(assigned))


def exchanges(client: SyncClient) -> list[Exchange]:
    """One `sync` of this device, as it crossed."""
    cap = Capture(client)
    client.sync()
    return cap.seen


def measured_bodies(b: Bench, techs: dict[str, dict[str, Any]], a: argparse.Namespace) -> list:
    root = b.root
    client, outbox = week(b, root / "week", techs["week"]["enrollment_code"], a.week_ops)
    push = client._body(outbox)
    client.close()
    bodies = [Body(f"week push: {len(outbox):,} ops", [push], False, len(protocol.encode(push)))]
    status: list[Body] = []
    for n in a.prime:
        client = device(b, root / f"prime{n}", techs[f"prime{n}"]["enrollment_code"])
        seen = exchanges(client)
        frames = [f for x in seen for f in x.frames]
        name = f"priming {n:,} jobs: {len(frames)} frames, {len(seen)} answer(s)"
        bodies.append(Body(name, frames, True, sum(x.down for x in seen)))
        if n == a.prime[0]:
            notes(client, 3)
            x = exchanges(client)[0]
            name = f"routine answer to {len(x.request['ops'])} ops: {len(x.frames)} frames"
            bodies.append(Body(name, x.frames, True, x.down))
            made = set_off(client, STATUS_CHANGES)
            x = exchanges(client)[0]
            status = [Body(f"status push: {made} jobs set off", [x.request], False, x.up)]
        client.close()
    return bodies + status


def training_bodies(b: Bench, techs: dict[str, dict[str, Any]], a: argparse.Namespace) -> list:
    """Bodies of the kinds measured, from other technicians, jobs and demo seed."""
    root = b.root
    out: list[Any] = []

    def sync(client: SyncClient) -> None:
        for x in exchanges(client):
            out.extend([x.request, *x.frames])

    client, outbox = week(
        b, root / "train-week", techs["train_week"]["enrollment_code"], a.train_ops
    )
    at = 0
    for size in (1000, 200, 50, 10, 3, 1, 1, 2, 5, 20):  # batches of the sizes a device sends
        out.append(client._body(outbox[at : at + size]))
        at += size
    sync(client)
    client.close()
    client = device(b, root / "train-prime", techs["train_prime"]["enrollment_code"])
    sync(client)
    for count in (1, 2, 5):
        notes(client, count)
        sync(client)
    set_off(client, TRAIN_STATUS_CHANGES)
    sync(client)
    sync(client)  # nothing to do
    client.close()
    return out


# -- the encodings ------------------------------------------------------------------------------
def as_json(value: Any) -> bytes:
    """JSON as protocol.encode writes it, before gzip."""
    return json.dumps(value, separators=(",", ":")).encode()


def gunzip(data: bytes) -> bytes:
    return zlib.decompress(data, 16 + zlib.MAX_WBITS)


def samples(values: list[Any], fmt: str) -> list[bytes | bytearray | memoryview]:
    """Training samples: each body in the format, large ones in pieces."""
    out: list[bytes | bytearray | memoryview] = []
    for v in values:
        data = msgpack.packb(v) if fmt == "msgpack" else as_json(v)
        out += [data[i : i + SAMPLE_BYTES] for i in range(0, len(data), SAMPLE_BYTES)]
    return out


Codec = tuple[str, Callable[[Any], bytes], Callable[[bytes], Any]]


def zstd(
    name: str, level: int, dumps: Callable[[Any], bytes], loads: Callable[[bytes], Any], d: bytes
) -> Codec:
    zd = zstandard.ZstdCompressionDict(d) if d else None

    def enc(v: Any) -> bytes:
        return zstandard.ZstdCompressor(level=level, dict_data=zd).compress(dumps(v))

    def dec(data: bytes) -> Any:
        return loads(zstandard.ZstdDecompressor(dict_data=zd).decompress(data))

    return name, enc, dec


def codecs(dicts: dict[str, bytes]) -> list[Codec]:
    """Today's encoding first, then the others."""
    packb, unpackb = msgpack.packb, msgpack.unpackb
    return [
        (TODAY, protocol.encode, lambda d: json.loads(gunzip(d))),
        ("json+gzip9", lambda v: gzip.compress(as_json(v), 9), lambda d: json.loads(gunzip(d))),
        (
            "json+xz6 (stdlib)",
            lambda v: lzma.compress(as_json(v)),
            lambda d: json.loads(lzma.decompress(d)),
        ),
        (
            "json+xz6 1MiB (stdlib)",
            lambda v: lzma.compress(as_json(v), filters=XZ_1MIB),
            lambda d: json.loads(lzma.decompress(d)),
        ),
        zstd("json+zstd3", 3, as_json, json.loads, b""),
        zstd("json+zstd9", 9, as_json, json.loads, b""),
        zstd("json+zstd19", 19, as_json, json.loads, b""),
        zstd("json+zstd3+dict", 3, as_json, json.loads, dicts["json"]),
        zstd("json+zstd19+dict", 19, as_json, json.loads, dicts["json"]),
        ("msgpack+gzip6", lambda v: gzip.compress(packb(v), 6), lambda d: unpackb(gunzip(d))),
        zstd("msgpack+zstd3", 3, packb, unpackb, b""),
        zstd("msgpack+zstd3+dict", 3, packb, unpackb, dicts["msgpack"]),
    ]


def cpu_seconds(fn: Callable[[Any], Any], arg: Any, runs: int) -> float:
    """Median process time of one call; small calls are repeated to ~20 ms per run."""
    t0 = time.process_time()
    fn(arg)
    once = time.process_time() - t0
    repeat = max(1, int(0.02 / max(once, 1e-6)))
    times = []
    for _ in range(runs if once < 1 else max(3, runs // 2)):
        t0 = time.process_time()
        for _ in range(repeat):
            fn(arg)
        times.append((time.process_time() - t0) / repeat)
    return statistics.median(times)


def measure(bodies: list[Body], dicts: dict[str, bytes], runs: int) -> list[dict[str, Any]]:
    rows = []
    for body in bodies:
        today: dict[str, Any] = {}
        for name, enc, dec in codecs(dicts):
            encoded = [enc(v) for v in body.values]
            assert [dec(e) for e in encoded] == body.values, f"{name} changed {body.name}"
            size = sum(len(e) for e in encoded)
            enc_s = sum(cpu_seconds(enc, v, runs) for v in body.values)
            dec_s = sum(cpu_seconds(dec, e, runs) for e in encoded)
            today = today or {"bytes": size, "cpu": enc_s + dec_s}
            rows.append(
                {
                    "body": body.name,
                    "encoding": name,
                    "bytes": size,
                    "x_today": size / today["bytes"],
                    "encode_ms": enc_s * 1000,
                    "decode_ms": dec_s * 1000,
                    "cpu_x_today": (enc_s + dec_s) / today["cpu"],
                    "s_at_50kbit": size * 8 / LINK_BITS,
                    "s_saved_50kbit": (today["bytes"] - size) * 8 / LINK_BITS,
                }
            )
    return rows


# The summary's columns: the seconds saved by each, against today's encoding of that side.
SUMMARY = {
    "json+gzip9": "gzip9",
    "json+xz6 (stdlib)": "xz6",
    "json+xz6 1MiB (stdlib)": "xz6 1MiB",
    "json+zstd9": "zstd9",
    "json+zstd3": "zstd3",
    "json+zstd19": "zstd19",
    "json+zstd3+dict": "zstd3+dict",
    "msgpack+gzip6": "mp+gzip6",
    "msgpack+zstd3": "mp+zstd3",
}


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per body: today's bytes and seconds at 50 kbit/s, and the seconds others save."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["body"] not in out:
            out[r["body"]] = {
                "body": r["body"],
                "today_bytes": r["bytes"],
                "today_s": r["s_at_50kbit"],
            }
        elif r["encoding"] in SUMMARY:
            out[r["body"]][f"saved_s {SUMMARY[r['encoding']]}"] = r["s_saved_50kbit"]
    return list(out.values())


# -- what a dependency costs --------------------------------------------------------------------
def in_fresh_python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True
    )


PEAK = "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"


def peak_kib(code: str, times: int = 5) -> int:
    return int(
        statistics.median(int(in_fresh_python(f"{code}\n{PEAK}").stdout) for _ in range(times))
    )


def import_ms(module: str, times: int = 5) -> float:
    """Cumulative -X importtime of `module` in a process that has json and gzip already."""
    found = []
    for _ in range(times):
        err = in_fresh_python(f"import json, gzip\nimport {module}", "-X", "importtime").stderr
        last = [m for m in re.finditer(r"\|\s*(\d+)\s*\|\s*(\S+)\s*$", err, re.M)]
        found.append(next(int(m[1]) for m in reversed(last) if m[2] == module) / 1000)
    return statistics.median(found)


def install_costs(wheels: Path | None) -> list[dict[str, Any]]:
    base = peak_kib("import json, gzip")
    rows = []
    for dist, module in (("msgpack", "msgpack"), ("zstandard", "zstandard")):
        files = importlib.metadata.files(dist) or []
        installed = sum(f.size or 0 for f in files)
        wheel = sorted(wheels.glob(f"{dist}-*.whl")) if wheels else []
        rows.append(
            {
                "package": f"{dist} {importlib.metadata.version(dist)}",
                "wheel_bytes": wheel[0].stat().st_size if wheel else 0,
                "installed_bytes": installed,
                "import_ms": import_ms(module),
                "rss_added_kib": peak_kib(f"import json, gzip\nimport {module}") - base,
            }
        )
    return rows


# How each way compresses `data` and decompresses `blob`, as one process would (z: zstandard,
# d: the JSON dictionary), for the peak RSS of each step on its own.
WAYS = {
    TODAY: ("gzip.compress(data, 6)", "zlib.decompress(blob, 31)"),
    "json+gzip9": ("gzip.compress(data, 9)", "zlib.decompress(blob, 31)"),
    "json+xz6 (stdlib)": ("lzma.compress(data)", "lzma.decompress(blob)"),
    "json+xz6 1MiB (stdlib)": ("lzma.compress(data, filters=XZ_1MIB)", "lzma.decompress(blob)"),
    "json+zstd3": (
        "z.ZstdCompressor(level=3).compress(data)",
        "z.ZstdDecompressor().decompress(blob)",
    ),
    "json+zstd9": (
        "z.ZstdCompressor(level=9).compress(data)",
        "z.ZstdDecompressor().decompress(blob)",
    ),
    "json+zstd19": (
        "z.ZstdCompressor(level=19).compress(data)",
        "z.ZstdDecompressor().decompress(blob)",
    ),
    "json+zstd3+dict": (
        "z.ZstdCompressor(level=3, dict_data=d).compress(data)",
        "z.ZstdDecompressor(dict_data=d).decompress(blob)",
    ),
}


def use_costs(bodies: dict[str, bytes], json_dict: bytes, folder: Path) -> list[dict[str, Any]]:
    """Peak RSS added by compressing each body, and by decompressing it, each in a fresh
    process that has the input read and the module imported already."""
    (folder / "dict").write_bytes(json_dict)
    setup = (
        "import gzip, lzma, zlib\nimport zstandard as z\n"
        f"XZ_1MIB = {XZ_1MIB!r}\n"
        f"d = z.ZstdCompressionDict(open({str(folder / 'dict')!r}, 'rb').read())\n"
    )
    rows = []
    for way, (compress, decompress) in WAYS.items():
        row: dict[str, Any] = {"way": way}
        for label, data in bodies.items():
            raw, packed = folder / "raw", folder / "packed"
            raw.write_bytes(data)
            read = setup + f"data = open({str(raw)!r}, 'rb').read()\n"
            in_fresh_python(read + f"open({str(packed)!r}, 'wb').write({compress})")
            unread = setup + f"blob = open({str(packed)!r}, 'rb').read()\n"
            row[f"{label}: compress_kib"] = peak_kib(f"{read}out = {compress}", 3) - peak_kib(
                read, 3
            )
            row[f"{label}: decompress_kib"] = peak_kib(f"{unread}out = {decompress}", 3) - peak_kib(
                unread, 3
            )
        rows.append(row)
    return rows


# -- the run ------------------------------------------------------------------------------------
def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per body and encoding")
    ap.add_argument("--dict-kb", type=int, default=32, help="size of the trained dictionaries")
    ap.add_argument("--wheels", type=Path, help="a folder with the msgpack and zstandard wheels")
    ap.add_argument("--week-jobs", type=int, default=60)
    ap.add_argument("--week-ops", type=int, default=3150)
    ap.add_argument("--prime", type=int, nargs="+", default=[2000, 10_000], help="jobs each")
    ap.add_argument("--train-ops", type=int, default=2000, help="the training week")
    ap.add_argument("--train-prime", type=int, default=1000, help="the training priming")
    ap.add_argument("--quick", action="store_true", help="smaller sizes: about a minute")
    args = ap.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == ap.get_default(key):
                setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    a = parse(argv)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        b = Bench(Path(tmp), a)
        names = ("week", "train_week", *(f"prime{n}" for n in a.prime), "train_prime")
        techs = {n: b.technician(n.replace("_", " ").title()) for n in names}
        b.dispatch(a.week_jobs, techs["week"], techs["train_week"])
        for i, n in enumerate(a.prime):  # a seed draws its own customers: one seed each
            b.server.hq(
                "seed",
                "--jobs",
                str(n),
                "--technician",
                techs[f"prime{n}"]["user"]["id"],
                "--prefix",
                f"P{n}-",
                "--seed",
                str(SEED + i),
            )
        b.server.hq(
            "seed",
            "--jobs",
            str(a.train_prime),
            "--technician",
            techs["train_prime"]["user"]["id"],
            "--prefix",
            "T-",
            "--seed",
            str(TRAIN_SEED),
        )
        b.server.start(b.token)
        try:
            bodies = measured_bodies(b, techs, a)
            training = training_bodies(b, techs, a)
        finally:
            b.server.stop()

        dicts: dict[str, bytes] = {}
        dict_rows = []
        for fmt in ("json", "msgpack"):
            s = samples(training, fmt)
            t0 = time.perf_counter()
            dicts[fmt] = zstandard.train_dictionary(a.dict_kb * 1024, s, threads=1).as_bytes()
            dict_rows.append(
                {
                    "dictionary": fmt,
                    "bytes": len(dicts[fmt]),
                    "trained_on_samples": len(s),
                    "trained_on_bytes": sum(map(len, s)),
                    "train_seconds": time.perf_counter() - t0,
                }
            )
        body_rows = [
            {
                "body": body.name,
                "way": "HQ -> device" if body.answer else "device -> HQ",
                "values": len(body.values),
                "json_bytes": sum(len(as_json(v)) for v in body.values),
                "msgpack_bytes": sum(len(msgpack.packb(v)) for v in body.values),
                "wire_bytes_today": body.wire,
            }
            for body in bodies
        ]
        rows = measure(bodies, dicts, a.runs)

        # What a device compresses most (its week) and what HQ does (a priming answer).
        largest = {"week push": as_json(bodies[0].values[0])}
        priming = next(body for body in bodies if body.name.startswith("priming"))
        largest[f"priming {a.prime[0]:,}"] = as_json(
            max(priming.values, key=lambda v: len(as_json(v)))
        )
        installs = install_costs(a.wheels)
        uses = use_costs(largest, dicts["json"], Path(tmp))

    show(f"the bodies (commit {commit})", body_rows)
    show("trained dictionaries (every device carries the one its encoding uses)", dict_rows)
    show("encodings per body: bytes, CPU (encode + decode), seconds at 50 kbit/s", rows)
    show("seconds each encoding saves at 50 kbit/s, per body (bodies only)", summary(rows))
    show("what each package costs a device", installs)
    show("peak RSS added by one compression or decompression (KiB)", uses)
    meta = {
        "commit": commit,
        "runs": a.runs,
        "dict_kb": a.dict_kb,
        "quick": a.quick,
        **{k: v for k, v in vars(a).items() if k not in ("runs", "dict_kb", "quick", "wheels")},
        "seeds": {"primed": SEED, "training": TRAIN_SEED},
        "status_changes": {"measured": STATUS_CHANGES, "training": TRAIN_STATUS_CHANGES},
        "zstd": ".".join(map(str, zstandard.ZSTD_VERSION)),
        "bodies": body_rows,
        "dictionaries": dict_rows,
        "installs": installs,
        "uses": uses,
        "summary": summary(rows),
    }
    out = write("encoding", rows, meta)
    print(f"written {out}")
    return {"bodies": body_rows, "rows": rows, "installs": installs, "uses": uses}


if __name__ == "__main__":
    main()

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
  priming          every answer to a new device's first sync, for 2,000 and 10,000 jobs;
                   and, derived from it, the same frames with each row only once (HQ's
                   pages repeat rows that earlier pages carried)
  routine answer   the answer to a sync that sends 3 notes and has nothing to pull
  status push      100 jobs set off, as one request
Today a request is gzip'd JSON at level 6 (protocol.encode), and an answer is frames (the
push's outcome, then pages of ~64 KB of JSON) in ONE gzip stream at level 6, flushed at the
end of every frame so each can be read as it arrives (protocol.FrameWriter). Each other
encoding is held to the same: a request compressed whole; an answer one stream flushed per
frame, every frame with its 4-byte length. xz (the standard library's lzma: stronger, no new
package) cannot flush mid-stream from Python, so its answers compress each frame alone.
The dictionaries (one for JSON, one for msgpack: each device would carry the one used) are
trained on bodies of the same kinds from other technicians, other jobs and another demo
seed than those measured. CPU is process time of encoding and of decoding a whole body
(serialising included), median of --runs; compressors are built per body, as one
`fieldtech sync` would. Seconds at 50 kbit/s are the bodies' bytes alone (HTTP heads and
round trips come on top). What each package costs a device: wheel (with --wheels, a folder
of downloaded wheels), installed bytes, import time (-X importtime) and the peak RSS it
adds (VmHWM), median of fresh processes; and the peak RSS that compressing and
decompressing the week push and the first priming answer add (the compression alone).
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

ROOT = Path(__file__).resolve().parents[1]
LINK_BITS = 50_000  # 50 kbit/s
TODAY = "json+gzip6 (today)"
XZ_1MIB = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 1 << 20}]  # xz6, a 1 MiB window
# A training body larger than this is cut into pieces of it: the trainer learns from many
# samples, and what a dictionary can hold is the short strings every body repeats.
SAMPLE_BYTES = 8 * 1024
STATUS_CHANGES, TRAIN_STATUS_CHANGES = 100, 50
SEED, TRAIN_SEED = 7, 11  # demo data: the primed technicians take 7, 8, ...; training 11
QUICK = {"week_jobs": 20, "week_ops": 500, "prime": [300, 1000], "train_ops": 350}
QUICK |= {"train_prime": 300}

Packed = list[list[bytes]]  # a body's values serialised, stream by stream


@dataclass
class Body:
    """What one side sends. A request: one stream of one value, compressed whole. An answer:
    one stream per HTTP answer, of its frames. `wire`: its bytes on the wire today (the
    frames' lengths included, HTTP heads aside)."""

    name: str
    streams: list[list[Any]]
    answer: bool
    wire: int

    @property
    def values(self) -> list[Any]:
        return [v for s in self.streams for v in s]


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
            Exchange(
                protocol.decode(sent, response.request.headers.get("content-encoding")),
                frames,
                len(sent),
                len(response.content),
            )
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
    bodies = [Body(f"week push: {len(outbox):,} ops", [[push]], False, len(protocol.encode(push)))]
    status: list[Body] = []
    for n in a.prime:
        client = device(b, root / f"prime{n}", techs[f"prime{n}"]["enrollment_code"])
        seen = exchanges(client)
        frames = sum(len(x.frames) for x in seen)
        rows = sent([x.frames for x in seen])
        name = f"priming {n:,} jobs: {len(seen)} answer(s), {frames} frames, {rows:,} rows"
        bodies.append(Body(name, [x.frames for x in seen], True, sum(x.down for x in seen)))
        once = once_each([x.frames for x in seen])
        bodies.append(
            Body(f"  the same, each row once (derived): {sent(once):,} rows", once, True, 0)
        )
        if n == a.prime[0]:
            notes(client, 3)
            x = exchanges(client)[0]
            name = f"routine answer to {len(x.request['ops'])} ops: {len(x.frames)} frames"
            bodies.append(Body(name, [x.frames], True, x.down))
            made = set_off(client, STATUS_CHANGES)
            x = exchanges(client)[0]
            status = [Body(f"status push: {made} jobs set off", [[x.request]], False, x.up)]
        client.close()
    return bodies + status


def once_each(streams: list[list[Any]]) -> list[list[Any]]:
    """A priming's frames with every row HQ had already sent in it dropped (by table and key;
    the first copy kept): what a pull that sends each row once would send, in the same
    frames. Derived from the captured answers, for what the encodings gain without repeats."""
    seen: set[tuple[str, Any]] = set()
    out = []
    for frames in streams:
        kept = []
        for f in frames:
            if f.get("changes"):
                changes = {}
                for table, block in f["changes"].items():
                    key = "sku" if table == "parts" else "id"
                    at = block["cols"].index(key) if key in block["cols"] else None
                    rows = [r for r in block["rows"] if at is None or (table, r[at]) not in seen]
                    seen.update((table, r[at]) for r in rows if at is not None)
                    if rows:
                        changes[table] = {"cols": block["cols"], "rows": rows}
                f = {**f, "changes": changes}
            kept.append(f)
        out.append(kept)
    return out


def sent(streams: list[list[Any]]) -> int:
    """Rows in a priming's frames."""
    return sum(len(b["rows"]) for s in streams for f in s for b in f.get("changes", {}).values())


def training_bodies(b: Bench, techs: dict[str, dict[str, Any]], a: argparse.Namespace) -> list:
    """Bodies of the kinds measured, from other technicians, jobs and demo seed."""
    root = b.root
    out: list[Any] = []

    def sync(client: SyncClient) -> None:
        for x in exchanges(client):
            out.extend([x.request, *x.frames])

    code = techs["train_week"]["enrollment_code"]
    client, outbox = week(b, root / "train-week", code, a.train_ops)
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
    """JSON as protocol.encode and FrameWriter write it, before gzip."""
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


Squeeze = Callable[[bytes], bytes]


@dataclass
class Codec:
    """A serialisation and a compression: `whole` for a request, `stream` for a new answer's
    stream (each call compresses one frame and flushes)."""

    name: str
    pack: Callable[[Any], bytes]
    unpack: Callable[[bytes], Any]
    whole: Squeeze
    unwhole: Squeeze
    stream: Callable[[], Squeeze]
    unstream: Callable[[], Squeeze]

    def compress(self, packed: Packed, answer: bool) -> list[bytes]:
        if not answer:
            return [self.whole(packed[0][0])]
        out = []
        for frames in packed:
            put = self.stream()
            out.append(b"".join(_framed(put(f)) for f in frames))
        return out

    def decompress(self, encoded: list[bytes], answer: bool) -> Packed:
        if not answer:
            return [[self.unwhole(encoded[0])]]
        out = []
        for data in encoded:
            take, frames, at = self.unstream(), [], 0
            while at < len(data):
                size = int.from_bytes(data[at : at + 4], "big")
                frames.append(take(data[at + 4 : at + 4 + size]))
                at += 4 + size
            out.append(frames)
        return out

    def encode(self, body: Body) -> list[bytes]:
        return self.compress([[self.pack(v) for v in s] for s in body.streams], body.answer)

    def decode(self, body: Body, encoded: list[bytes]) -> list[list[Any]]:
        return [[self.unpack(v) for v in s] for s in self.decompress(encoded, body.answer)]


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def gzip_codec(name: str, level: int, pack: Callable, unpack: Callable) -> Codec:
    """FrameWriter's stream at `level` (today: 6), and protocol.encode's whole body."""

    def stream() -> Squeeze:
        z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return lambda data: z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)

    def unstream() -> Squeeze:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress

    return Codec(name, pack, unpack, lambda d: gzip.compress(d, level), gunzip, stream, unstream)


def xz_codec(name: str, filters: list[dict[str, Any]] | None) -> Codec:
    """xz: a request whole; each frame of an answer alone (no flush mid-stream in lzma)."""

    def squeeze(data: bytes) -> bytes:
        return lzma.compress(data, filters=filters)

    return Codec(
        name,
        as_json,
        json.loads,
        squeeze,
        lzma.decompress,
        lambda: squeeze,
        lambda: lzma.decompress,
    )


def zstd_codec(name: str, level: int, pack: Callable, unpack: Callable, d: bytes) -> Codec:
    zd = zstandard.ZstdCompressionDict(d) if d else None

    def whole(data: bytes) -> bytes:
        return zstandard.ZstdCompressor(level=level, dict_data=zd).compress(data)

    def unwhole(data: bytes) -> bytes:
        return zstandard.ZstdDecompressor(dict_data=zd).decompress(data)

    def stream() -> Squeeze:
        z = zstandard.ZstdCompressor(level=level, dict_data=zd).compressobj()
        return lambda data: z.compress(data) + z.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)

    def unstream() -> Squeeze:
        return zstandard.ZstdDecompressor(dict_data=zd).decompressobj().decompress

    return Codec(name, pack, unpack, whole, unwhole, stream, unstream)


def codecs(dicts: dict[str, bytes]) -> list[Codec]:
    """Today's encoding first, then the others."""
    mp, unmp, js, unjs = msgpack.packb, msgpack.unpackb, as_json, json.loads
    return [
        gzip_codec(TODAY, 6, js, unjs),
        gzip_codec("json+gzip9", 9, js, unjs),
        xz_codec("json+xz6 (stdlib)", None),
        xz_codec("json+xz6 1MiB (stdlib)", XZ_1MIB),
        zstd_codec("json+zstd3", 3, js, unjs, b""),
        zstd_codec("json+zstd9", 9, js, unjs, b""),
        zstd_codec("json+zstd19", 19, js, unjs, b""),
        zstd_codec("json+zstd3+dict", 3, js, unjs, dicts["json"]),
        zstd_codec("json+zstd19+dict", 19, js, unjs, dicts["json"]),
        gzip_codec("msgpack+gzip6", 6, mp, unmp),
        zstd_codec("msgpack+zstd3", 3, mp, unmp, b""),
        zstd_codec("msgpack+zstd3+dict", 3, mp, unmp, dicts["msgpack"]),
    ]


def cpu_seconds(runs: int, fn: Callable[..., Any], *args: Any) -> float:
    """Median process time of one call; small calls are repeated to ~20 ms per run."""
    t0 = time.process_time()
    fn(*args)
    once = time.process_time() - t0
    repeat = max(1, int(0.02 / max(once, 1e-6)))
    times = []
    for _ in range(runs if once < 1 else max(3, runs // 2)):
        t0 = time.process_time()
        for _ in range(repeat):
            fn(*args)
        times.append((time.process_time() - t0) / repeat)
    return statistics.median(times)


def measure(bodies: list[Body], dicts: dict[str, bytes], runs: int) -> list[dict[str, Any]]:
    rows = []
    for body in bodies:
        today: dict[str, Any] = {}
        for c in codecs(dicts):
            encoded = c.encode(body)
            assert c.decode(body, encoded) == body.streams, f"{c.name} changed {body.name}"
            size = sum(map(len, encoded))
            enc_s = cpu_seconds(runs, c.encode, body)
            dec_s = cpu_seconds(runs, c.decode, body, encoded)
            today = today or {"bytes": size, "cpu": enc_s + dec_s}
            rows.append(
                {
                    "body": body.name,
                    "encoding": c.name,
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


# The summary's columns: the seconds saved by each, against today's encoding.
SUMMARY = {
    "json+gzip9": "gzip9",
    "json+xz6 (stdlib)": "xz6",
    "json+zstd3": "zstd3",
    "json+zstd9": "zstd9",
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
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
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


# One compression or decompression in a fresh process, its input ready: the peak RSS it adds
# (the peak is reset just before, through /proc/self/clear_refs).
STEP = """
import json, sys
from benchmarks import encoding_bench as e
saved = json.load(open({body!r}))
body = e.Body("", saved["streams"], saved["answer"], 0)
dicts = {{k: open({folder!r} + "/" + k, "rb").read() for k in ("json", "msgpack")}}
c = next(c for c in e.codecs(dicts) if c.name == {name!r})
packed = [[c.pack(v) for v in s] for s in body.streams]
encoded = c.compress(packed, body.answer)
status = lambda key: int(open("/proc/self/status").read().split(key + ":")[1].split()[0])
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
out = c.{step}
print(status("VmHWM") - before)
"""


def use_costs(bodies: list[Body], dicts: dict[str, bytes], folder: Path) -> list[dict[str, Any]]:
    for k, d in dicts.items():
        (folder / k).write_bytes(d)
    rows = []
    for c in codecs(dicts):
        row: dict[str, Any] = {"encoding": c.name}
        for n, body in enumerate(bodies):
            saved = folder / f"body{n}.json"
            saved.write_text(json.dumps({"streams": body.streams, "answer": body.answer}))
            for step, call in (
                ("compress", "compress(packed, body.answer)"),
                ("decompress", "decompress(encoded, body.answer)"),
            ):
                code = STEP.format(body=str(saved), folder=str(folder), name=c.name, step=call)
                runs = [int(in_fresh_python(code).stdout) for _ in range(3)]
                row[f"{body.name.split(':')[0]}: {step}_kib"] = int(statistics.median(runs))
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
    ap.add_argument("--quick", action="store_true", help="smaller sizes: about two minutes")
    args = ap.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key) == ap.get_default(key):
                setattr(args, key, value)
    return args


def seed(b: Bench, tech: dict[str, Any], count: int, prefix: str, drawn: int) -> None:
    """`count` demo jobs at HQ for `tech`, drawn from the demo data's seed `drawn`."""
    tech_id = tech["user"]["id"]
    b.server.hq(
        "seed",
        "--jobs",
        str(count),
        "--technician",
        tech_id,
        "--prefix",
        prefix,
        "--seed",
        str(drawn),
    )


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
            seed(b, techs[f"prime{n}"], n, f"P{n}-", SEED + i)
        seed(b, techs["train_prime"], a.train_prime, "T-", TRAIN_SEED)
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
        today = codecs(dicts)[0]
        body_rows = [
            {
                "body": body.name,
                "way": "HQ -> device" if body.answer else "device -> HQ",
                "json_bytes": sum(len(as_json(v)) for v in body.values),
                "msgpack_bytes": sum(len(msgpack.packb(v)) for v in body.values),
                "wire_bytes_today": body.wire or "",
                "modelled_today": sum(map(len, today.encode(body))),
            }
            for body in bodies
        ]
        rows = measure(bodies, dicts, a.runs)
        # What a device compresses most (its week) and HQ most (a priming answer).
        priming = next(body for body in bodies if body.name.startswith("priming"))
        first = Body(priming.name, priming.streams[:1], True, 0)
        installs = install_costs(a.wheels)
        uses = use_costs([bodies[0], first], dicts, Path(tmp))

    show(f"the bodies (commit {commit})", body_rows)
    show("trained dictionaries (every device carries the one its encoding uses)", dict_rows)
    show("encodings per body: bytes, CPU (encode + decode), seconds at 50 kbit/s", rows)
    show("seconds each encoding saves at 50 kbit/s, per body (bodies only)", summary(rows))
    show("what each package costs a device", installs)
    show("peak RSS added by compressing, and by decompressing, one body (KiB)", uses)
    meta = {
        "commit": commit,
        **{k: v for k, v in vars(a).items() if k != "wheels"},
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

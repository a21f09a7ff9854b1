"""The app at scale, as a person or a script meets it: launch, keystrokes, peak memory.

    python -m benchmarks.tui_bench [--jobs 100000] [--runs 21] [--typing-runs 3]

Every figure comes from fresh processes (`benchmarks/session_probe.py`) running the command a
technician runs, `fieldtech --home DIR`, through its installed entry point, on an enrolled
technician's profile whose device file holds the seeded jobs; its credential names an HQ
out of reach, so the sync agent starts and fails to connect, as it does at a remote site.
Each is set against a bare Textual app (`App()`) started the same way in the same run,
pairs interleaved so the machine's drift hits both alike:

- **launch**: from spawning the process to the first frame that shows the queue's rows
  (rendered to terminal bytes), and to the process having exited when asked to at that
  frame: the whole process, exit work included, as a script timing `fieldtech` sees it;
- **keystrokes**: typing six searches three times (132 characters, 120×40), from the first
  frame on, while the sync agent starts; each character from the key event reaching the app
  to the first frame after which the terminal (replayed through a terminal emulator) shows
  the search box and table settled. The first two seconds after the first frame are given
  on their own too. The floor is the queue's widgets in a bare Textual app
  (`benchmarks/floor.py`) typed into the same way;
- **peak memory**: VmHWM of a process that shows its first frame and stays three seconds
  (the sync agent built and its first attempt made), and of the typing sessions; once more
  with the credential naming an address that takes connections and never answers, so the
  device finds "HQ", loads its HTTP stack and holds its first request (what the stack
  weighs when HQ is in reach).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fieldtech
from benchmarks.common import show, write

TYPING_SIZE = "120x40"
STAY = 3.0


def enroll_offline(root: Path) -> None:
    """A technician's profile is enrolled: its credential names HQ (out of reach here)."""
    from fieldtech.sync import credentials

    credentials.save(
        root / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "bench"}
    )


def probe(mode: str, root: Path | None, *flags: str) -> tuple[float, dict[str, Any]]:
    """Run one probe; (seconds from spawning it to its exit, what it wrote)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = [sys.executable, "-m", "benchmarks.session_probe", mode]
        if root:
            args.append(str(root))
        args += ["--out", out.name, *flags]
        t0 = time.monotonic()
        done = subprocess.run(args, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[2:])}: {done.stderr.strip().splitlines()[-1:]}")
        ended = time.monotonic()
        found = json.loads(Path(out.name).read_text())
    found["first_frame"] -= t0
    return ended - t0, found


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[max(0, int(len(xs) * 0.95) - 1)]


def check_screens(root: Path, keystrokes: list[dict[str, Any]]) -> None:
    """Each settled screen shows the search's first job (as the store answers it), or that
    nothing matched: the timed frame is the right one, not merely a quiet one."""
    from fieldtech.store import open_store
    from fieldtech.store.jobs import QueueFilter

    store = open_store(root / "data" / "device.sqlite")
    try:
        for k in keystrokes:
            rows = store.queue(QueueFilter(text=k["typed"].strip(), open_only=True), limit=1)
            want = rows[0]["ref"] if rows else "0 shown"
            if want not in "\n".join(k["screen"]):
                raise RuntimeError(f"{k['typed']!r}: the settled screen does not show {want}")
    finally:
        store.close()


def launches(root: Path, runs: int) -> dict[str, list[tuple[float, float]]]:
    """(first frame, whole process) per run, for each app, interleaved."""
    got: dict[str, list[tuple[float, float]]] = {"bare": [], "floor": [], "queue": []}
    for _ in range(runs):
        for mode in got:
            whole, found = probe(mode, root if mode == "queue" else None)
            got[mode].append((found["first_frame"], whole))
    return got


def typing(root: Path, runs: int) -> dict[str, list[dict[str, Any]]]:
    """Every keystroke of every typing session, per app, interleaved."""
    got: dict[str, list[dict[str, Any]]] = {"floor": [], "queue": []}
    for _ in range(runs):
        for mode in got:
            _, found = probe(
                mode, root if mode == "queue" else None, "--type", "--size", TYPING_SIZE
            )
            for k in found["keystrokes"]:
                k["peak_mib"] = found["peak_mib"]
            got[mode] += found["keystrokes"]
    check_screens(root, got["queue"])
    return got


@contextlib.contextmanager
def hq_address_answering() -> Iterator[str]:
    """An address where connections are taken and never answered: the device finds "HQ"
    there, loads its HTTP stack and waits on its first request for the rest of the stay."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def take() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(server.accept()[0])

    threading.Thread(target=take, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in held:
            conn.close()


def memory(root: Path, runs: int) -> dict[str, list[float]]:
    """The bare app, the enrolled device out of reach of HQ (its days without signal), and
    the same device finding an address that answers (the HTTP stack loaded), interleaved."""
    from fieldtech.sync import credentials

    got: dict[str, list[float]] = {"bare": [], "queue": [], "queue, HQ in reach": []}
    with hq_address_answering() as url:
        for _ in range(runs):
            for mode in got:
                in_reach = mode == "queue, HQ in reach"
                if in_reach:
                    credentials.save(
                        root / "config" / "credential.json", {"hq_url": url, "token": "bench"}
                    )
                try:
                    _, found = probe(
                        mode.split(",")[0], None if mode == "bare" else root, "--stay", str(STAY)
                    )
                finally:
                    if in_reach:
                        enroll_offline(root)
                got[mode].append(found["peak_mib"])
    return got


def seeded_profile(root: Path, jobs: int) -> float:
    from fieldtech.services.seed import seed
    from fieldtech.store import open_store

    t0 = time.perf_counter()
    store = open_store(root / "data" / "device.sqlite")
    seed(store, jobs, now=datetime(2026, 11, 23, 8, tzinfo=UTC))
    store.close()
    enroll_offline(root)
    return time.perf_counter() - t0


def row(measure: str, value: float, unit: str, ratio: float | None) -> dict[str, Any]:
    return {
        "measure": measure,
        "value": value,
        "unit": unit,
        "ratio": "" if ratio is None else f"{ratio:.2f}×",
    }


def table(args: argparse.Namespace, launch: dict, keys: dict, mem: dict) -> list[dict]:
    med = statistics.median

    def first(mode: str) -> float:
        return med(f for f, _ in launch[mode])

    def whole(mode: str) -> float:
        return med(w for _, w in launch[mode])

    q = [k["took"] * 1000 for k in keys["queue"]]
    fl = [k["took"] * 1000 for k in keys["floor"]]
    q2 = [k["took"] * 1000 for k in keys["queue"] if k["after_first_frame"] < 2]
    f2 = [k["took"] * 1000 for k in keys["floor"] if k["after_first_frame"] < 2]
    bare_mem = med(mem["bare"])
    jobs = f"{args.jobs:,} jobs"
    return [
        row("bare Textual app: launch to first frame", first("bare"), "s", 1.0),
        row("  … whole process, exit included", whole("bare"), "s", 1.0),
        row("floor (the queue's widgets): first frame", first("floor"), "s", None),
        row("  … whole process", whole("floor"), "s", whole("floor") / whole("bare")),
        row(f"fieldtech, {jobs}: launch to the queue's rows", first("queue"), "s", None),
        row(
            "  … whole process, exit included (× bare's whole)",
            whole("queue"),
            "s",
            whole("queue") / whole("bare"),
        ),
        row("floor: keystroke shown, p95", p95(fl), "ms", 1.0),
        row("  … in the first 2 s after the first frame, p95", p95(f2), "ms", None),
        row("fieldtech: keystroke → its rows shown, p95", p95(q), "ms", p95(q) / p95(fl)),
        row("  … in the first 2 s after the first frame, p95", p95(q2), "ms", p95(q2) / p95(f2)),
        row("  … median", med(q), "ms", med(q) / med(fl)),
        row("  … worst", max(q), "ms", max(q) / max(fl)),
        row("peak memory, bare Textual app (3 s)", bare_mem, "MiB", 1.0),
        row(
            f"peak memory, fieldtech, {jobs}, HQ out of reach (3 s)",
            med(mem["queue"]),
            "MiB",
            med(mem["queue"]) / bare_mem,
        ),
        row(
            "  … with HQ in reach (its HTTP stack loaded)",
            med(mem["queue, HQ in reach"]),
            "MiB",
            med(mem["queue, HQ in reach"]) / bare_mem,
        ),
        row(
            "peak memory, floor typing session",
            max(k["peak_mib"] for k in keys["floor"]),
            "MiB",
            None,
        ),
        row(
            "peak memory, fieldtech typing session",
            max(k["peak_mib"] for k in keys["queue"]),
            "MiB",
            max(k["peak_mib"] for k in keys["queue"]) / bare_mem,
        ),
    ]


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=21, help="launches of each app")
    ap.add_argument("--typing-runs", type=int, default=3, help="typing sessions of each app")
    ap.add_argument("--memory-runs", type=int, default=3)
    ap.add_argument(
        "--profile", type=Path, help="a profile seeded by an earlier run (kept; for iterating)"
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.profile or Path(tmp)
        if args.profile and (root / "data" / "device.sqlite").exists():
            seeded = 0.0
        else:
            seeded = seeded_profile(root, args.jobs)
        # A technician's install has fieldtech compiled to bytecode (pip compiles on
        # install); an editable install under PYTHONDONTWRITEBYTECODE, as on the CI
        # machines, would otherwise compile every module from source at every start.
        compileall.compile_dir(Path(fieldtech.__file__).parent, quiet=1)
        launch = launches(root, args.runs)
        keys = typing(root, args.typing_runs)
        mem = memory(root, args.memory_runs)
    rows = table(args, launch, keys, mem)
    show(
        f"the app at {args.jobs:,} jobs ({args.runs} launches, {args.typing_runs} typing "
        f"sessions, {args.memory_runs} memory runs of each; profile seeded in {seeded:.0f} s)",
        rows,
    )
    out = write(
        "tui",
        rows,
        {
            "jobs": args.jobs,
            "runs": args.runs,
            "typing_runs": args.typing_runs,
            "keystrokes": len(keys["queue"]),
            "raw": {
                "launch": launch,
                "keystrokes": {
                    m: [(k["after_first_frame"], k["took"]) for k in ks] for m, ks in keys.items()
                },
                "memory": mem,
            },
        },
    )
    print(f"written {out}")
    return rows


if __name__ == "__main__":
    main()

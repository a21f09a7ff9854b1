"""The app at scale: cold start to an interactive queue, filter keystrokes, peak memory.

    python -m benchmarks.tui_bench [--jobs 100000] [--runs 5]

Cold start is measured in fresh processes running the command a technician runs
(`fieldtech`, on an enrolled profile), from launch to the first frame that shows the queue's
rows (Textual's footer fills in its keys a frame or two later, also reported), and given as
a ratio to a bare Textual app started the same way in the same run.

The keystroke figure is measured the way a person sees it: each typed character is sent as
a key event, every frame the app draws is rendered to terminal bytes and replayed through a
terminal emulator (pyte), and the time taken is to the frame after which the screen stops
changing. The settled screen must show the typed text and the search's first job. It is
given as a ratio to the same widgets in a bare Textual app with no data behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import fieldtech
from benchmarks.common import show, write

SIZE = (120, 40)
QUERIES = ("lhasa", "haier", "wang", "J-04567", "no hot water", "shigatse ar")


def enroll_offline(root: Path) -> None:
    """A technician's profile is enrolled: its credential names HQ (out of reach here, and
    the first sync starts only after the first frame)."""
    from fieldtech.sync import credentials

    credentials.save(
        root / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "bench"}
    )


def cold(mode: str, root: Path | None) -> tuple[float, float]:
    """Seconds from launching a fresh process to (a) the first frame showing the screen,
    (b) the first frame with the footer drawn too."""
    args = [sys.executable, "-m", "benchmarks.startup_probe", mode]
    if root:
        args.append(str(root))
    t0 = time.monotonic()
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()
    first, settled = float(out[-2]), float(out[-1])
    return first - t0, settled - t0


def peak_of(mode: str, root: Path | None) -> int:
    """Peak resident memory of one cold start, in MiB.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (large) parent."""
    code = (
        "import runpy,sys;sys.argv=['x',*sys.argv[1:]];"
        "runpy.run_module('benchmarks.startup_probe',run_name='__main__');"
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    args = [sys.executable, "-c", code, mode] + ([str(root)] if root else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout.split()
    return int(out[-1]) // 1024


SETTLE = 0.15  # after a keystroke: long enough for every frame it causes to be drawn
ROUNDS = 3  # the six searches typed this many times: 132 keystrokes


async def type_searches(app, expect=None) -> list[float]:
    """Per typed character: seconds from the key event reaching the app to the frame after
    which the terminal shows no further change (replayed through a terminal emulator).
    `expect(text)` gives a string the settled screen must show for that search."""
    from textual import events
    from textual._wait import wait_for_idle

    from benchmarks.frames import Frames

    frames = Frames(app, *SIZE)
    times: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#filter")
        box.focus()
        await asyncio.sleep(SETTLE)
        for _ in range(ROUNDS):
            for q in QUERIES:
                for i, ch in enumerate(q, 1):
                    await wait_for_idle(0)
                    frames.shown()
                    key = ch if ch.isalnum() else {" ": "space", "-": "minus"}[ch]
                    event = events.Key(key, ch)
                    event.set_sender(app)
                    t0 = time.perf_counter()
                    app._driver.send_message(event)  # as the terminal's input thread does
                    await asyncio.sleep(SETTLE)
                    await wait_for_idle(0)
                    took, screen = frames.settled_at(t0)
                    if q[:i] not in screen.splitlines()[1]:
                        raise RuntimeError(f"the search box does not show {q[:i]!r}")
                    if expect and (want := expect(q[:i])) not in screen:
                        raise RuntimeError(f"{q[:i]!r}: the table does not show {want}")
                    times.append(took)
                box.value = ""
                await pilot.pause()
    return times


async def keystrokes(root: Path) -> tuple[list[float], list[float]]:
    """(a) keystroke to settled screen, (b) the query and table refill alone."""
    from fieldtech.app import build_app
    from fieldtech.paths import Locations
    from fieldtech.store.jobs import QueueFilter

    def new_app():
        where = Locations(root / "data", root / "config", root / "logs", "bench")
        return build_app(where, sync_agent=None)

    app = new_app()

    def first_ref(text: str) -> str:
        rows = app.store.queue(QueueFilter(text=text, open_only=True), limit=1)
        return rows[0]["ref"] if rows else "0 shown"

    full = await type_searches(app, first_ref)
    fill: list[float] = []
    app = new_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        box = screen.query_one("#filter")
        for q in QUERIES:
            for i in range(1, len(q) + 1):
                box.value = q[:i]
                await pilot.pause()
                t0 = time.perf_counter()
                screen.reload()
                fill.append(time.perf_counter() - t0)
    return full, fill


async def floor_keystrokes() -> list[float]:
    """The floor app (`benchmarks/floor.py`): what Textual itself takes to redraw the same
    widgets per keystroke, with no data behind them."""
    from benchmarks.floor import Floor

    return await type_searches(Floor())


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        from fieldtech.services.seed import seed
        from fieldtech.store import open_store

        t0 = time.perf_counter()
        store = open_store(root / "data" / "device.sqlite")
        seed(store, args.jobs, now=datetime(2026, 11, 23, 8, tzinfo=UTC))
        store.close()
        enroll_offline(root)
        seeded = time.perf_counter() - t0
        # A technician's install has fieldtech compiled to bytecode (pip compiles on
        # install); an editable install under PYTHONDONTWRITEBYTECODE, as on the CI
        # machines, would otherwise compile every module from source at every start.
        compileall.compile_dir(Path(fieldtech.__file__).parent, quiet=1)
        bare, floor_cold, floor_whole, ours, whole = [], [], [], [], []
        for _ in range(args.runs):  # interleaved, so drift hits all alike
            bare.append(cold("bare", None)[0])
            floor_first, floor_settled = cold("floor", None)
            floor_cold.append(floor_first)
            floor_whole.append(floor_settled)
            first, settled = cold("queue", root)
            ours.append(first)
            whole.append(settled)
        b, o, w = statistics.median(bare), statistics.median(ours), statistics.median(whole)
        fc, fw = statistics.median(floor_cold), statistics.median(floor_whole)
        full, fill = asyncio.run(keystrokes(root))
        floor = asyncio.run(floor_keystrokes())
        keys = full

        def p95(xs: list[float]) -> float:
            xs = sorted(xs)
            return xs[max(0, int(len(xs) * 0.95) - 1)]

        rows = [
            {
                "measure": "bare Textual app: start to first frame, median",
                "value": b,
                "unit": "s",
                "ratio_to_bare": 1.0,
            },
            {
                "measure": "the queue's widgets in a bare Textual app: first frame, median",
                "value": fc,
                "unit": "s",
                "ratio_to_bare": fc / b,
            },
            {
                "measure": "  … to the first frame with the footer's keys too, median",
                "value": fw,
                "unit": "s",
                "ratio_to_bare": fw / b,
            },
            {
                "measure": f"fieldtech, queue over {args.jobs:,} jobs: first frame, median",
                "value": o,
                "unit": "s",
                "ratio_to_bare": o / b,
            },
            {
                "measure": "  … to the first frame with the footer's keys too, median",
                "value": w,
                "unit": "s",
                "ratio_to_bare": w / b,
            },
            {
                "measure": "same widgets in a bare Textual app, no data: keystroke shown, p95",
                "value": p95(floor) * 1000,
                "unit": "ms",
                "ratio_to_bare": 1.0,
            },
            {
                "measure": "keystroke to the terminal showing its rows, p95",
                "value": p95(full) * 1000,
                "unit": "ms",
                "ratio_to_bare": p95(full) / p95(floor),
            },
            {
                "measure": "keystroke to the terminal showing its rows, median",
                "value": statistics.median(full) * 1000,
                "unit": "ms",
                "ratio_to_bare": statistics.median(full) / statistics.median(floor),
            },
            {
                "measure": "keystroke to the terminal showing its rows, worst",
                "value": max(full) * 1000,
                "unit": "ms",
                "ratio_to_bare": max(full) / max(floor),
            },
            {
                "measure": "keystroke's query and table refill, p95",
                "value": p95(fill) * 1000,
                "unit": "ms",
                "ratio_to_bare": 0.0,
            },
            {
                "measure": "keystroke's query and table refill, median",
                "value": statistics.median(fill) * 1000,
                "unit": "ms",
                "ratio_to_bare": 0.0,
            },
            {
                "measure": "peak memory, bare Textual app",
                "value": float(peak_of("bare", None)),
                "unit": "MiB",
                "ratio_to_bare": 1.0,
            },
        ]
        ours_mem = float(peak_of("queue", root))
        rows.append(
            {
                "measure": f"peak memory, queue over {args.jobs:,} jobs",
                "value": ours_mem,
                "unit": "MiB",
                "ratio_to_bare": ours_mem / rows[-1]["value"],
            }
        )
    show(f"app benchmark ({args.runs} cold starts each; store seeded in {seeded:.0f} s)", rows)
    out = write("tui", rows, {"jobs": args.jobs, "runs": args.runs, "keystrokes": len(keys)})
    print(f"written {out}")
    return rows


if __name__ == "__main__":
    main()

"""The app at scale: cold start to an interactive queue, filter keystrokes, peak memory.

    python -m benchmarks.tui_bench [--jobs 100000] [--runs 5]

Cold start is measured in fresh processes (wall time to the first frame, then exit) and
given as a ratio to a bare Textual app started the same way in the same run. The filter
figure is the time from a keystroke in the search box to the table showing the new rows,
given as a ratio to the same widgets in a bare Textual app with no data behind them.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import show, write

QUERIES = ("lhasa", "haier", "wang", "J-04567", "no hot water", "shigatse ar")


def cold(mode: str, root: Path | None) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    args = [sys.executable, "-m", "benchmarks.startup_probe", mode]
    if root:
        args.append(str(root))
    t0 = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before)  # KiB; maxrss over children is monotonic


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


async def keystrokes(root: Path) -> tuple[list[float], list[float], list[float]]:
    """Per keystroke: (a) the search box changes, the app queries and refills the table and
    the next frame is drawn (Pilot waits until idle); (b) the same wait with nothing to do,
    the measuring overhead; (c) the query and table refill alone."""
    from textual.widgets import Input

    from fieldtech.app import build_app
    from fieldtech.paths import Locations

    app = build_app(
        Locations(root / "data", root / "config", root / "logs", "bench"), sync_agent=None
    )
    full: list[float] = []
    idle: list[float] = []
    fill: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        box = screen.query_one("#filter", Input)
        for q in QUERIES:
            for i in range(1, len(q) + 1):
                t0 = time.perf_counter()
                box.value = q[:i]  # what a typed character does to the box
                await pilot.pause()
                full.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await pilot.pause()
                idle.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                screen.reload()
                fill.append(time.perf_counter() - t0)
            box.value = ""
            await pilot.pause()
    return full, idle, fill


async def floor_keystrokes() -> list[float]:
    """The same search box, table (same columns, ~a screenful of rows) and footer in a bare
    Textual app with no data behind it: what Textual itself takes to redraw per keystroke."""
    from textual.app import App
    from textual.widgets import Footer, Input, Static

    from fieldtech.screens.fast_table import FastTable

    widths = (("priority", 9), ("status", 11), ("job", 10), ("customer", 15), ("place", 9))
    widths += (("SLA", 14), ("summary", 44))

    class Floor(App):
        def compose(self):
            yield Input(id="filter")
            yield Static("", id="filters")
            yield FastTable(id="jobs", cursor_type="row", zebra_stripes=True)
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(FastTable)
            for name, width in widths:
                table.add_column(name, width=width)

        def on_input_changed(self, event: Input.Changed) -> None:
            table = self.query_one(FastTable)
            table.clear()
            for i in range(50):
                table.add_row(*[f"{event.value} {i} {n}" for n, _ in widths], key=str(i))

    times: list[float] = []
    app = Floor()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        box = app.query_one(Input)
        for q in QUERIES:
            for i in range(1, len(q) + 1):
                t0 = time.perf_counter()
                box.value = q[:i]
                await pilot.pause()
                times.append(time.perf_counter() - t0)
    return times


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
        seeded = time.perf_counter() - t0
        bare, ours = [], []
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            bare.append(cold("bare", None)[0])
            ours.append(cold("queue", root)[0])
        b, o = statistics.median(bare), statistics.median(ours)
        full, idle, fill = asyncio.run(keystrokes(root))
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
                "measure": f"queue over {args.jobs:,} jobs: start to first frame, median",
                "value": o,
                "unit": "s",
                "ratio_to_bare": o / b,
            },
            {
                "measure": "same widgets in a bare Textual app, no data: keystroke drawn, p95",
                "value": p95(floor) * 1000,
                "unit": "ms",
                "ratio_to_bare": 1.0,
            },
            {
                "measure": "keystroke to updated table, drawn (Pilot), p95",
                "value": p95(full) * 1000,
                "unit": "ms",
                "ratio_to_bare": p95(full) / p95(floor),
            },
            {
                "measure": "  of which Pilot's own idle wait, p95",
                "value": p95(idle) * 1000,
                "unit": "ms",
                "ratio_to_bare": 0.0,
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

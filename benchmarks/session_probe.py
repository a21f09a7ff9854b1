"""One run of an app in its own process, headless, as a person or a script meets it.

    python -m benchmarks.session_probe MODE [HOME] --out FILE [--type] [--size 80x24]

MODE is `bare` (a bare Textual app), `floor` (the queue's widgets in a bare Textual app:
search box, a line of text, the job table, a status line, footer; `benchmarks/floor.py`) or
`queue` (the installed command, `fieldtech --home HOME`, through its entry point, with
everything it starts: the sync agent is built from the profile's credential after the first
frame, exactly as for a technician).

Every frame the app draws is rendered to the bytes a terminal driver would write, so that
cost counts. At the first frame that shows the screen (for the queue: its rows) the probe
notes the system-wide monotonic clock, which the parent also reads, and then either

- asks the app to exit at once (the parent times the whole process, exit work included),
- with `--stay S`, lets it run S seconds before it exits (what a person's first seconds
  cost in memory, the sync agent's first attempt included), or
- with `--type`, types the searches from that very moment, one character at a time as the
  terminal's input thread delivers them, and for each records how long until the terminal
  showed its result (see `keystroke`); then exits.

FILE receives JSON: the first frame's clock, each keystroke's figures and the process's peak
resident memory (VmHWM) read just before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

QUERIES = ("lhasa", "haier", "wang", "J-04567", "no hot water", "shigatse ar")
ROUNDS = 3  # the six searches typed this many times: 132 keystrokes
# A keystroke's result is on screen once the search box shows it and the search box and
# table have not changed for this long; the next key follows then, about a quick typist's
# pace. Keys go out from the first frame on, while whatever the app starts after it (the
# sync agent) is still starting.
QUIET = 0.1
PACE = 0.15
# Frames are parsed once the app has drawn nothing for QUIET; a screen that keeps drawing
# (a ticking line below the table) is parsed anyway this long after the key.
PARSE_BY = 0.4


class Recorder:
    """Frames drawn, as (perf_counter, terminal bytes), and the moment the screen showed."""

    def __init__(self, shown: Any) -> None:
        self.shown = shown
        self.first: float | None = None  # time.monotonic() at the first frame that showed
        self.frames: list[tuple[float, str]] = []
        self.on_first: Any = None

    def install(self, size: tuple[int, int]) -> None:
        from textual.app import App

        display = App._display
        run = App.run
        recorder = self

        def record(app: Any, screen: Any, renderable: Any) -> None:
            if renderable is not None:
                sequence = renderable.render_segments(app.console)
                recorder.frames.append((time.perf_counter(), sequence))
                if recorder.first is None and recorder.shown(screen):
                    recorder.first = time.monotonic()
                    recorder.on_first(app)
            display(app, screen, renderable)

        def headless(app: Any, *args: Any, **kwargs: Any) -> Any:
            return run(app, headless=True, size=size)

        App._display = record  # on the class: the command builds its own app
        App.run = headless


def queue_shown(screen: Any) -> bool:
    # By name: importing the screen here would move its import out of the timed path.
    return type(screen).__name__ == "QueueScreen" and screen.query_one("#jobs").row_count > 0


def searched(view: list[str]) -> str:
    """What the search box shows, from the terminal's second line (the box's border is
    the first); its placeholder is not a search."""
    text = view[1].lstrip("▊ ").rstrip("▎ ")
    return "" if text.startswith("Search:") else text


class Typist:
    """Types the searches into a running app and times what the terminal shows."""

    def __init__(
        self, app: Any, recorder: Recorder, size: tuple[int, int], rounds: int = ROUNDS
    ) -> None:
        import pyte

        self.rounds = rounds
        self.app = app
        self.recorder = recorder
        self.width, self.height = size
        self.terminal = pyte.Screen(*size)
        self.stream = pyte.Stream(self.terminal)
        self.keystrokes: list[dict[str, Any]] = []
        self.error: BaseException | None = None

    def replay(self) -> list[tuple[float, list[str]]]:
        """Frames drawn since the last call, as (time drawn, the terminal's lines)."""
        out = []
        for at, sequence in self.recorder.frames:
            self.stream.feed(sequence)
            out.append((at, list(self.terminal.display)))
        self.recorder.frames.clear()
        return out

    def quiet_for(self, seconds: float, since: float) -> bool:
        """No frame drawn in the last `seconds`, and at least one since `since`. Checking
        is cheap; replaying frames through the emulator is not (5-10 ms a frame), and it
        runs on the app's own loop, where a terminal's parsing (another process) never
        does: it would hold up the very frames being timed."""
        frames = self.recorder.frames
        return (
            bool(frames)
            and frames[-1][0] >= since
            and (time.perf_counter() - frames[-1][0] >= seconds)
        )

    async def run(self) -> None:
        started = self.recorder.first
        await asyncio.sleep(0)  # the first frame's own turn of the loop ends first
        # A person presses `/` first; what is timed is each character of the search.
        await self.keystroke("/", started, timed=False)
        try:
            for _ in range(self.rounds):
                for query in QUERIES:
                    for i in range(1, len(query) + 1):
                        await self.keystroke(query[:i], started)
                    self.app.screen.query_one("#filter").value = ""
                    await asyncio.sleep(PACE)
                    self.replay()
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.app.exit()

    async def keystroke(self, typed: str, started: float | None, timed: bool = True) -> None:
        """Send the last character of `typed`; the time is from the key event reaching the
        app to the first frame after which the search box and the table no longer change
        (the status line and footer below them may: the link's state is not the key's).
        A frame a terminal shows under the settled one is the one that counts."""
        from textual import events

        ch = typed[-1]
        key = ch if ch.isalnum() else {" ": "space", "-": "minus", "/": "slash"}[ch]
        shows = "" if not timed else typed
        event = events.Key(key, ch)
        event.set_sender(self.app)
        at = time.monotonic()
        t0 = time.perf_counter()
        self.app._driver.send_message(event)  # as the terminal's input thread does
        view: list[str] | None = None
        changed = t0
        while True:
            await asyncio.sleep(0.01)
            if not self.quiet_for(QUIET, since=t0) and time.perf_counter() - t0 < PARSE_BY:
                continue  # frames are still coming: parse them once the app is quiet
            for drawn, lines in self.replay():
                if lines[: self.height - 2] != view:
                    view, changed = lines[: self.height - 2], drawn
            now = time.perf_counter()
            # (a trailing space cannot be told from the cursor after it)
            if view is not None and searched(view) == shows.rstrip() and now - changed >= QUIET:
                break
            if now - t0 > 5:
                shown = searched(view) if view else None
                raise RuntimeError(f"{typed!r}: the search box never showed it ({shown!r})")
        if not timed:
            return
        self.keystrokes.append(
            {
                "typed": typed,
                "after_first_frame": at - (started or at),
                "took": changed - t0,
                "screen": view,
            }
        )


def start(mode: str, home: str | None) -> None:
    if mode == "bare":
        from textual.app import App

        App().run()
    elif mode == "floor":
        from benchmarks.floor import Floor

        Floor().run()
    else:
        from fieldtech.launch import main as fieldtech  # the installed command's entry point

        sys.argv = ["fieldtech", "--home", str(home)]
        try:
            fieldtech()
        except SystemExit as exc:
            if exc.code:
                raise


def peak_mib() -> float:
    """VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (large) parent."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("bare", "floor", "queue"))
    ap.add_argument("home", nargs="?")
    ap.add_argument("--out", required=True)
    ap.add_argument("--type", action="store_true")
    ap.add_argument("--rounds", type=int, default=ROUNDS, help="times the searches are typed")
    ap.add_argument("--size", default="80x24")
    ap.add_argument("--stay", type=float, default=0.0, help="exit this long after the first frame")
    args = ap.parse_args()
    from textual._context import active_app

    size = tuple(int(n) for n in args.size.split("x"))
    if args.mode == "queue":
        # The command turns the collector off before it imports anything (fieldtech.launch);
        # the patching below imports Textual first, so do the same here first.
        gc.disable()
    shown = queue_shown if args.mode == "queue" else (lambda screen: True)
    recorder = Recorder(shown)
    typists: list[Typist] = []

    def on_first(app: Any) -> None:
        if args.stay:
            app.set_timer(args.stay, app.exit)
            return
        if not args.type:
            app.exit()
            return
        typist = Typist(app, recorder, size, args.rounds)  # type: ignore[arg-type]
        typists.append(typist)
        # In a context of its own: this frame may be drawn while the app prevents some
        # messages (Textual keeps that in a context variable), and key events must not be.
        context = contextvars.Context()
        context.run(active_app.set, app)
        asyncio.get_running_loop().create_task(typist.run(), context=context)

    recorder.on_first = on_first
    recorder.install(size)  # type: ignore[arg-type]
    start(args.mode, args.home)
    if typists and typists[0].error is not None:
        raise SystemExit(f"typing failed: {typists[0].error}")
    Path(args.out).write_text(
        json.dumps(
            {
                "first_frame": recorder.first,
                "keystrokes": typists[0].keystrokes if typists else [],
                "peak_mib": peak_mib(),
            }
        )
    )


if __name__ == "__main__":
    main()

"""One cold start, in its own process: `bare` (a bare Textual app) or `queue` (fieldtech's
queue over a given device file), headless at 80×24.

Prints the clock (time.monotonic, the system-wide clock the parent also reads) at two
moments: the first frame that shows the screen (for the queue: its rows), and the first
frame drawn once the footer holds its keys (a bare app has no footer: the same moment).
Each frame is rendered to the bytes a terminal driver would write, so that cost counts.
"""

from __future__ import annotations

import sys
import time

SIZE = (80, 24)


def watch_frames(app, shown, settled) -> None:
    """Call `app.exit` once `settled()` holds at a drawn frame; note when `shown()` first
    held at one."""
    marks: list[float] = []
    display = app._display

    def record(screen, renderable) -> None:
        if renderable is not None:
            renderable.render_segments(app.console)
            if not marks and shown():
                marks.append(time.monotonic())
            if marks and settled():
                print(f"{marks[0]:.6f} {time.monotonic():.6f}", flush=True)
                app.exit()
        display(screen, renderable)

    app._display = record


def main() -> None:
    mode = sys.argv[1]
    if mode == "bare":
        from textual.app import App

        app = App()
        watch_frames(app, lambda: True, lambda: True)
        app.run(headless=True, size=SIZE)
        return
    from pathlib import Path

    from fieldtech.app import build_app
    from fieldtech.paths import Locations
    from fieldtech.screens.queue import QueueScreen

    root = Path(sys.argv[2])
    app = build_app(
        Locations(root / "data", root / "config", root / "logs", "bench"), sync_agent=None
    )

    def shown() -> bool:
        screen = app.screen
        return isinstance(screen, QueueScreen) and screen.query_one("#jobs").row_count > 0

    def settled() -> bool:
        return shown() and bool(app.screen.query("FooterKey"))

    watch_frames(app, shown, settled)
    app.run(headless=True, size=SIZE)


if __name__ == "__main__":
    main()

"""One cold start, in its own process, headless at 80×24: `bare` (a bare Textual app),
`floor` (the queue's widgets in a bare Textual app: search box, two lines of text, the job
table with a screenful of short rows, footer; no fieldtech beyond the table) or `queue`
(the installed command, `fieldtech --home DIR`, on an enrolled technician's profile whose
device file holds the seeded jobs).

Prints the clock (time.monotonic, the system-wide clock the parent also reads) at two
moments: the first frame that shows the screen (for the queue: its rows), and the first
frame drawn once the footer holds its keys (a bare app has no footer: the same moment).
Each frame is rendered to the bytes a terminal driver would write, so that cost counts.
"""

from __future__ import annotations

import gc
import sys
import time

SIZE = (80, 24)


def watch_frames(shown, settled) -> None:
    """Exit once `settled(screen)` holds at a drawn frame; note when `shown(screen)` first
    held at one. Patched on the class: the command builds its own app."""
    from textual.app import App

    marks: list[float] = []
    display = App._display
    run = App.run

    def record(app, screen, renderable) -> None:
        if renderable is not None:
            renderable.render_segments(app.console)
            if not marks and shown(screen):
                marks.append(time.monotonic())
            if marks and settled(screen):
                print(f"{marks[0]:.6f} {time.monotonic():.6f}", flush=True)
                app.exit()
        display(app, screen, renderable)

    def headless(app, *args, **kwargs):
        return run(app, headless=True, size=SIZE)

    App._display = record
    App.run = headless


def queue_shown(screen) -> bool:
    # By name: importing the screen here would move its import out of the timed path.
    return type(screen).__name__ == "QueueScreen" and screen.query_one("#jobs").row_count > 0


def main() -> None:
    mode = sys.argv[1]
    if mode == "bare":
        watch_frames(lambda screen: True, lambda screen: True)
        from textual.app import App

        App().run()
        return
    if mode == "floor":
        watch_frames(lambda screen: True, lambda screen: bool(screen.query("FooterKey")))
        from benchmarks.floor import Floor

        Floor().run()
        return
    # The command turns the collector off before it imports anything (fieldtech.launch);
    # the patching below imports Textual first, so do the same here first.
    gc.disable()
    watch_frames(queue_shown, lambda screen: queue_shown(screen) and screen.query("FooterKey"))
    from fieldtech.launch import main as fieldtech  # the installed command's entry point

    sys.argv = ["fieldtech", "--home", sys.argv[2]]
    try:
        fieldtech()
    except SystemExit as exc:
        if exc.code:
            raise


if __name__ == "__main__":
    main()

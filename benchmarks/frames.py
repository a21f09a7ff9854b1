"""What a terminal would show, frame by frame, for an app running headless.

Each frame the app draws is rendered to the bytes its terminal driver would write and kept
with the time it was made; `shown()` replays them through a VT100 emulator (pyte), so a
measurement can ask when the screen first looked the way it finally settled.
"""

from __future__ import annotations

import time

import pyte


class Frames:
    def __init__(self, app, width: int, height: int) -> None:
        self.app = app
        self.pending: list[tuple[float, str]] = []
        self.screen = pyte.Screen(width, height)
        self.stream = pyte.Stream(self.screen)
        display = app._display

        def record(screen, renderable) -> None:
            if renderable is not None and not app._batch_count:
                # The bytes the driver would write, so their cost is in the time.
                self.pending.append((time.perf_counter(), renderable.render_segments(app.console)))
            display(screen, renderable)

        app._display = record

    def shown(self) -> list[tuple[float, str]]:
        """(time drawn, whole screen as text) for each frame since the last call."""
        out = []
        for at, sequence in self.pending:
            self.stream.feed(sequence)
            out.append((at, "\n".join(self.screen.display)))
        self.pending.clear()
        return out

    def settled_at(self, since: float) -> tuple[float, str]:
        """Seconds from `since` to the first frame after which the screen no longer
        changed, and that final screen."""
        shown = self.shown()
        if not shown:
            raise RuntimeError("nothing was drawn")
        final = shown[-1][1]
        first = len(shown) - 1
        while first > 0 and shown[first - 1][1] == final:
            first -= 1
        return shown[first][0] - since, final

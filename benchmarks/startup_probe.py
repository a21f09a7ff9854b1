"""One cold start, in its own process: `bare` (a bare Textual app) or `queue` (fieldtech's
queue over a given device file). Exits as soon as the first screen is up; prints seconds."""

from __future__ import annotations

import sys
import time

T0 = time.perf_counter()


def main() -> None:
    mode = sys.argv[1]
    if mode == "bare":
        from textual.app import App

        class Bare(App):
            def on_mount(self) -> None:
                self.call_after_refresh(self.exit)

        Bare().run(headless=True)
    else:
        from pathlib import Path

        from fieldtech.app import build_app
        from fieldtech.paths import Locations
        from fieldtech.screens.queue import QueueScreen

        root = Path(sys.argv[2])
        app = build_app(
            Locations(root / "data", root / "config", root / "logs", "bench"), sync_agent=None
        )

        def ready() -> None:
            if isinstance(app.screen, QueueScreen) and app.screen.query("DataTable"):
                app.call_after_refresh(app.exit)
            else:
                app.set_timer(0.005, ready)

        app.call_later(ready)
        app.run(headless=True)
    print(f"{time.perf_counter() - T0:.4f}")


if __name__ == "__main__":
    main()

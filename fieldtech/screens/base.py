"""What every screen of the app shares: coming back to it shows fresh data."""

from __future__ import annotations

from textual.screen import Screen


class FieldScreen(Screen):
    _shown = False

    def refresh_data(self) -> None:  # overridden by screens that show data
        pass

    def on_screen_resume(self) -> None:
        if self._shown:  # the first showing follows on_mount, which has just loaded
            self.refresh_data()
        self._shown = True
        self.app.update_status()

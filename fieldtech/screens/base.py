"""What every screen of the app shares: coming back to it shows fresh data."""

from __future__ import annotations

from textual.screen import Screen


class FieldScreen(Screen):
    def refresh_data(self) -> None:  # overridden by screens that show data
        pass

    def on_screen_resume(self) -> None:
        self.refresh_data()
        self.app.update_status()

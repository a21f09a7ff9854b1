"""What every screen of the app shares: coming back to it shows fresh data, and a typed app.

Textual types `self.app` as `App[Any]`; every fieldtech screen runs inside `FieldtechApp`, so
the base says so to the type checker (only: at run time the property is Textual's own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.screen import Screen

if TYPE_CHECKING:
    from textual import getters

    from fieldtech.app import FieldtechApp

ResultT = TypeVar("ResultT")


class FieldScreen(Screen[ResultT]):
    _shown = False

    if TYPE_CHECKING:  # Textual's own way to type the app (textual.getters.app)
        app = getters.app(FieldtechApp)

    def refresh_data(self) -> None:  # overridden by screens that show data
        pass

    def on_screen_resume(self) -> None:
        if self._shown:  # the first showing follows on_mount, which has just loaded
            self.refresh_data()
        self._shown = True
        self.app.update_status()

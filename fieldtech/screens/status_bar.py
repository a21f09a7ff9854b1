"""Always visible: link state, pending changes, age of the last sync, conflicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from rich.text import Text
from textual.widgets import Static

from fieldtech.domain.jobs import age_words
from fieldtech.screens.link_state import LinkState

__all__ = ["StatusBar", "age_words"]


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    _again: Callable[[], None] | None = None  # the last show, for a new width

    def show(
        self,
        *,
        link: LinkState,
        pending: int,
        rejected: int,
        last_ok: str | None,
        conflicts: int,
        now: datetime,
        not_ready: int | None = None,
    ) -> None:
        self._again = partial(
            self.show,
            link=link,
            pending=pending,
            rejected=rejected,
            last_ok=last_ok,
            conflicts=conflicts,
            now=now,
            not_ready=not_ready,
        )
        counts: list[Text] = [Text(f"{pending} waiting to send")]
        if rejected:
            counts.append(Text(f"{rejected} refused by HQ", style="red"))
        if conflicts:
            counts.append(Text(f"{conflicts} conflict(s)", style="yellow"))
        else:
            counts.append(Text("0 conflicts"))
        failing = link.failing_since is not None and not (link.syncing or link.switched_off)
        # Out of reach with the next days' jobs lacking something here (the sync screen,
        # F2, says what): worth knowing before driving on.
        ready = (
            [Text(f"not ready to leave: {not_ready} missing (F2)", style="yellow")]
            if failing and not_ready
            else []
        )
        # The line must fit: a failure's reason goes first, then the last sync's age (the
        # sync screen, F2, has both); the link's state, the readiness and the counts show.
        width = self.content_size.width
        tries = ((False, True, True), (True, True, True), (True, False, True), (True, False, False))
        for brief, age, with_ready in tries:
            text, style = link.words(last_ok=last_ok, now=now, brief=brief)
            parts = [Text(text, style=style)]
            if age and failing:
                parts.append(Text(f"last sync {age_words(last_ok, now)}"))
            line = Text(" · ").join(parts + (ready if with_ready else []) + counts)
            if not width or line.cell_len <= width:
                break
        self.update(line, layout=False)  # one line of fixed height: nothing moves

    def on_resize(self) -> None:
        if self._again is not None:
            self._again()

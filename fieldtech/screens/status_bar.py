"""Always visible: link state, pending changes, age of the last sync, conflicts."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from fieldtech.domain.jobs import age_words
from fieldtech.screens.link_state import LinkState

__all__ = ["StatusBar", "age_words"]


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(
        self,
        *,
        link: LinkState,
        pending: int,
        rejected: int,
        last_ok: str | None,
        conflicts: int,
        now: datetime,
    ) -> None:
        text, style = link.words(last_ok=last_ok, now=now)
        parts: list[Text] = [Text(text, style=style), Text(f"{pending} waiting to send")]
        if rejected:
            parts.append(Text(f"{rejected} refused by HQ", style="red"))
        if conflicts:
            parts.append(Text(f"{conflicts} conflict(s)", style="yellow"))
        else:
            parts.append(Text("0 conflicts"))
        self.update(Text(" · ").join(parts))

"""Always visible: link state, pending changes, age of the last sync, conflicts."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from fieldtech.domain.jobs import age_words


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(
        self,
        *,
        online: bool | None,
        pending: int,
        rejected: int,
        last_ok: str | None,
        conflicts: int,
        now: datetime,
        syncing: bool = False,
    ) -> None:
        if online is None:
            link = "[b]not enrolled[/b]"
        elif syncing:
            link = "[b]syncing…[/b]"
        else:
            link = "[b green]online[/]" if online else "[b red]offline[/]"
        parts = [link, f"{pending} waiting to send", f"last sync {age_words(last_ok, now)}"]
        if rejected:
            parts.append(f"[red]{rejected} refused by HQ[/red]")
        parts.append(f"[yellow]{conflicts} conflict(s)[/yellow]" if conflicts else "0 conflicts")
        self.update(" · ".join(parts))

"""What the app knows of its link to HQ, in the words the status bar shows.

Kept apart from the widget so the words can be checked without a terminal: the bar must
say what is true now (not enrolled, switched off, syncing, synced N ago, HQ unreachable
since when and why, HQ refusing), and its ages tick as time passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from fieldtech.domain.jobs import age_words
from fieldtech.domain.text import plain
from fieldtech.domain.timefmt import local_time

REASON_WIDTH = 32  # the reason shares one 80-column line with the counts


@dataclass
class LinkState:
    enrolled: bool = False
    switched_off: bool = False  # the demo's F5: the signal is gone on purpose
    syncing: bool = False
    failing_since: datetime | None = None  # first failed attempt of the current run
    failure: str | None = None
    unreachable: bool = False  # the failure was the link, not HQ refusing

    def failed(self, error: str, *, unreachable: bool, at: datetime) -> None:
        if self.failing_since is None or self.unreachable != unreachable:
            self.failing_since = at
        self.failure, self.unreachable = error, unreachable

    def succeeded(self) -> None:
        self.failing_since, self.failure, self.unreachable = None, None, False

    def words(
        self,
        *,
        last_ok: str | None,
        now: datetime,
        tz: tzinfo | None = None,
        brief: bool = False,
    ) -> tuple[str, str]:
        """(text, style) of the link's part of the bar; `brief`: without a failure's
        reason, for a bar too narrow for it (the sync screen, F2, gives it whole)."""
        if not self.enrolled:
            return "not enrolled: fieldtech enroll URL CODE", "bold"
        if self.switched_off:
            return f"offline (F5) · last sync {age_words(last_ok, now)}", "bold red"
        if self.syncing:
            return "syncing…", "bold"
        if self.failing_since is not None:
            since = _since(self.failing_since, now, tz)
            reason = _short(self.failure or "")
            if self.unreachable:
                why = "" if brief else f" ({reason})"
                return f"HQ unreachable since {since}{why}", "bold red"
            return f"sync failed since {since}" + ("" if brief else f": {reason}"), "bold red"
        if last_ok is None:
            return "online · not synced yet", "bold"
        return f"synced {age_words(last_ok, now)}", "bold green"


def _since(moment: datetime, now: datetime, tz: tzinfo | None) -> str:
    same_day = moment.astimezone(tz).date() == now.astimezone(tz).date()
    return local_time(moment, tz=tz, date=not same_day)


def _short(reason: str) -> str:
    """The cause in a few words ('Connection refused', 'no answer in time'): the whole
    sentence, with the URL and the advice, is on the sync screen (F2)."""
    text = plain(reason).split(";")[0].strip()
    if "did not answer in time" in text:
        text = "no answer in time"
    elif "answer was cut off" in text:
        text = "answer cut off"
    elif "(" in text and not text.startswith("HQ had a problem"):
        text = _inside_brackets(text)
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text if len(text) <= REASON_WIDTH else text[: REASON_WIDTH - 1] + "…"


def _inside_brackets(text: str) -> str:
    """What the first (…) holds, nested brackets and all: 'at URL (no signal (off))' →
    'no signal (off)'."""
    start = text.index("(")
    depth = 0
    for i, ch in enumerate(text[start:], start):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return text[start + 1 : i].strip() or text
    return text[start + 1 :].strip() or text

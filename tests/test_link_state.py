"""The status bar's words for the link, from its state: what is true now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fieldtech.screens.link_state import LinkState


def test_link_words_follow_the_state():
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    s = LinkState()
    assert s.words(last_ok=None, now=now)[0].startswith("not enrolled")
    s.enrolled = True
    assert s.words(last_ok=None, now=now)[0] == "online · not synced yet"
    assert s.words(last_ok="2026-12-01T09:57:00Z", now=now)[0] == "synced 3 min ago"
    s.failed("HQ cannot be reached at http://x (refused); work is safe", unreachable=True, at=now)
    later = now + timedelta(minutes=5)
    s.failed("HQ cannot be reached again", unreachable=True, at=later)
    text = s.words(last_ok="2026-12-01T09:57:00Z", now=later, tz=UTC)[0]
    assert text == "HQ unreachable since 10:00 UTC (HQ cannot be reached again)"
    s.failed("HQ refused the sync: bad token", unreachable=False, at=later)
    assert s.words(last_ok=None, now=later, tz=UTC)[0].startswith("sync failed since 10:05 UTC")
    s.succeeded()
    assert s.words(last_ok="2026-12-01T10:05:00Z", now=later, tz=UTC)[0] == "synced just now"

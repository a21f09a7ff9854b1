"""Times as a person reads them: stored in UTC, shown in the device's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def parse_utc(iso: str) -> datetime:
    """A stored ISO 8601 time (UTC, `Z` or an offset; naive means UTC)."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_time(
    iso: str | datetime | None, *, tz: tzinfo | None = None, zone: bool = True, date: bool = True
) -> str:
    """'2026-12-01 15:04 CET': the stored UTC time in the device's zone (or `tz`), with the
    zone's name so nobody has to guess. Empty for no time; the raw text if it is no time."""
    if iso is None or iso == "":
        return ""
    try:
        moment = iso if isinstance(iso, datetime) else parse_utc(iso)
    except ValueError:
        return str(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(tz)  # tz None: the device's local zone
    text = shown.strftime("%Y-%m-%d %H:%M" if date else "%H:%M")
    if zone:
        text += " " + zone_name(shown)
    return text


def zone_name(moment: datetime) -> str:
    """The zone's abbreviation where it has one (CET, UTC), else its offset (+0545)."""
    name = moment.tzname() or ""
    if not name or name[0] in "+-" or name.startswith("UTC+") or name.startswith("UTC-"):
        return moment.strftime("%z") or "UTC"
    return name

"""Who a device belongs to: a technician works their own jobs; a supervisor or an admin
manages a team (decides requests, reassigns, acknowledges escalations)."""

from __future__ import annotations

MANAGING_ROLES = ("supervisor", "admin")


def manages_a_team(role: str | None) -> bool:
    return role in MANAGING_ROLES

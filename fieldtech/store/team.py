"""The team picture a supervisor's device computes from the last pulled state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

OPEN = "('assigned','en_route','on_site','in_progress','on_hold')"


class TeamRows:
    db: sqlite_utils.Database

    def team_status(self, now_iso: str, *, technician: str | None = None) -> list[dict[str, Any]]:
        today = now_iso[:10]
        sql = f"""
        SELECT technician_id AS technician,
          sum(status IN {OPEN}) AS open,
          sum(status IN ('on_site', 'in_progress')) AS in_progress,
          sum(status = 'on_hold' AND lower(coalesce(hold_reason, '')) LIKE '%part%')
            AS on_hold_for_parts,
          sum(status = 'completed' AND substr(closed_at, 1, 10) = ?) AS completed_today,
          sum(status IN {OPEN} AND sla_due < ?) AS overdue,
          sum(status IN {OPEN} AND escalation_level > 0) AS escalated,
          round(avg(CASE WHEN status = 'completed' THEN rating END), 2) AS avg_rating
        FROM jobs WHERE technician_id IS NOT NULL {"AND technician_id = ?" if technician else ""}
        GROUP BY technician_id ORDER BY technician_id
        """
        params: list = [today, now_iso] + ([technician] if technician else [])
        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

"""The team picture a supervisor's device computes from the last pulled state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from fieldtech.store.database import Database
    from fieldtech.store.rows import (
        CallbackRow,
        EscalatedJob,
        RosterRow,
        TeamRequest,
        TeamStatusRow,
    )

OPEN = "('assigned','en_route','on_site','in_progress','on_hold')"
CALLBACK_SCORE = "(cb.skill + cb.attitude + cb.adherence) / 3.0"


class TeamRows:
    db: Database

    def _rows(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cur = self.db.execute(sql, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def team_status(
        self, now_iso: str, *, technician: str | None = None, status: str | None = None
    ) -> list[TeamStatusRow]:
        """Per technician (everyone on the roster, and anyone holding a job): open, in
        progress, on hold for parts, completed today, overdue, escalated, average customer
        rating and average call-back score."""
        today = now_iso[:10]
        where, params = [], [today, now_iso]
        if technician:
            where.append("(t.id = ? OR lower(u.name) = lower(?))")
            params += [technician, technician]
        if status:
            where.append(
                "EXISTS (SELECT 1 FROM jobs s WHERE s.technician_id = t.id AND s.status = ?)"
            )
            params.append(status)
        sql = f"""
        WITH t(id) AS (
            SELECT id FROM users WHERE role = 'technician' AND active
            UNION SELECT technician_id FROM jobs WHERE technician_id IS NOT NULL
        ),
        j AS (
          SELECT technician_id AS id,
            sum(status IN {OPEN}) AS open,
            sum(status IN ('on_site', 'in_progress')) AS in_progress,
            sum(status = 'on_hold' AND hold_for = 'parts') AS on_hold_for_parts,
            sum(status = 'completed' AND substr(closed_at, 1, 10) = ?) AS completed_today,
            sum(status IN {OPEN} AND sla_due < ?) AS overdue,
            sum(status IN {OPEN} AND escalation_level > 0) AS escalated,
            round(avg(CASE WHEN status = 'completed' THEN rating END), 2) AS avg_rating
          FROM jobs WHERE technician_id IS NOT NULL GROUP BY technician_id
        ),
        c AS (
          SELECT cb.technician_id AS id, round(avg({CALLBACK_SCORE}), 2) AS avg_callback,
                 count(*) AS callbacks
          FROM callbacks cb GROUP BY cb.technician_id
        )
        SELECT t.id AS technician, coalesce(u.name, t.id) AS name,
          coalesce(j.open, 0) AS open, coalesce(j.in_progress, 0) AS in_progress,
          coalesce(j.on_hold_for_parts, 0) AS on_hold_for_parts,
          coalesce(j.completed_today, 0) AS completed_today,
          coalesce(j.overdue, 0) AS overdue, coalesce(j.escalated, 0) AS escalated,
          j.avg_rating, c.avg_callback, coalesce(c.callbacks, 0) AS callbacks
        FROM t LEFT JOIN users u ON u.id = t.id LEFT JOIN j ON j.id = t.id
        LEFT JOIN c ON c.id = t.id
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY name
        """
        return cast("list[TeamStatusRow]", self._rows(sql, params))

    def roster(self) -> list[RosterRow]:
        """The technicians a job can go to: this device's team as HQ last sent it."""
        rows = self._rows(
            "SELECT id, name, team FROM users WHERE role = 'technician' AND active ORDER BY name"
        )
        return cast("list[RosterRow]", rows)

    def person(self, user_id: str | None) -> str:
        if not user_id:
            return "nobody"
        row = self.db.execute("SELECT name FROM users WHERE id = ?", [user_id]).fetchone()
        return row[0] if row else user_id

    def team_requests(self, status: str | None = "submitted") -> list[TeamRequest]:
        """Part requests of the team, oldest first: what waits for a supervisor's decision."""
        sql = (
            "SELECT r.*, p.name AS part, coalesce(u.name, r.technician_id) AS technician, "
            "j.ref AS job_ref FROM part_requests r JOIN parts p ON p.sku = r.sku "
            "LEFT JOIN users u ON u.id = r.technician_id LEFT JOIN jobs j ON j.id = r.job_id"
        )
        params: list[Any] = []
        if status:
            sql += " WHERE r.status = ?"
            params.append(status)
        return cast("list[TeamRequest]", self._rows(sql + " ORDER BY r.created_at, r.id", params))

    def escalations(self, *, unacknowledged_only: bool = False) -> list[EscalatedJob]:
        """Open escalated jobs, highest level first; whether each level was acknowledged."""
        sql = (
            "SELECT j.id, j.ref, j.priority, j.status, j.summary, j.sla_due, "
            "j.escalation_level, j.escalation_ack_level, "
            "coalesce(u.name, j.technician_id) AS technician, "
            "(SELECT body FROM job_events e WHERE e.job_id = j.id AND e.kind = 'escalation' "
            " ORDER BY e.hlc DESC LIMIT 1) AS note "
            "FROM jobs j LEFT JOIN users u ON u.id = j.technician_id "
            "WHERE j.open AND j.escalation_level > 0"
        )
        if unacknowledged_only:
            sql += " AND j.escalation_level > j.escalation_ack_level"
        rows = self._rows(sql + " ORDER BY j.escalation_level DESC, j.sla_due, j.id")
        return cast("list[EscalatedJob]", rows)

    def add_callback(self, row: dict[str, Any]) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO callbacks (id, job_id, technician_id, skill, attitude, "
            "adherence, comment, recorded_by, at) VALUES (:id, :job_id, :technician_id, "
            ":skill, :attitude, :adherence, :comment, :recorded_by, :at)",
            {"comment": None, "technician_id": None, **row},
        )
        return cur.rowcount == 1

    def callbacks(self, job_id: str) -> list[CallbackRow]:
        rows = self._rows("SELECT * FROM callbacks WHERE job_id = ? ORDER BY at, id", [job_id])
        return cast("list[CallbackRow]", rows)

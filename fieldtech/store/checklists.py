"""Rows for checklist templates (versioned) and the readings recorded against a job."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from fieldtech.domain.errors import NotFound

if TYPE_CHECKING:
    from fieldtech.domain.checklists import Reading, Template
    from fieldtech.store.database import Database
    from fieldtech.store.rows import ReadingRow, TemplateHead


class ChecklistRows:
    db: Database

    def put_template(self, t: Template) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO templates (id, version, name, job_kind, category) "
            "VALUES (?, ?, ?, ?, ?)",
            [t.id, t.version, t.name, t.job_kind, t.category],
        )
        self.db.execute(
            "DELETE FROM template_items WHERE template_id = ? AND version = ?", [t.id, t.version]
        )
        for pos, i in enumerate(t.items):
            self.db.execute(
                "INSERT INTO template_items (template_id, version, position, key, section, "
                "label, type, required, unit, min, max, choices, out_of_range, help) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    t.id,
                    t.version,
                    pos,
                    i.key,
                    i.section,
                    i.label,
                    i.type.value,
                    int(i.required),
                    i.unit,
                    i.min,
                    i.max,
                    json.dumps(list(i.choices)) if i.choices else None,
                    i.out_of_range.value,
                    i.help,
                ],
            )

    def template(self, template_id: str, version: int | None = None) -> Template:
        if version is None:
            row = self.db.execute(
                "SELECT max(version) FROM templates WHERE id = ?", [template_id]
            ).fetchone()
            version = row[0] if row else None
        head = self.db.execute(
            "SELECT id, version, name, job_kind, category FROM templates "
            "WHERE id = ? AND version = ?",
            [template_id, version],
        ).fetchone()
        if head is None:
            raise NotFound(f"no checklist template {template_id!r}")
        cur = self.db.execute(
            "SELECT * FROM template_items WHERE template_id = ? AND version = ? ORDER BY position",
            [template_id, version],
        )
        cols = [d[0] for d in cur.description]
        from fieldtech.domain.checklists import Template, item_from_row  # not needed at start

        items = tuple(item_from_row(dict(zip(cols, r, strict=True))) for r in cur.fetchall())
        return Template(head[0], head[1], head[2], head[3], head[4], items)

    def templates(self) -> list[TemplateHead]:
        cur = self.db.execute(
            "SELECT id, max(version) AS version, name, job_kind, category FROM templates "
            "GROUP BY id ORDER BY id"
        )
        cols = [d[0] for d in cur.description]
        return cast("list[TemplateHead]", [dict(zip(cols, r, strict=True)) for r in cur.fetchall()])

    def add_reading(self, row: dict[str, Any]) -> bool:
        """Append a reading (readings are events: the latest by clock is the current value)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO readings (id, job_id, item_key, value, verdict, comment, "
            "actor, hlc, at) VALUES (:id, :job_id, :item_key, :value, :verdict, :comment, "
            ":actor, :hlc, :at)",
            {"comment": None, "actor": None, **row},
        )
        return cur.rowcount == 1

    def current_readings(self, job_id: str) -> dict[str, Reading]:
        """The latest reading of each item (by hybrid clock, id as tie-break)."""
        cur = self.db.execute(
            "SELECT item_key, value, verdict, comment FROM readings r WHERE job_id = ? "
            "AND NOT EXISTS (SELECT 1 FROM readings r2 WHERE r2.job_id = r.job_id "
            "AND r2.item_key = r.item_key AND (r2.hlc, r2.id) > (r.hlc, r.id))",
            [job_id],
        )
        from fieldtech.domain.checklists import Reading

        return {k: Reading(k, v, verdict, c) for k, v, verdict, c in cur.fetchall()}

    def reading_history(self, job_id: str) -> list[ReadingRow]:
        cur = self.db.execute("SELECT * FROM readings WHERE job_id = ? ORDER BY hlc, id", [job_id])
        cols = [d[0] for d in cur.description]
        return cast("list[ReadingRow]", [dict(zip(cols, r, strict=True)) for r in cur.fetchall()])

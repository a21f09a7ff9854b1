"""Importing jobs from a CSV file: every row checked, every rejection reported with its reason.

Columns (header row required; * = required):
  ref*, kind*, priority, summary*, customer_name*, customer_phone, address*, city,
  access_notes, hazards (separated by ';'), appliance_category, appliance_brand,
  appliance_model, appliance_serial, technician (user id or name), window_start,
  window_end, sla_due (ISO date-times, UTC unless an offset is given), confirmation_code,
  description

A job is identified by its ref: importing the same file again creates nothing new.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from fieldtech.domain.errors import FieldtechError
from fieldtech.sync.hq import schema
from fieldtech.sync.hq.auth import Principal
from fieldtech.sync.hq.db import HQ, Seq
from fieldtech.sync.hq.dispatch import create_job

REQUIRED = ("ref", "kind", "summary", "customer_name", "address")
COLUMNS = REQUIRED + (
    "priority",
    "customer_phone",
    "city",
    "access_notes",
    "hazards",
    "appliance_category",
    "appliance_brand",
    "appliance_model",
    "appliance_serial",
    "technician",
    "window_start",
    "window_end",
    "sla_due",
    "confirmation_code",
    "description",
)
MAX_ROWS = 50_000


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # {"line": n, "ref": r, "reason": why}

    def as_dict(self) -> dict:
        return {
            "created": len(self.created),
            "already_there": len(self.already_there),
            "rejected": self.rejected,
            "created_refs": self.created,
        }


def _readable_rows(reader: csv.DictReader, report: ImportReport):
    """(line number, row) while the CSV reads; a broken line ends the import, reported."""
    n = 1
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.rejected.append(
                {"line": reader.line_num, "ref": None, "reason": f"unreadable CSV: {exc}"}
            )
            return
        n += 1
        yield n, raw


def import_jobs(hq: HQ, p: Principal, text: str) -> ImportReport:
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        report.rejected.append({"line": 1, "ref": None, "reason": f"unreadable CSV: {exc}"})
        return report
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.rejected.append(
            {"line": 1, "ref": None, "reason": f"header lacks column(s): {', '.join(missing)}"}
        )
        return report
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        report.rejected.append(
            {"line": 1, "ref": None, "reason": f"unknown column(s): {', '.join(unknown)}"}
        )
        return report
    for n, raw in _readable_rows(reader, report):
        if n - 1 > MAX_ROWS:
            report.rejected.append(
                {"line": n, "ref": None, "reason": f"more than {MAX_ROWS} rows: split the file"}
            )
            break
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        if None in raw:
            report.rejected.append(
                {"line": n, "ref": row.get("ref"), "reason": "more values than columns"}
            )
            continue
        ref = row.get("ref") or ""
        lacking = [c for c in REQUIRED if not row.get(c)]
        if lacking:
            report.rejected.append(
                {"line": n, "ref": ref or None, "reason": f"missing {', '.join(lacking)}"}
            )
            continue
        try:
            with hq.tx() as conn:
                exists = conn.execute(
                    select(schema.jobs.c.id).where(schema.jobs.c.ref == ref)
                ).first()
                if exists:
                    report.already_there.append(ref)
                    continue
                create_job(hq, p, row, conn=conn, seq=Seq(conn))
            report.created.append(ref)
        except FieldtechError as exc:
            report.rejected.append({"line": n, "ref": ref, "reason": exc.message})
    return report

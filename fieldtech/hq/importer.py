"""Importing jobs from a CSV file: every row checked, every rejection reported with its reasons.

Columns (header row required; * = required):
  ref*, kind*, priority, summary*, customer_name*, customer_phone, address*, city,
  access_notes, hazards (separated by ';'), appliance_category, appliance_brand,
  appliance_model, appliance_serial, technician (user id or name), window_start,
  window_end, sla_due (ISO date-times, UTC unless an offset is given), confirmation_code,
  description

Each row is checked by the same rules as `hq dispatch` and POST /v1/jobs (api_models.JobIn).
A job is identified by its ref: importing the same file again creates nothing new, and a
ref twice in one file is reported on its second line. Bad rows are reported with their line
and reason; the good ones are imported.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fieldtech.domain.errors import BadInput, FieldtechError
from fieldtech.domain.jobs import parse_kind, parse_priority
from fieldtech.hq import schema
from fieldtech.hq.api_models import check_job, job_problems
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.known_rows import BatchCache
from fieldtech.hq.new_jobs import create_jobs

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
# Rows written per transaction: SQLite pays per commit, and a batch this size holds the
# writer for well under a second, so syncing devices wait little.
BATCH = 500

Progress = Callable[[int, int], None]  # (rows done, rows to do)


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(
        default_factory=list
    )  # {"line": n, "ref": r, "reason": why}

    def reject(self, line: int, ref: str | None, reason: str) -> None:
        self.rejected.append({"line": line, "ref": ref or None, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "already_there": len(self.already_there),
            "rejected": sorted(self.rejected, key=lambda r: r["line"]),
            "created_refs": self.created,
        }


def decode(data: bytes, what: str = "file") -> str:
    """An uploaded file's text, or one line saying where it stops being UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInput(
            f"the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): "
            "save it as UTF-8 (CSV UTF-8 in a spreadsheet) and import it again"
        ) from None


def _records(
    reader: csv.DictReader[str], report: ImportReport
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(first line, row) while the CSV reads; a broken line ends the import, reported."""
    last = reader.line_num
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            reason = str(exc).split(" - ")[0]
            report.reject(reader.line_num, None, f"unreadable CSV: {reason}")
            return
        yield last + 1, raw
        last = reader.line_num


@dataclass
class _Row:
    line: int
    ref: str
    spec: dict[str, Any]


def _checked_rows(text: str, report: ImportReport) -> list[_Row]:
    """Every row that passes the job rules; the others are in the report."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        report.reject(1, None, f"unreadable CSV: {str(exc).split(' - ')[0]}")
        return []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.reject(1, None, f"header lacks column(s): {', '.join(missing)}")
        return []
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        report.reject(1, None, f"unknown column(s): {', '.join(unknown)}")
        return []
    good: list[_Row] = []
    first_line: dict[str, int] = {}
    for count, (line, raw) in enumerate(_records(reader, report), start=1):
        if count > MAX_ROWS:
            report.reject(line, None, f"more than {MAX_ROWS:,} rows: split the file")
            break
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        ref = row.get("ref") or ""
        if None in raw:
            report.reject(line, ref, "more values than columns")
            continue
        problems = _row_problems(row)
        if problems:
            report.reject(line, ref, "; ".join(problems))
            continue
        spec = check_job(row)
        ref = spec["ref"]
        if ref in first_line:
            report.reject(line, ref, f"ref {ref} is already on line {first_line[ref]}")
            continue
        first_line[ref] = line
        good.append(_Row(line, ref, spec))
    return good


def _row_problems(row: dict[str, str]) -> list[str]:
    """Everything wrong with one row, all at once: what is missing, then every rule broken."""
    lacking = [c for c in REQUIRED if not row.get(c)]
    problems = [f"missing {', '.join(lacking)}"] if lacking else []
    problems += [p for p in job_problems(row) if p.partition(":")[0] not in lacking]
    for name, parse in (("kind", parse_kind), ("priority", parse_priority)):
        try:
            if row.get(name):
                parse(row[name])
        except FieldtechError as exc:
            problems.append(exc.message)
    return problems


def _known_refs(hq: HQ, refs: list[str]) -> set[str]:
    j = schema.jobs.c
    found: set[str] = set()
    with hq.engine.connect() as conn:
        for i in range(0, len(refs), BATCH):
            chunk = refs[i : i + BATCH]
            found.update(r[0] for r in conn.execute(select(j.ref).where(j.ref.in_(chunk))))
    return found


def import_jobs(hq: HQ, p: Principal, text: str, progress: Progress | None = None) -> ImportReport:
    report = ImportReport()
    rows = _checked_rows(text, report)
    known = _known_refs(hq, [r.ref for r in rows])
    report.already_there = [r.ref for r in rows if r.ref in known]
    todo = [r for r in rows if r.ref not in known]
    cache = BatchCache()
    if progress:
        progress(0, len(todo))
    for i in range(0, len(todo), BATCH):
        batch = todo[i : i + BATCH]
        try:
            _create_batch(hq, p, batch, report, cache)
        except IntegrityError:
            # Something only the database could see (a ref taken meanwhile by another HQ
            # process): that batch again, one row per transaction, each row's own answer.
            for r in batch:
                _create_batch(hq, p, [r], report, cache, alone=True)
        if progress:
            progress(min(i + BATCH, len(todo)), len(todo))
    return report


def _create_batch(
    hq: HQ,
    p: Principal,
    batch: list[_Row],
    report: ImportReport,
    cache: BatchCache,
    *,
    alone: bool = False,
) -> None:
    """One transaction for the batch. A refused row leaves nothing behind (every job is
    checked in full before it is written) and the rest of the batch goes on."""
    try:
        with hq.tx() as conn:
            made = create_jobs(
                hq, p, [r.spec for r in batch], conn=conn, seq=Seq(conn), cache=cache
            )
    except IntegrityError:
        if not alone:
            raise
        report.reject(batch[0].line, batch[0].ref, f"job {batch[0].ref} already exists")
        return
    for r, result in zip(batch, made, strict=True):
        if isinstance(result, FieldtechError):
            report.reject(r.line, r.ref, result.message)
        else:
            report.created.append(r.ref)

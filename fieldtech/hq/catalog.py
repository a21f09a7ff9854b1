"""The parts catalogue and checklist templates kept at HQ and sent to every device."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fieldtech.domain.checklists import Template
from fieldtech.domain.errors import BadInput, RuleBroken
from fieldtech.domain.templates import DEFAULT_TEMPLATES
from fieldtech.domain.templates import template_from_json as template_from_json
from fieldtech.hq import schema
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.rows import upsert


def parse_parts(text: str, fmt: str | None = None) -> list[dict[str, Any]]:
    """Parts from CSV (header: sku,name,category,unit,barcode,price_cents) or a JSON list."""
    fmt = fmt or ("json" if text.lstrip().startswith("[") else "csv")
    if fmt == "json":
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(
                f"the catalogue is not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        if not isinstance(rows, list):
            raise BadInput("a JSON catalogue is a list of parts")
    else:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            if not reader.fieldnames or "sku" not in reader.fieldnames:
                raise BadInput("the catalogue CSV needs a header with at least sku,name")
            rows = list(reader)
        except csv.Error as exc:
            raise BadInput(
                f"the catalogue CSV is unreadable at line {reader.line_num}: {exc}"
            ) from None
    parts, problems = [], []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            problems.append(f"entry {n}: not an object")
            continue
        sku = str(row.get("sku") or "").strip()
        name = str(row.get("name") or "").strip()
        if not sku or not name:
            problems.append(f"entry {n}: sku and name are required")
            continue
        price = row.get("price_cents")
        try:
            price = int(price) if price not in (None, "") else None
            if price is not None and not -(2**63) <= price < 2**63:
                raise ValueError(price)
        except (ValueError, TypeError, OverflowError):
            problems.append(f"entry {n} ({sku}): price_cents must be a whole number")
            continue
        parts.append(
            {
                "sku": sku[:64],
                "name": name[:200],
                "category": (str(row.get("category") or "").strip() or None),
                "unit": str(row.get("unit") or "pc").strip()[:16] or "pc",
                "barcode": str(row.get("barcode") or "").strip() or None,
                "price_cents": price,
            }
        )
    if problems:
        raise BadInput(
            "catalogue refused, nothing saved: "
            + "; ".join(problems[:10])
            + (f" (and {len(problems) - 10} more)" if len(problems) > 10 else "")
        )
    return parts


def put_parts(hq: HQ, parts: list[dict[str, Any]]) -> int:
    try:
        with hq.tx() as conn:
            seq = Seq(conn)
            for part in parts:
                upsert(conn, schema.parts, {**part, "seq": seq()}, ["sku"])
    except IntegrityError:
        raise RuleBroken(
            "catalogue refused, nothing saved: a barcode in it is already on another part"
        ) from None
    return len(parts)


def template_to_json(t: Template) -> dict[str, Any]:
    d = asdict(t)
    d["items"] = [
        {
            **asdict(i),
            "type": i.type.value,
            "out_of_range": i.out_of_range.value,
            "choices": list(i.choices),
        }
        for i in t.items
    ]
    return d


def put_template(hq: HQ, t: Template) -> int:
    """Store a template. Versions are kept: jobs keep the version they were given."""
    with hq.tx() as conn:
        c = schema.templates.c
        top = conn.execute(select(func.max(c.version)).where(c.id == t.id)).scalar()
        version = max(t.version, (top or 0) + 1) if top else t.version
        conn.execute(
            schema.templates.insert().values(
                id=t.id,
                version=version,
                name=t.name,
                job_kind=t.job_kind,
                category=t.category,
                items=json.dumps(template_to_json(t)["items"]),
                seq=Seq(conn)(),
            )
        )
    return version


def install_defaults(hq: HQ) -> None:
    with hq.tx() as conn:
        seq = Seq(conn)
        for t in DEFAULT_TEMPLATES:
            upsert(
                conn,
                schema.templates,
                {
                    "id": t.id,
                    "version": t.version,
                    "name": t.name,
                    "job_kind": t.job_kind,
                    "category": t.category,
                    "items": json.dumps(template_to_json(t)["items"]),
                    "seq": seq(),
                },
                ["id", "version"],
            )


def list_parts(hq: HQ, limit: int = 1000) -> list[dict[str, Any]]:
    with hq.engine.connect() as conn:
        rows = conn.execute(select(schema.parts).order_by(schema.parts.c.sku).limit(limit))
        return [{k: v for k, v in dict(r).items() if k != "seq"} for r in rows.mappings()]

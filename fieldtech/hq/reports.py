"""Reports: per-technician KPIs, and the service report a customer can be given."""

from __future__ import annotations

import csv
import html
import io
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, select

from fieldtech.domain.jobs import OUTCOMES, STATUS_WORDS, Status
from fieldtech.domain.text import plain
from fieldtech.domain.timefmt import local_time
from fieldtech.hq import report_files, schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.dispatch import get_job
from fieldtech.hq.scope import job_filter

KPI_COLUMNS = (
    "technician",
    "name",
    "team",
    "closed",
    "completed",
    "first_time_fix_rate",
    "sla_hit_rate",
    "avg_rating",
    "avg_skill",
    "avg_attitude",
    "avg_adherence",
    "callbacks",
    "warning",
)
RATING_WARNING = 4.7  # below this average, customers start to leave


def _avg(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 2) if xs else None


def kpis(hq: HQ, p: Principal) -> list[dict[str, Any]]:
    """Per technician over their closed jobs:
    first-time fix = completed jobs that needed no follow-up job / closed jobs;
    SLA hit = completed by the promised time / completed."""
    j = schema.jobs.c
    with hq.engine.connect() as conn:
        jobs = [
            dict(r)
            for r in conn.execute(
                select(
                    j.id,
                    j.technician_id,
                    j.status,
                    j.closed_at,
                    j.sla_due,
                    j.rating,
                    j.parent_job_id,
                ).where(job_filter(p))
            ).mappings()
        ]
        users = {u["id"]: dict(u) for u in conn.execute(select(schema.users)).mappings()}
        cbs = [dict(r) for r in conn.execute(select(schema.callbacks)).mappings()]
    per = _tally(jobs, cbs)
    return [_kpi_row(tech, t, users.get(tech, {})) for tech, t in sorted(per.items())]


def _tally(
    jobs: list[dict[str, Any]], cbs: list[dict[str, Any]]
) -> defaultdict[str, defaultdict[str, list[Any]]]:
    """Per technician: their closed jobs, what each counts towards, and their call-backs."""
    followed_up = {x["parent_job_id"] for x in jobs if x["parent_job_id"]}
    per: defaultdict[str, defaultdict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for x in jobs:
        if not x["technician_id"] or Status(x["status"]).is_open or x["status"] == "cancelled":
            continue
        t = per[x["technician_id"]]
        t["closed"].append(x)
        if x["status"] == "completed":
            t["completed"].append(x)
            t["ftf"].append(x["id"] not in followed_up)
            t["sla"].append(bool(x["closed_at"] and x["closed_at"] <= x["sla_due"]))
            if x["rating"]:
                t["rating"].append(x["rating"])
    visible = {x["id"] for x in jobs}
    for cb in cbs:
        if cb["job_id"] in visible and cb["technician_id"]:
            t = per[cb["technician_id"]]
            for k in ("skill", "attitude", "adherence"):
                t[k].append(cb[k])
            t["callbacks"].append(cb)
    return per


def _kpi_row(tech: str, t: defaultdict[str, list[Any]], user: dict[str, Any]) -> dict[str, Any]:
    """One technician's KPIs; a tally they have nothing in counts as empty."""
    closed = len(t["closed"])
    rating = _avg(t["rating"])
    return {
        "technician": tech,
        "name": user.get("name", tech),
        "team": user.get("team"),
        "closed": closed,
        "completed": len(t["completed"]),
        "first_time_fix_rate": round(sum(t["ftf"]) / closed, 3) if closed else None,
        "sla_hit_rate": round(sum(t["sla"]) / len(t["sla"]), 3) if t["sla"] else None,
        "avg_rating": rating,
        "avg_skill": _avg(t["skill"]),
        "avg_attitude": _avg(t["attitude"]),
        "avg_adherence": _avg(t["adherence"]),
        "callbacks": len(t["callbacks"]),
        "warning": "rating below 4.7" if rating is not None and rating < RATING_WARNING else "",
    }


def kpis_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=KPI_COLUMNS)
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def _report_data(hq: HQ, p: Principal, job_id: str) -> dict[str, Any]:
    job = get_job(hq, p, job_id)
    with hq.engine.connect() as conn:
        cust = _one(conn, schema.customers, job["customer_id"])
        site = _one(conn, schema.sites, job["site_id"])
        app = (
            conn.execute(
                select(schema.appliances).where(schema.appliances.c.id == job["appliance_id"])
            )
            .mappings()
            .first()
        )
        parts = _parts(conn, job["id"])
        tech = conn.execute(
            select(schema.users.c.name).where(schema.users.c.id == job["technician_id"])
        ).scalar()
        labels = _item_labels(conn, job) if job["template_id"] else {}
        files = report_files.job_files(conn, job["id"])
    latest: dict[str, dict[str, Any]] = {}
    for r in job["readings"]:
        latest[r["item_key"]] = r
    readings = [
        (labels.get(k, k), r["value"], r["verdict"], r["comment"] or "") for k, r in latest.items()
    ]
    return {
        "job": job,
        "customer": dict(cust),
        "site": dict(site),
        "appliance": dict(app) if app else None,
        "parts": parts,
        "technician": tech,
        "readings": readings,
        "files": files,
        "labels": labels,
    }


def _one(conn: Connection, table: Table, row_id: str) -> RowMapping:
    return conn.execute(select(table).where(table.c.id == row_id)).mappings().one()


def _parts(conn: Connection, job_id: str) -> list[dict[str, Any]]:
    """The job's ledger lines, each with its part's name."""
    ledger, parts = schema.stock_ledger, schema.parts
    return [
        dict(r)
        for r in conn.execute(
            select(ledger.c.sku, ledger.c.qty, ledger.c.kind, parts.c.name)
            .join_from(ledger, parts, ledger.c.sku == parts.c.sku)
            .where(ledger.c.job_id == job_id)
        ).mappings()
    ]


def _item_labels(conn: Connection, job: dict[str, Any]) -> dict[str, str]:
    """Checklist item key -> its label (and unit), from the template version the job has."""
    t = conn.execute(
        select(schema.templates.c["items"]).where(
            schema.templates.c.id == job["template_id"],
            schema.templates.c.version == job["template_version"],
        )
    ).scalar()
    items = json.loads(t) if t else _default_items(job["template_id"])
    return {i["key"]: i["label"] + (f" ({i['unit']})" if i.get("unit") else "") for i in items}


def _default_items(template_id: str) -> list[dict[str, Any]]:
    from fieldtech.domain.templates import DEFAULT_TEMPLATES

    for t in DEFAULT_TEMPLATES:
        if t.id == template_id:
            return [{"key": i.key, "label": i.label, "unit": i.unit} for i in t.items]
    return []


def _md(text: object) -> str:
    """People's text safe inside Markdown (and a terminal it is printed to): no control
    characters, no stray pipes, no HTML."""
    return html.escape(plain(text)).replace("|", "\\|")


def _e(text: object) -> str:
    """People's text safe inside HTML: escaped, and no control characters."""
    return html.escape(plain(text))


def service_report_markdown(hq: HQ, p: Principal, job_id: str) -> str:
    d = _report_data(hq, p, job_id)
    job, cust, site, app = d["job"], d["customer"], d["site"], d["appliance"]
    out = [
        f"# Service report {job['ref']}",
        "",
        f"- **Customer:** {_md(cust['name'])}",
        f"- **Address:** {_md(site['address'])}, {_md(site['city'])}",
        f"- **Job:** {_md(job['kind'])} — {_md(job['summary'])}",
    ]
    if app:
        out.append(
            f"- **Appliance:** {_md(app['category'])} {_md(app['brand'])} "
            f"{_md(app['model'])}, serial {_md(app['serial'] or '—')}"
        )
    out += [
        f"- **Technician:** {_md(d['technician'] or job['technician_id'])}",
        f"- **Status:** {STATUS_WORDS[Status(job['status'])]}",
    ]
    if job["outcome"]:
        out.append(f"- **Outcome:** {OUTCOMES[job['outcome']].words}")
    if job["closed_at"]:
        out.append(f"- **Closed:** {local_time(job['closed_at'])}")
    if d["readings"]:
        out += ["", "## Checklist and readings", "", "| item | reading | note |", "|---|---|---|"]
        out += [
            f"| {_md(label)} | {_md(value)} | {_md(note or ('' if v == 'ok' else v))} |"
            for label, value, v, note in d["readings"]
        ]
    if d["parts"]:
        out += ["", "## Parts", "", "| part | quantity |", "|---|---:|"]
        out += [
            f"| {_md(x['name'])} ({_md(x['sku'])}) | {_md(x['qty'])} |"
            for x in d["parts"]
            if x["kind"] == "used"
        ]
    out += report_files.markdown(d["files"], d["labels"], _md)
    if job["signoff_name"]:
        out += [
            "",
            f"Signed off by **{_md(job['signoff_name'])}**, rating {_md(job['rating'])}/5.",
        ]
    return "\n".join(out) + "\n"


def service_report_html(hq: HQ, p: Principal, job_id: str) -> str:
    d = _report_data(hq, p, job_id)
    job, cust, site, app = d["job"], d["customer"], d["site"], d["appliance"]
    e = _e
    rows = "".join(
        f"<tr><td>{e(a)}</td><td>{e(str(b))}</td><td>{e(c)}</td></tr>"
        for a, b, _v, c in d["readings"]
    )
    parts = "".join(
        f"<tr><td>{e(x['name'])} ({e(x['sku'])})</td><td>{e(x['qty'])}</td></tr>"
        for x in d["parts"]
        if x["kind"] == "used"
    )
    appliance = (
        f"<p>Appliance: {e(app['category'])} {e(app['brand'] or '')} "
        f"{e(app['model'] or '')}, serial {e(app['serial'] or '—')}</p>"
        if app
        else ""
    )
    sign = (
        f"<p>Signed off by <strong>{e(job['signoff_name'])}</strong>, "
        f"rating {e(job['rating'])}/5.</p>"
        if job["signoff_name"]
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service report {e(job["ref"])}</title>
<style>body{{font-family:sans-serif;max-width:48em;margin:2em auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2em .5em}}</style>
</head><body>
<h1>Service report {e(job["ref"])}</h1>
<p>Customer: {e(cust["name"])}<br>Address: {e(site["address"])}, {e(site["city"] or "")}</p>
<p>Job: {e(job["kind"])} — {e(job["summary"])}<br>
Technician: {e(d["technician"] or job["technician_id"] or "")}<br>
Status: {e(STATUS_WORDS[Status(job["status"])])}</p>
{appliance}
<h2>Checklist and readings</h2>
<table><tr><th>item</th><th>reading</th><th>note</th></tr>{rows}</table>
<h2>Parts</h2>
<table><tr><th>part</th><th>quantity</th></tr>{parts}</table>
{report_files.html_section(hq, d["files"], d["labels"], e)}
{sign}
</body></html>
"""

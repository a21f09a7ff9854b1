"""New jobs at HQ, one or thousands at a time, by one set of rules.

`hq dispatch`, POST /v1/jobs and every row of `hq import` come here. A batch reads what it
needs in a few queries (technicians, the customers it may match, their sites and
appliances, the refs it would take), decides every job in memory, and writes each table in
one statement: an import of thousands of rows costs a handful of round trips per batch, not
fifteen per row.

Every job is checked in full before anything of it is written, so a refused job leaves
nothing behind and the rest of the batch goes on.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update

from fieldtech.domain.customers import name_key, phone_digits
from fieldtech.domain.errors import BadInput, FieldtechError, NotFound
from fieldtech.domain.ids import new_id
from fieldtech.domain.jobs import (
    Kind,
    Priority,
    Status,
    code_and_hash,
    parse_kind,
    parse_priority,
)
from fieldtech.domain.ops import stamp_time
from fieldtech.domain.templates import pick_template
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, Seq
from fieldtech.hq.known_rows import (
    BatchCache,
    Known,
    TemplateRef,
    fill_match_keys,
    newest_templates,
    read_known,
)
from fieldtech.hq.scope import require_manager

# Parents before children: a pull page never carries a job before its customer.
WRITE_ORDER = (
    schema.customers,
    schema.sites,
    schema.appliances,
    schema.jobs,
    schema.job_assignments,
    schema.job_events,
)


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Checked:
    """A job that passed every check, and what the checks found; none of it written yet."""

    kind: Kind
    priority: Priority
    tech: dict[str, Any] | None
    team: str | None
    site: dict[str, Any] | None  # the site the spec names by id
    hlc: str
    now: str
    window_start: str
    window_end: str | None
    sla_due: str
    ref: str
    job_id: str
    template: tuple[str, int] | None


def _job_row(
    spec: dict[str, Any],
    c: _Checked,
    customer_id: str,
    site_id: str,
    appliance_id: str | None,
) -> dict[str, Any]:
    """The new job's row as HQ keeps it, every field stamped with the job's creation."""
    job = {
        "id": c.job_id,
        "ref": c.ref,
        "kind": c.kind.value,
        "priority": c.priority.value,
        "priority_rank": c.priority.rank,
        "status": Status.ASSIGNED.value,
        "customer_id": customer_id,
        "site_id": site_id,
        "appliance_id": appliance_id,
        "technician_id": c.tech["id"] if c.tech else None,
        "team": c.team,
        "summary": spec["summary"],
        "description": spec.get("description"),
        "window_start": c.window_start,
        "window_end": c.window_end,
        "sla_due": c.sla_due,
        "template_id": c.template[0] if c.template else None,
        "template_version": c.template[1] if c.template else None,
        "confirmation_code": str(spec.get("confirmation_code") or new_id()[-6:]).upper(),
        "created_at": c.now,
        "updated_at": c.now,
        "escalation_level": 0,
    }
    job["stamps"] = json.dumps({name: c.hlc for name in job}, sort_keys=True)
    return job


class Batch:
    """Plans new jobs against HQ's rows, then writes them table by table."""

    def __init__(self, hq: HQ, p: Principal, conn: Connection, seq: Seq, cache: BatchCache):
        self.hq, self.p, self.conn, self.seq, self.cache = hq, p, conn, seq, cache
        self.known = Known()
        self.templates: list[TemplateRef] = []
        self.rows: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        self.updates: dict[Table, dict[str, dict[str, Any]]] = defaultdict(
            dict[str, Any]
        )  # table -> id -> values
        self.fresh: set[str] = set()  # ids of rows this batch inserts
        self.auto_refs = 0
        self.job_count = 0

    # -- reading, a few queries for the whole batch ---------------------------------------
    def read(self, specs: list[dict[str, Any]]) -> None:
        fill_match_keys(self.conn, self.cache)
        self.templates = newest_templates(self.conn, self.cache)
        self.known = read_known(self.conn, specs)
        if any(not sp.get("ref") for sp in specs):
            self.job_count = self._jobs_numbered()

    def _jobs_numbered(self) -> int:
        """How many jobs HQ holds: a new job without a ref is numbered after them."""
        if self.hq.is_postgres:
            # Two processes counting at once would give two jobs one number: numbering
            # waits its turn, until commit.
            self.conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('fieldtech.job_ref'))"))
        return self.conn.execute(select(func.count()).select_from(schema.jobs)).scalar_one()

    # -- planning, in memory ----------------------------------------------------------------
    def plan(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Check one job in full (its spec has passed api_models.check_job), then add its
        rows to the batch. Raises before adding any."""
        checked = self._check(spec)
        # Checked: from here on the job is written.
        return self._add(spec, checked)

    def _check(self, spec: dict[str, Any]) -> _Checked:
        from fieldtech.hq.dispatch import SLA_HOURS, parse_time

        k = self.known
        kind = parse_kind(spec["kind"])
        priority = parse_priority(spec.get("priority") or "normal")
        tech = self._technician(spec.get("technician"))
        team = tech["team"] if tech else (spec.get("team") or self.p.team)
        require_manager(self.p, team)
        site, appliance = self._parents(spec)
        hlc = self.hq.stamp()
        now = stamp_time(hlc)
        window_start = parse_time(spec.get("window_start"), "window_start") or now
        window_end = parse_time(spec.get("window_end"), "window_end")
        sla_due = parse_time(spec.get("sla_due"), "sla_due") or _iso(
            datetime.fromisoformat(now.replace("Z", "+00:00"))
            + timedelta(hours=SLA_HOURS[priority])
        )
        ref = spec.get("ref") or f"HQ-{self.job_count + self.auto_refs + 1:06d}"
        if ref in k.refs:
            raise BadInput(f"job {ref} already exists")
        job_id = spec.get("id") or new_id()
        if job_id in k.job_ids:
            raise BadInput(f"a job with id {job_id!r} already exists")
        category = appliance["category"] if appliance else spec.get("appliance_category")
        return _Checked(
            kind=kind,
            priority=priority,
            tech=tech,
            team=team,
            site=site,
            hlc=hlc,
            now=now,
            window_start=window_start,
            window_end=window_end,
            sla_due=sla_due,
            ref=ref,
            job_id=job_id,
            template=pick_template(kind.value, category, self.templates),
        )

    def _parents(self, spec: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The site and appliance the spec names, when it names them; that HQ knows every
        row it names, and that what it does not name it describes."""
        k = self.known
        for key, table in (("customer_id", "customers"), ("site_id", "sites")):
            if spec.get(key) and spec[key] not in k.by_id[table]:
                raise NotFound(f"{key.removesuffix('_id')} {spec[key]!r} is not known at HQ")
        appliance = None
        if spec.get("appliance_id"):
            appliance = k.by_id["appliances"].get(spec["appliance_id"])
            if appliance is None:
                raise NotFound(f"appliance {spec['appliance_id']!r} is not known at HQ")
        site = k.by_id["sites"].get(spec.get("site_id") or "")
        if not spec.get("customer_id") and site is None and not spec.get("customer_name"):
            raise BadInput("a job needs the customer's name")
        if site is None and not spec.get("address"):
            raise BadInput("a job needs the site's address")
        return site, appliance

    def _add(self, spec: dict[str, Any], c: _Checked) -> dict[str, Any]:
        """The checked job into the batch, with the customer, site and appliance it needs."""
        k = self.known
        self.auto_refs += 0 if spec.get("ref") else 1
        k.refs.add(c.ref)
        k.job_ids.add(c.job_id)
        customer_id = spec.get("customer_id") or (
            c.site["customer_id"] if c.site else self._customer(spec)
        )
        site_id = spec.get("site_id") or self._site(customer_id, spec)
        appliance_id = spec.get("appliance_id") or self._appliance(customer_id, site_id, spec)
        job = _job_row(spec, c, customer_id, site_id, appliance_id)
        made = code_and_hash(job["confirmation_code"], job["id"])
        self.rows[schema.jobs].append({**job, **made, "seq": self.seq()})
        if c.tech:
            self.rows[schema.job_assignments].append(
                {"job_id": c.job_id, "technician_id": c.tech["id"], "at": c.now}
            )
        self.rows[schema.job_events].append(
            {
                "id": new_id(),
                "job_id": c.job_id,
                "kind": "created",
                "to_status": "assigned",
                "body": f"dispatched to {c.tech['name']}" if c.tech else "created",
                "actor": self.p.user_id,
                "hlc": c.hlc,
                "at": c.now,
                "seq": self.seq(),
            }
        )
        return job

    def _technician(self, who: str | None) -> dict[str, Any] | None:
        if not who:
            return None
        row = self.known.technicians.get(who)
        if row is None:
            raise NotFound(f"no user {who!r} at HQ")
        if row["role"] != "technician" or not row["active"]:
            raise BadInput(f"{who!r} is not an active technician")
        return row

    def _customer(self, spec: dict[str, Any]) -> str:
        """The customer HQ already knows as this person (Known.customer_named), a new phone
        filling a blank one; else a new customer."""
        k = self.known
        name, phone = spec["customer_name"], spec.get("customer_phone")
        key = name_key(name)
        found = k.customer_named(name, spec.get("address") or "", phone)
        if found is not None:
            if phone and not phone_digits(found["phone"]):
                found["phone"] = phone
                self._set(schema.customers, found["id"], phone=phone)
            return str(found["id"])
        cid = new_id()
        row = {
            "id": cid,
            "name": name,
            "phone": phone,
            "email": None,
            "vip": int(bool(spec.get("vip"))),
            "notes": None,
            "created_at": _iso(datetime.now(UTC)),
            "match_key": key,
            "seq": self.seq(),
        }
        self.rows[schema.customers].append(row)
        self.fresh.add(cid)
        k.customers[key].insert(0, row)  # the most recent
        return cid

    def _set(self, table: Table, row_id: str, **values: Any) -> None:
        """Change a row HQ already has (a fresh row is changed where it waits)."""
        if row_id in self.fresh:
            for row in self.rows[table]:
                if row["id"] == row_id:
                    row.update(values)
            return
        pending = self.updates[table].setdefault(row_id, {"seq": self.seq()})
        pending.update(values)

    def _site(self, customer_id: str, spec: dict[str, Any]) -> str:
        address = spec["address"]
        phone = spec.get("customer_phone")
        s = self.known.site_at(customer_id, address)
        if s is not None:
            if phone and not s["contact_phone"]:
                s["contact_phone"] = phone
                self._set(schema.sites, s["id"], contact_phone=phone)
            return str(s["id"])
        hazards = spec.get("hazards") or []
        if isinstance(hazards, str):
            hazards = [h.strip() for h in hazards.split(";") if h.strip()]
        sid = new_id()
        row = {
            "id": sid,
            "customer_id": customer_id,
            "address": address,
            "city": spec.get("city"),
            "contact_name": spec.get("contact_name") or spec.get("customer_name"),
            "contact_phone": phone,
            "access_notes": spec.get("access_notes"),
            "hazards": json.dumps(hazards),
            "altitude_m": None,
            "seq": self.seq(),
        }
        self.rows[schema.sites].append(row)
        self.fresh.add(sid)
        self.known.sites[customer_id].append(row)
        return sid

    def _appliance(self, customer_id: str, site_id: str, spec: dict[str, Any]) -> str | None:
        category = spec.get("appliance_category")
        if not category:
            return None
        serial, model = spec.get("appliance_serial"), spec.get("appliance_model")
        found = self.known.appliance_like(customer_id, category, serial, model)
        if found is not None:
            return str(found["id"])
        aid = new_id()
        row = {
            "id": aid,
            "customer_id": customer_id,
            "site_id": site_id,
            "category": category,
            "brand": spec.get("appliance_brand"),
            "model": model,
            "serial": serial,
            "installed_on": None,
            "seq": self.seq(),
        }
        self.rows[schema.appliances].append(row)
        self.fresh.add(aid)
        self.known.appliances[customer_id].append(row)
        return aid

    # -- writing, one statement per table ---------------------------------------------------
    def write(self) -> None:
        for table in WRITE_ORDER:
            if self.rows[table]:
                self.conn.execute(insert(table), self.rows[table])
        for table, changes in self.updates.items():
            by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            for row_id, values in changes.items():
                by_shape[tuple(sorted(values))].append({"_id": row_id, **values})
            for names, rows in by_shape.items():
                stmt = (
                    update(table)
                    .where(table.c.id == bindparam("_id"))
                    .values({n: bindparam(n) for n in names})
                )
                self.conn.execute(stmt, rows)


def create_jobs(
    hq: HQ,
    p: Principal,
    specs: list[dict[str, Any]],
    *,
    conn: Connection,
    seq: Seq,
    cache: BatchCache | None = None,
) -> list[dict[str, Any] | FieldtechError]:
    """Each spec's job, or the reason it was refused, in order, inside the caller's
    transaction. `cache` (one per import) keeps the templates and what was filled once."""
    from fieldtech.hq.api_models import check_job

    checked: list[dict[str, Any] | FieldtechError] = []
    for spec in specs:
        try:
            checked.append(check_job(spec))
        except FieldtechError as exc:
            checked.append(exc)
    batch = Batch(hq, p, conn, seq, BatchCache() if cache is None else cache)
    batch.read([c for c in checked if isinstance(c, dict)])
    out: list[dict[str, Any] | FieldtechError] = []
    for given in checked:
        if isinstance(given, FieldtechError):
            out.append(given)
            continue
        try:
            out.append(batch.plan(given))
        except FieldtechError as exc:
            out.append(exc)
    batch.write()
    return out

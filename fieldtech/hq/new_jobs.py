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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, insert, select, text, update

from fieldtech.domain.customers import address_key, name_key, phone_digits, same_customer
from fieldtech.domain.errors import BadInput, FieldtechError, NotFound
from fieldtech.domain.ids import new_id
from fieldtech.domain.jobs import Status, parse_kind, parse_priority
from fieldtech.domain.ops import stamp_time
from fieldtech.domain.templates import pick_template
from fieldtech.hq import schema
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, Seq
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


# (id, newest version, job kind, category) of a template at HQ.
TemplateRef = tuple[str, int, str, str | None]


@dataclass
class BatchCache:
    """What batches of one import read or fill once, not once per batch."""

    templates: list[TemplateRef] | None = None
    match_keys_filled: bool = False


def newest_templates(conn: Connection, cache: BatchCache) -> list[TemplateRef]:
    """Every template at HQ in its newest version, read once per cache."""
    if cache.templates is None:
        t = schema.templates.c
        newest: dict[str, TemplateRef] = {}
        for r in conn.execute(
            select(t.id, t.version, t.job_kind, t.category).order_by(t.id, t.version)
        ):
            newest[r.id] = (r.id, r.version, r.job_kind, r.category)
        cache.templates = list(newest.values())
    return cache.templates


def fill_match_keys(conn: Connection, cache: BatchCache) -> None:
    """Customers written before match keys existed (or by bulk loads) get theirs."""
    if cache.match_keys_filled:
        return
    c = schema.customers.c
    blank = conn.execute(select(c.id, c.name).where(c.match_key.is_(None))).all()
    if blank:
        conn.execute(
            update(schema.customers)
            .where(c.id == bindparam("_id"))
            .values(match_key=bindparam("_key")),
            [{"_id": r.id, "_key": name_key(r.name)} for r in blank],
        )
    cache.match_keys_filled = True


@dataclass
class _Known:
    """What the batch knows of HQ's rows, read up front and kept up to date as it plans."""

    customers: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    sites: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    appliances: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    by_id: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict[str, Any])
    )
    refs: set[str] = field(default_factory=set)
    job_ids: set[str] = field(default_factory=set)
    technicians: dict[str, dict[str, Any]] = field(default_factory=dict[str, Any])


class Batch:
    """Plans new jobs against HQ's rows, then writes them table by table."""

    def __init__(self, hq: HQ, p: Principal, conn: Connection, seq: Seq, cache: BatchCache):
        self.hq, self.p, self.conn, self.seq, self.cache = hq, p, conn, seq, cache
        self.known = _Known()
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
        conn, k = self.conn, self.known
        fill_match_keys(conn, self.cache)
        self.templates = newest_templates(conn, self.cache)
        c, s, a, j, u = (
            schema.customers.c,
            schema.sites.c,
            schema.appliances.c,
            schema.jobs.c,
            schema.users.c,
        )
        named = {
            key: {sp[key] for sp in specs if sp.get(key)}
            for key in ("customer_id", "site_id", "appliance_id", "technician", "ref", "id")
        }
        for key, table in (
            ("customer_id", schema.customers),
            ("site_id", schema.sites),
            ("appliance_id", schema.appliances),
        ):
            for chunk in _chunks(named[key]):
                for r in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
                    k.by_id[table.name][r["id"]] = dict(r)
        who = named["technician"]
        for chunk in _chunks(who):
            for r in conn.execute(
                select(schema.users).where(u.id.in_(chunk) | u.name.in_(chunk))
            ).mappings():
                for key in (r["id"], r["name"]):
                    if key in who and key not in k.technicians:
                        k.technicians[key] = dict(r)
        for chunk in _chunks(named["ref"]):
            k.refs.update(r[0] for r in conn.execute(select(j.ref).where(j.ref.in_(chunk))))
        for chunk in _chunks(named["id"]):
            k.job_ids.update(r[0] for r in conn.execute(select(j.id).where(j.id.in_(chunk))))
        keys = {name_key(sp["customer_name"]) for sp in specs if sp.get("customer_name")}
        customer_ids = set(named["customer_id"]) | {
            r["customer_id"] for r in k.by_id["sites"].values()
        }
        for chunk in _chunks(keys):
            for r in conn.execute(
                select(c.id, c.name, c.phone, c.created_at).where(c.match_key.in_(chunk))
            ).mappings():
                k.customers[name_key(r["name"])].append(dict(r))
                customer_ids.add(r["id"])
        for chunk in _chunks(customer_ids):
            for r in conn.execute(
                select(s.id, s.customer_id, s.address, s.contact_phone).where(
                    s.customer_id.in_(chunk)
                )
            ).mappings():
                k.sites[r["customer_id"]].append(dict(r))
            for r in conn.execute(
                select(a.id, a.customer_id, a.category, a.serial, a.model).where(
                    a.customer_id.in_(chunk)
                )
            ).mappings():
                k.appliances[r["customer_id"]].append(dict(r))
        for recent_first in k.customers.values():
            recent_first.sort(key=lambda r: (r["created_at"] or "", r["id"]), reverse=True)
        if any(not sp.get("ref") for sp in specs):
            if self.hq.is_postgres:
                # New jobs are numbered by how many HQ holds: two processes counting at once
                # would give two jobs one number. Numbering waits its turn, until commit.
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('fieldtech.job_ref'))"))
            self.job_count = conn.execute(
                select(func.count()).select_from(schema.jobs)
            ).scalar_one()

    # -- planning, in memory ----------------------------------------------------------------
    def plan(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Check one job in full (its spec has passed api_models.check_job), then add its
        rows to the batch. Raises before adding any."""
        from fieldtech.hq.dispatch import SLA_HOURS, parse_time

        k = self.known
        kind = parse_kind(spec["kind"])
        priority = parse_priority(spec.get("priority") or "normal")
        tech = self._technician(spec.get("technician"))
        team = tech["team"] if tech else (spec.get("team") or self.p.team)
        require_manager(self.p, team)
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
        tmpl = pick_template(kind.value, category, self.templates)

        # Checked: from here on the job is written.
        self.auto_refs += 0 if spec.get("ref") else 1
        k.refs.add(ref)
        k.job_ids.add(job_id)
        customer_id = spec.get("customer_id") or (
            site["customer_id"] if site else self._customer(spec)
        )
        site_id = spec.get("site_id") or self._site(customer_id, spec)
        appliance_id = spec.get("appliance_id") or self._appliance(customer_id, site_id, spec)
        job = {
            "id": job_id,
            "ref": ref,
            "kind": kind.value,
            "priority": priority.value,
            "priority_rank": priority.rank,
            "status": Status.ASSIGNED.value,
            "customer_id": customer_id,
            "site_id": site_id,
            "appliance_id": appliance_id,
            "technician_id": tech["id"] if tech else None,
            "team": team,
            "summary": spec["summary"],
            "description": spec.get("description"),
            "window_start": window_start,
            "window_end": window_end,
            "sla_due": sla_due,
            "template_id": tmpl[0] if tmpl else None,
            "template_version": tmpl[1] if tmpl else None,
            "confirmation_code": str(spec.get("confirmation_code") or new_id()[-6:]).upper(),
            "created_at": now,
            "updated_at": now,
            "escalation_level": 0,
        }
        job["stamps"] = json.dumps({name: hlc for name in job}, sort_keys=True)
        self.rows[schema.jobs].append({**job, "seq": self.seq()})
        if tech:
            self.rows[schema.job_assignments].append(
                {"job_id": job_id, "technician_id": tech["id"], "at": now}
            )
        self.rows[schema.job_events].append(
            {
                "id": new_id(),
                "job_id": job_id,
                "kind": "created",
                "to_status": "assigned",
                "body": f"dispatched to {tech['name']}" if tech else "created",
                "actor": self.p.user_id,
                "hlc": hlc,
                "at": now,
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
        """The customer HQ already knows as this person (fieldtech.domain.customers): the
        one with the same phone first, then one without a phone, the most recent first.
        A new phone fills a blank one. Else a new customer."""
        k = self.known
        name, address = spec["customer_name"], spec.get("address") or ""
        phone = spec.get("customer_phone")
        key = name_key(name)
        fits = [
            c
            for c in k.customers.get(key, [])
            if same_customer(
                c["name"],
                [s["address"] for s in k.sites[c["id"]]],
                c["phone"],
                name,
                address,
                phone,
            )
        ]
        if phone_digits(phone):
            fits.sort(key=lambda c: not phone_digits(c["phone"]))  # stable: recency kept
        if fits:
            found = fits[0]
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
        for s in self.known.sites[customer_id]:
            if address_key(s["address"]) == address_key(address):
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
        for a in self.known.appliances[customer_id]:
            if a["category"] != category:
                continue
            if (serial and a["serial"] == serial) or (not serial and a["model"] == model):
                return str(a["id"])
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


def _chunks(values: set[str], size: int = 500) -> list[list[str]]:
    items = sorted(values)
    return [items[i : i + size] for i in range(0, len(items), size)]


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

"""What a batch of new jobs knows of HQ's rows before it plans them (fieldtech.hq.new_jobs),
and which of them a job's customer, site and appliance turn out to be.

The customers, sites and appliances the batch names or may match, the technicians it names,
the refs and job ids already taken: read in a few queries for the whole batch, 500 keys to
a statement, and kept up to date by the batch as it adds rows, so a later job of the batch
finds the customer an earlier one created.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from fieldtech.domain.customers import address_key, name_key, phone_digits, same_customer
from fieldtech.hq import schema

# (id, newest version, job kind, category) of a template at HQ.
TemplateRef = tuple[str, int, str, str | None]

# What a spec may name by key, and the table the key is an id of.
BY_ID = (
    ("customer_id", schema.customers),
    ("site_id", schema.sites),
    ("appliance_id", schema.appliances),
)
NAMED = ("customer_id", "site_id", "appliance_id", "technician", "ref", "id")


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
class Known:
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

    def customer_named(self, name: str, address: str, phone: str | None) -> dict[str, Any] | None:
        """The customer known as this person (fieldtech.domain.customers): the one with the
        same phone first, then one without a phone, the most recent first."""
        fits = [
            c
            for c in self.customers.get(name_key(name), [])
            if same_customer(
                c["name"],
                [s["address"] for s in self.sites[c["id"]]],
                c["phone"],
                name,
                address,
                phone,
            )
        ]
        if phone_digits(phone):
            fits.sort(key=lambda c: not phone_digits(c["phone"]))  # stable: recency kept
        return fits[0] if fits else None

    def site_at(self, customer_id: str, address: str) -> dict[str, Any] | None:
        """The customer's site at this address, however it is written."""
        for s in self.sites[customer_id]:
            if address_key(s["address"]) == address_key(address):
                return s
        return None

    def appliance_like(
        self, customer_id: str, category: str, serial: str | None, model: str | None
    ) -> dict[str, Any] | None:
        """The customer's appliance of this category with this serial (or, without a
        serial, this model)."""
        for a in self.appliances[customer_id]:
            if a["category"] != category:
                continue
            if (serial and a["serial"] == serial) or (not serial and a["model"] == model):
                return a
        return None


def read_known(conn: Connection, specs: list[dict[str, Any]]) -> Known:
    """Everything HQ holds that these specs name, and the customers they may turn out to be."""
    k = Known()
    named = {key: {sp[key] for sp in specs if sp.get(key)} for key in NAMED}
    _read_named_rows(conn, named, k)
    _read_technicians(conn, named["technician"], k)
    _read_taken(conn, named, k)
    customer_ids = set(named["customer_id"]) | {r["customer_id"] for r in k.by_id["sites"].values()}
    customer_ids |= _read_namesakes(conn, specs, k)
    _read_sites_and_appliances(conn, customer_ids, k)
    for recent_first in k.customers.values():
        recent_first.sort(key=lambda r: (r["created_at"] or "", r["id"]), reverse=True)
    return k


def _read_named_rows(conn: Connection, named: dict[str, set[str]], k: Known) -> None:
    """The customers, sites and appliances the specs give by id."""
    for key, table in BY_ID:
        for chunk in _chunks(named[key]):
            for r in conn.execute(select(table).where(table.c.id.in_(chunk))).mappings():
                k.by_id[table.name][r["id"]] = dict(r)


def _read_technicians(conn: Connection, who: set[str], k: Known) -> None:
    """The users the specs name, by id or by name (an id wins over another's name)."""
    u = schema.users.c
    for chunk in _chunks(who):
        for r in conn.execute(
            select(schema.users).where(u.id.in_(chunk) | u.name.in_(chunk))
        ).mappings():
            for key in (r["id"], r["name"]):
                if key in who and key not in k.technicians:
                    k.technicians[key] = dict(r)


def _read_taken(conn: Connection, named: dict[str, set[str]], k: Known) -> None:
    """The refs and job ids the specs give that HQ already holds."""
    j = schema.jobs.c
    for chunk in _chunks(named["ref"]):
        k.refs.update(r[0] for r in conn.execute(select(j.ref).where(j.ref.in_(chunk))))
    for chunk in _chunks(named["id"]):
        k.job_ids.update(r[0] for r in conn.execute(select(j.id).where(j.id.in_(chunk))))


def _read_namesakes(conn: Connection, specs: list[dict[str, Any]], k: Known) -> set[str]:
    """The customers known by the names the specs give (by match key). Returns their ids."""
    c = schema.customers.c
    keys = {name_key(sp["customer_name"]) for sp in specs if sp.get("customer_name")}
    found: set[str] = set()
    for chunk in _chunks(keys):
        for r in conn.execute(
            select(c.id, c.name, c.phone, c.created_at).where(c.match_key.in_(chunk))
        ).mappings():
            k.customers[name_key(r["name"])].append(dict(r))
            found.add(r["id"])
    return found


def _read_sites_and_appliances(conn: Connection, customer_ids: set[str], k: Known) -> None:
    """Every site and appliance of these customers, to match a spec's address and unit."""
    s, a = schema.sites.c, schema.appliances.c
    for chunk in _chunks(customer_ids):
        for r in conn.execute(
            select(s.id, s.customer_id, s.address, s.contact_phone).where(s.customer_id.in_(chunk))
        ).mappings():
            k.sites[r["customer_id"]].append(dict(r))
        for r in conn.execute(
            select(a.id, a.customer_id, a.category, a.serial, a.model).where(
                a.customer_id.in_(chunk)
            )
        ).mappings():
            k.appliances[r["customer_id"]].append(dict(r))


def _chunks(values: set[str], size: int = 500) -> list[list[str]]:
    items = sorted(values)
    return [items[i : i + size] for i in range(0, len(items), size)]

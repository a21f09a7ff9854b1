"""Realistic, deterministic demo data: the same seed and day give the same records.

Pure generation (no I/O): the seed service loads it into a device store, HQ into its own.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from fieldtech.domain.demo_vocabulary import (
    ACCESS,
    APPLIANCES,
    CITIES,
    FAMILY,
    GIVEN,
    HAZARDS,
    HIGH_CITIES,
    KIND_WEIGHTS,
    PARTS,
    PRIORITY_WEIGHTS,
    SLA_HOURS,
    STATUS_WEIGHTS,
    STREETS,
    SUMMARIES,
)
from fieldtech.domain.jobs import Kind, Priority, Status, hash_code
from fieldtech.domain.templates import template_for

Row = dict[str, Any]  # one record as the store and HQ take it
_T = TypeVar("_T")


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: random.Random, weighted: Sequence[tuple[_T, float]]) -> _T:
    items, weights = zip(*weighted, strict=True)
    return cast(_T, rng.choices(items, weights)[0])


def _uuid(rng: random.Random, ts_ms: int) -> str:
    """A UUIDv7-shaped id drawn from the seeded generator, so demo data is reproducible."""
    import uuid

    value = (ts_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64
    value |= 0b10 << 62 | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


@dataclass
class DemoSet:
    customers: list[Row]
    sites: list[Row]
    appliances: list[Row]
    jobs: list[Row]  # as HQ keeps them: with the customer's confirmation code
    parts: list[Row]
    stock: list[Row]  # ledger lines received into the van

    def device_jobs(self) -> list[Row]:
        """The jobs as a device keeps them: the code's salted hash, never the code. The
        codes are public (the demo shows them), so the hash is the cheapest there is:
        `seed --jobs 100000` stays quick."""
        out = []
        for j in self.jobs:
            row = {k: v for k, v in j.items() if k != "confirmation_code"}
            row["confirmation_hash"] = hash_code(j["confirmation_code"], j["id"], DEMO_ROUNDS)
            out.append(row)
        return out


# Meta `demo_data` of a profile `fieldtech seed` filled: its jobs' codes are `demo_code`.
SEEDED = "seeded"
DEMO_ROUNDS = 1


def demo_code(ref: str) -> str:
    """The six-digit confirmation code of a demo job: derived from its reference, so the
    demo can show it (as the customer's phone would) without any device keeping it, and
    J-000003 has the same code in every seeded profile (the README closes it)."""
    import hashlib

    digest = hashlib.sha256(f"fieldtech demo code {ref}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**6:06d}"


def parts_catalog() -> list[Row]:
    return [
        {
            "sku": sku,
            "name": name,
            "category": cat,
            "unit": unit,
            "barcode": f"69{i:011d}",
            "price_cents": 500 + 731 * i % 20000,
        }
        for i, (sku, name, cat, unit) in enumerate(PARTS, start=1)
    ]


def generate(
    jobs: int,
    *,
    now: datetime,
    seed: int = 7,
    technician_id: str = "tech-demo",
    team: str = "north",
) -> DemoSet:
    rng = random.Random(seed)
    base_ms = int(now.timestamp() * 1000) - 400 * 86_400_000
    customers, sites, appliances = _customers(rng, max(1, jobs // 3), now, base_ms)
    by_customer: dict[str, list[Row]] = {}
    for a in appliances:
        by_customer.setdefault(a["customer_id"], []).append(a)
    owner = {"technician_id": technician_id, "team": team}
    job_rows = list(_jobs(rng, jobs, now, customers, sites, by_customer, owner, base_ms))
    parts = parts_catalog()
    return DemoSet(
        customers, sites, appliances, job_rows, parts, _van_stock(rng, parts, now, base_ms)
    )


def _customers(
    rng: random.Random, count: int, now: datetime, base_ms: int
) -> tuple[list[Row], list[Row], list[Row]]:
    """Customers, each with one site and one to three appliances there."""
    customers, sites, appliances = [], [], []
    for c in range(count):
        customer = _customer(rng, now, base_ms + c)
        site = _site(rng, customer, base_ms + c)
        customers.append(customer)
        sites.append(site)
        appliances += _appliances(rng, site, now, base_ms + c)
    return customers, sites, appliances


def _customer(rng: random.Random, now: datetime, ts_ms: int) -> Row:
    name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
    return {
        "id": _uuid(rng, ts_ms),
        "name": name,
        "phone": f"+86 1{rng.randrange(30, 99)} "
        f"{rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
        "email": None,
        "vip": int(rng.random() < 0.04),
        "notes": None,
        "created_at": _iso(now - timedelta(days=rng.randrange(30, 900))),
    }


def _site(rng: random.Random, customer: Row, ts_ms: int) -> Row:
    """The customer's site; a high city's altitude is one of its hazards."""
    city = rng.choice(CITIES)
    sid = _uuid(rng, ts_ms)
    hazards = rng.sample(HAZARDS, k=rng.choice((0, 0, 1, 2)))
    if city in HIGH_CITIES:
        hazards.append(f"altitude {HIGH_CITIES[city]:,} m")
    return {
        "id": sid,
        "customer_id": customer["id"],
        "address": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
        "city": city,
        "contact_name": customer["name"],
        "contact_phone": customer["phone"],
        "access_notes": rng.choice(ACCESS),
        "hazards": hazards,
        "altitude_m": HIGH_CITIES.get(city),
    }


def _appliances(rng: random.Random, site: Row, now: datetime, ts_ms: int) -> list[Row]:
    out = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        category = rng.choice(tuple(APPLIANCES))
        brand, model = rng.choice(APPLIANCES[category])
        out.append(
            {
                "id": _uuid(rng, ts_ms),
                "customer_id": site["customer_id"],
                "site_id": site["id"],
                "category": category,
                "brand": brand,
                "model": model,
                "serial": f"{brand[:2].upper()}{rng.randrange(10**9, 10**10)}",
                "installed_on": (now - timedelta(days=rng.randrange(10, 2000))).date().isoformat(),
            }
        )
    return out


def _van_stock(rng: random.Random, parts: list[Row], now: datetime, base_ms: int) -> list[Row]:
    """Every part of the catalogue, a few of each, loaded into the van the day before."""
    return [
        {
            "id": _uuid(rng, base_ms + i),
            "sku": p["sku"],
            "kind": "received",
            "qty": rng.randrange(2, 12),
            "reason": "van loaded at the outlet",
            "actor": "hq",
            "hlc": f"{base_ms:013d}-{i:05d}-hq",
            "at": _iso(now - timedelta(days=1)),
        }
        for i, p in enumerate(parts)
    ]


def _jobs(
    rng: random.Random,
    count: int,
    now: datetime,
    customers: list[Row],
    sites: list[Row],
    by_customer: dict[str, list[Row]],
    owner: Row,
    base_ms: int,
) -> Iterator[Row]:
    for n in range(count):
        i = rng.randrange(len(customers))
        customer, site = customers[i], sites[i]
        appliance = rng.choice(by_customer[customer["id"]])
        yield _job(rng, n, now, customer, site, appliance, owner, base_ms)


def _job(
    rng: random.Random,
    n: int,
    now: datetime,
    customer: Row,
    site: Row,
    appliance: Row,
    owner: Row,
    base_ms: int,
) -> Row:
    """The n-th job (J-00000n+1): drawn open or as far along its day as its status says."""
    kind, priority, status = _kind_priority_status(rng, customer)
    start = _window_start(rng, now, status)
    tmpl = template_for(kind.value, appliance["category"])
    created = start - timedelta(hours=rng.randrange(2, 96))
    job_id = _uuid(rng, base_ms + n)
    summary = f"{rng.choice(SUMMARIES[kind])} — {appliance['category']}"
    # A code was once drawn here: still drawn, so the rest of the demo data is as it was.
    # The code comes from the ref, so the demo can show it without a device keeping it.
    rng.randrange(0, 10**6)
    row = {
        "id": job_id,
        "ref": f"J-{n + 1:06d}",
        "kind": kind.value,
        "priority": priority.value,
        "priority_rank": priority.rank,
        "status": status.value,
        "customer_id": customer["id"],
        "site_id": site["id"],
        "appliance_id": appliance["id"],
        "technician_id": owner["technician_id"],
        "team": owner["team"],
        "summary": summary,
        "description": None,
        "window_start": _iso(start),
        "window_end": _iso(start + timedelta(hours=2)),
        "sla_due": _iso(created + timedelta(hours=SLA_HOURS[priority])),
        "template_id": tmpl.id if tmpl else None,
        "template_version": tmpl.version if tmpl else None,
        "confirmation_code": demo_code(f"J-{n + 1:06d}"),
        "arrived_at": None,
        "hold_reason": None,
        "hold_for": None,
        "outcome": None,
        "signoff_name": None,
        "rating": None,
        "closed_at": None,
        "cannot_complete_reason": None,
        "parent_job_id": None,
        "created_at": _iso(created),
        "updated_at": _iso(created),
        "stamps": "{}",
        "escalation_level": 0,
    }
    _bring_to(row, status, rng, kind, customer, start)
    return row


def _kind_priority_status(rng: random.Random, customer: Row) -> tuple[Kind, Priority, Status]:
    """Drawn by weight; a VIP customer's job is at least VIP."""
    kind = _pick(rng, KIND_WEIGHTS)
    priority = _pick(rng, PRIORITY_WEIGHTS)
    if customer["vip"] and priority.rank > Priority.VIP.rank:
        priority = Priority.VIP
    return kind, priority, _pick(rng, STATUS_WEIGHTS)


def _window_start(rng: random.Random, now: datetime, status: Status) -> datetime:
    """On the hour, from three days ago to ten days ahead; a closed job up to two months earlier."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(
        hours=rng.randrange(-72, 24 * 10)
    )
    if not status.is_open:
        start -= timedelta(days=rng.randrange(1, 60))
    return start


def _bring_to(
    row: Row, status: Status, rng: random.Random, kind: Kind, customer: Row, start: datetime
) -> None:
    """What a job at this status has behind it: the arrival, the hold, the sign-off, the
    reason it could not be completed."""
    if status in (Status.ON_SITE, Status.IN_PROGRESS, Status.COMPLETED):
        row["arrived_at"] = row["window_start"]
    if status is Status.ON_HOLD:
        row["hold_reason"] = rng.choice(("waiting for parts", "waiting for customer"))
        row["hold_for"] = "parts" if row["hold_reason"] == "waiting for parts" else "customer"
    if status is Status.COMPLETED:
        row.update(
            outcome={
                "install": "installed",
                "repair": "repaired",
                "survey": "surveyed",
                "inspection": "inspected",
            }.get(kind.value, "maintained"),
            signoff_name=customer["name"],
            rating=rng.choice((5, 5, 5, 4, 4, 3)),
            closed_at=_iso(start + timedelta(hours=2)),
        )
    if status is Status.CANNOT_COMPLETE:
        row.update(
            cannot_complete_reason="customer not at home",
            closed_at=_iso(start + timedelta(hours=1)),
        )

"""Realistic, deterministic demo data: the same seed and day give the same records.

Pure generation (no I/O): the seed service loads it into a device store, HQ into its own.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from fieldtech.domain.jobs import Kind, Priority, Status, hash_code
from fieldtech.domain.templates import template_for

GIVEN = (
    "Li",
    "Wang",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Maria",
    "Ahmed",
    "Olga",
    "Kofi",
    "Priya",
    "Diego",
    "Aiko",
    "Lars",
    "Fatima",
    "Tenzin",
)
FAMILY = (
    "Wei",
    "Fang",
    "Min",
    "Jing",
    "Lei",
    "Hui",
    "Santos",
    "Haddad",
    "Ivanova",
    "Mensah",
    "Sharma",
    "Lopez",
    "Tanaka",
    "Berg",
    "Rahman",
    "Dorje",
    "Novak",
    "Okafor",
)
STREETS = (
    "Harbour Rd",
    "Station St",
    "Mill Lane",
    "Pine Ave",
    "Riverside Dr",
    "Temple St",
    "Market Sq",
    "Orchard Way",
    "Hillcrest Rd",
    "Lake View",
)
CITIES = ("Qingdao", "Lhasa", "Shigatse", "Kunming", "Chengdu", "Xining", "Nyingchi", "Dali")
HIGH_CITIES = {"Lhasa": 3650, "Shigatse": 3840, "Xining": 2275, "Nyingchi": 2950}
HAZARDS = (
    "crane needed",
    "no signal after the pass",
    "dog on site",
    "narrow stairs",
    "roof access by ladder only",
    "asbestos survey pending",
    "gate code required",
)
ACCESS = (
    "ring the side gate",
    "key with the neighbour at no. 12",
    "call 30 min before",
    "park in the rear yard",
    "lift to 9th floor, then roof hatch",
)

APPLIANCES = {
    "air conditioner": (("Haier", "AS35S2SF1FA"), ("Haier", "AS50TDMHRA"), ("Gree", "GWH12QC")),
    "water heater": (("Haier", "ES60H-GD5"), ("Ariston", "VELIS 80")),
    "solar water heater": (("Haier", "SJ-DF-20"), ("Himin", "HM-200")),
    "refrigerator": (("Haier", "HRF-522FF"), ("Casarte", "BCD-650")),
    "washing machine": (("Haier", "HW80-B14979"), ("Little Swan", "TG100")),
}

PARTS = (
    ("AC-CAP-35", "Run capacitor 35 µF", "air conditioner", "pc"),
    ("AC-PIPE-14", "Copper pipe 1/4 in, per metre", "air conditioner", "m"),
    ("AC-PIPE-38", "Copper pipe 3/8 in, per metre", "air conditioner", "m"),
    ("AC-R32-1KG", "Refrigerant R32, 1 kg", "air conditioner", "kg"),
    ("AC-DRAIN-16", "Condensate hose 16 mm, per metre", "air conditioner", "m"),
    ("AC-BRKT-OD", "Outdoor unit wall bracket", "air conditioner", "pc"),
    ("AC-PCB-IDU", "Indoor unit control board", "air conditioner", "pc"),
    ("AC-FAN-MTR", "Indoor fan motor", "air conditioner", "pc"),
    ("WH-ANODE-M", "Magnesium anode rod", "water heater", "pc"),
    ("WH-ELEM-2K", "Heating element 2 kW", "water heater", "pc"),
    ("WH-PRV-07", "Pressure-relief valve 0.7 MPa", "water heater", "pc"),
    ("WH-RED-VLV", "Pressure-reducing valve", "water heater", "pc"),
    ("WH-THERMO", "Thermostat", "water heater", "pc"),
    ("SW-TUBE-58", "Evacuated tube 58x1800", "solar water heater", "pc"),
    ("SW-SEAL-58", "Tube seal ring 58 mm", "solar water heater", "pc"),
    ("SW-GLYCOL", "Antifreeze glycol, 5 L", "solar water heater", "can"),
    ("RF-GASKET", "Door gasket", "refrigerator", "pc"),
    ("RF-THERM", "Defrost thermostat", "refrigerator", "pc"),
    ("WM-PUMP", "Drain pump", "washing machine", "pc"),
    ("WM-BELT", "Drive belt", "washing machine", "pc"),
    ("GEN-RCD-30", "RCD 30 mA", "general", "pc"),
    ("GEN-CABLE-25", "Cable 2.5 mm², per metre", "general", "m"),
    ("GEN-ANCHOR-10", "Anchor bolt M10", "general", "pc"),
    ("GEN-COVERS", "Shoe covers, pair", "general", "pair"),
)

KIND_WEIGHTS = (
    (Kind.REPAIR, 40),
    (Kind.INSTALL, 25),
    (Kind.MAINTENANCE, 15),
    (Kind.SURVEY, 10),
    (Kind.INSPECTION, 10),
)
PRIORITY_WEIGHTS = (
    (Priority.EMERGENCY, 3),
    (Priority.VIP, 5),
    (Priority.HIGH, 15),
    (Priority.NORMAL, 60),
    (Priority.LOW, 17),
)
STATUS_WEIGHTS = (
    (Status.ASSIGNED, 45),
    (Status.EN_ROUTE, 5),
    (Status.ON_SITE, 4),
    (Status.IN_PROGRESS, 6),
    (Status.ON_HOLD, 6),
    (Status.COMPLETED, 28),
    (Status.CANNOT_COMPLETE, 3),
    (Status.CANCELLED, 3),
)
SLA_HOURS = {
    Priority.EMERGENCY: 4,
    Priority.VIP: 8,
    Priority.HIGH: 24,
    Priority.NORMAL: 48,
    Priority.LOW: 120,
}
SUMMARIES = {
    Kind.REPAIR: (
        "Not cooling",
        "Leaking water",
        "Error code E4",
        "No hot water",
        "Noisy outdoor unit",
        "Trips the breaker",
        "Door does not seal",
    ),
    Kind.INSTALL: ("Install new unit", "Replace old unit and install", "Install after survey"),
    Kind.MAINTENANCE: ("Yearly service", "Filter and coil clean", "Anode check"),
    Kind.SURVEY: ("Site survey before install", "Roof survey for solar heater"),
    Kind.INSPECTION: ("Safety inspection", "Post-install inspection"),
}


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
    n_customers = max(1, jobs // 3)
    customers, sites, appliances = [], [], []
    for c in range(n_customers):
        name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
        cid = _uuid(rng, base_ms + c)
        customers.append(
            {
                "id": cid,
                "name": name,
                "phone": f"+86 1{rng.randrange(30, 99)} "
                f"{rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
                "email": None,
                "vip": int(rng.random() < 0.04),
                "notes": None,
                "created_at": _iso(now - timedelta(days=rng.randrange(30, 900))),
            }
        )
        city = rng.choice(CITIES)
        sid = _uuid(rng, base_ms + c)
        hazards = rng.sample(HAZARDS, k=rng.choice((0, 0, 1, 2)))
        if city in HIGH_CITIES:
            hazards.append(f"altitude {HIGH_CITIES[city]:,} m")
        sites.append(
            {
                "id": sid,
                "customer_id": cid,
                "address": f"{rng.randrange(1, 400)} {rng.choice(STREETS)}",
                "city": city,
                "contact_name": name,
                "contact_phone": customers[-1]["phone"],
                "access_notes": rng.choice(ACCESS),
                "hazards": hazards,
                "altitude_m": HIGH_CITIES.get(city),
            }
        )
        for _ in range(rng.choice((1, 1, 2, 3))):
            category = rng.choice(tuple(APPLIANCES))
            brand, model = rng.choice(APPLIANCES[category])
            appliances.append(
                {
                    "id": _uuid(rng, base_ms + c),
                    "customer_id": cid,
                    "site_id": sid,
                    "category": category,
                    "brand": brand,
                    "model": model,
                    "serial": f"{brand[:2].upper()}{rng.randrange(10**9, 10**10)}",
                    "installed_on": (now - timedelta(days=rng.randrange(10, 2000)))
                    .date()
                    .isoformat(),
                }
            )
    by_customer: dict[str, list[Row]] = {}
    for a in appliances:
        by_customer.setdefault(a["customer_id"], []).append(a)
    job_rows = list(
        _jobs(rng, jobs, now, customers, sites, by_customer, technician_id, team, base_ms)
    )
    parts = parts_catalog()
    stock = [
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
    return DemoSet(customers, sites, appliances, job_rows, parts, stock)


def _jobs(
    rng: random.Random,
    count: int,
    now: datetime,
    customers: list[Row],
    sites: list[Row],
    by_customer: dict[str, list[Row]],
    technician_id: str,
    team: str,
    base_ms: int,
) -> Iterator[Row]:
    for n in range(count):
        i = rng.randrange(len(customers))
        customer, site = customers[i], sites[i]
        appliance = rng.choice(by_customer[customer["id"]])
        kind = _pick(rng, KIND_WEIGHTS)
        priority = _pick(rng, PRIORITY_WEIGHTS)
        if customer["vip"] and priority.rank > Priority.VIP.rank:
            priority = Priority.VIP
        status = _pick(rng, STATUS_WEIGHTS)
        start = now.replace(minute=0, second=0, microsecond=0) + timedelta(
            hours=rng.randrange(-72, 24 * 10)
        )
        if not status.is_open:
            start -= timedelta(days=rng.randrange(1, 60))
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
            "technician_id": technician_id,
            "team": team,
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
        yield row

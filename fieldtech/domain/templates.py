"""The default checklist templates a new device or HQ starts with, and which template a new
job gets. A template's JSON form is read in `template_json`.

Courtesy items (the "five ones") stand beside the technical readings: they are part of the job.
"""

from __future__ import annotations

from fieldtech.domain.checklists import Item, ItemType, OutOfRange, Template

# Also offered here, where the device's sync and HQ's catalogue have always imported it.
from fieldtech.domain.template_json import template_from_json as template_from_json

T, N, C, X, P, S = (
    ItemType.TICK,
    ItemType.NUMBER,
    ItemType.CHOICE,
    ItemType.TEXT,
    ItemType.PHOTO,
    ItemType.SIGNATURE,
)
BLOCK = OutOfRange.BLOCK


def _courtesy_arrival() -> list[Item]:
    s = "Courtesy"
    return [
        Item("service_card", "Service card handed to the customer", T, s, required=True),
        Item("shoe_covers", "Shoe covers worn indoors", T, s, required=True),
        Item("floor_cloth", "Protective floor cloth laid", T, s, required=True),
    ]


def _courtesy_leaving() -> list[Item]:
    s = "Hand-over"
    return [
        Item("clean_up", "Site cleaned with own cloth; dust-free", T, s, required=True),
        Item(
            "other_appliances",
            "Offered a check of the customer's other appliances",
            T,
            s,
            required=True,
        ),
        Item("customer_signature", "Customer signature", S, s, required=True),
    ]


def _teach() -> Item:
    return Item(
        "demo_given", "Customer shown how to use the product", T, "Hand-over", required=True
    )


SPLIT_AC = Template(
    "split-ac-install",
    1,
    "Split air conditioner install",
    "install",
    "air conditioner",
    tuple(
        _courtesy_arrival()
        + [
            Item(
                "wall_type",
                "Wall type",
                C,
                "Mounting",
                True,
                choices=("brick", "concrete", "timber frame", "plasterboard"),
            ),
            Item("bracket_level", "Outdoor bracket level and anchored", T, "Mounting", True),
            Item(
                "supply_voltage",
                "Supply voltage",
                N,
                "Commissioning",
                True,
                "V",
                198,
                242,
                out_of_range=BLOCK,
            ),
            Item(
                "evacuation",
                "Evacuation (vacuum) reached",
                N,
                "Commissioning",
                True,
                "microns",
                None,
                500,
                out_of_range=BLOCK,
            ),
            Item("vacuum_hold", "Vacuum held", N, "Commissioning", True, "min", 10, 15),
            Item("leak_check", "Leak check passed", T, "Commissioning", True),
            Item("drain_test", "Condensate drain test passed", T, "Commissioning", True),
            Item(
                "delta_t",
                "Return/supply air difference (cooling)",
                N,
                "Commissioning",
                True,
                "°C",
                8,
                None,
            ),
            Item(
                "insulation",
                "Insulation resistance",
                N,
                "Commissioning",
                True,
                "MΩ",
                2,
                None,
                out_of_range=BLOCK,
            ),
            Item("install_photo", "Photo of indoor and outdoor units", P, "Commissioning"),
            _teach(),
        ]
        + _courtesy_leaving()
    ),
)

WATER_HEATER = Template(
    "water-heater-install",
    1,
    "Electric storage water heater install",
    "install",
    "water heater",
    tuple(
        _courtesy_arrival()
        + [
            Item("wall_load", "Wall can carry the full tank", T, "Mounting", True),
            Item(
                "earth_continuity",
                "Earth continuity",
                N,
                "Safety",
                True,
                "Ω",
                None,
                0.5,
                out_of_range=BLOCK,
            ),
            Item("rcd_trip", "RCD trip test passed", T, "Safety", True),
            Item("prv_fitted", "Pressure-relief valve fitted", T, "Safety", True),
            Item(
                "mains_pressure",
                "Mains water pressure",
                N,
                "Safety",
                True,
                "MPa",
                None,
                0.75,
                help="above 0.75 MPa a reducing valve must be fitted; say so in the comment",
            ),
            Item(
                "reducing_valve",
                "Pressure-reducing valve",
                C,
                "Safety",
                choices=("fitted", "not needed"),
            ),
            _teach(),
        ]
        + _courtesy_leaving()
    ),
)

SOLAR = Template(
    "solar-heater-install",
    1,
    "Rooftop solar water heater install",
    "install",
    "solar water heater",
    tuple(
        _courtesy_arrival()
        + [
            Item(
                "roof_access", "Roof access", C, "Site", True, choices=("ladder", "stairs", "crane")
            ),
            Item("frame_anchored", "Frame anchored for wind load", T, "Mounting", True),
            Item("tubes_intact", "All vacuum tubes intact", T, "Mounting", True),
            Item("tube_count", "Tubes fitted", N, "Mounting", True, "tubes", 10, 30),
            Item("antifreeze", "Antifreeze / drain-down checked", T, "Commissioning", True),
            Item("altitude", "Site altitude", N, "Commissioning", unit="m", min=0, max=5000),
            Item("roof_photo", "Photo of the installed collector", P, "Commissioning"),
            _teach(),
        ]
        + _courtesy_leaving()
    ),
)

FRIDGE = Template(
    "fridge-install",
    1,
    "Refrigerator delivery and install",
    "install",
    "refrigerator",
    tuple(
        _courtesy_arrival()
        + [
            Item("unpacked_undamaged", "Unpacked with no transport damage", T, "Delivery", True),
            Item("levelled", "Levelled, doors close by themselves", T, "Install", True),
            Item("clearance", "Ventilation clearance kept", N, "Install", True, "cm", 5, None),
            Item(
                "supply_voltage",
                "Supply voltage",
                N,
                "Install",
                True,
                "V",
                198,
                242,
                out_of_range=BLOCK,
            ),
            Item("packaging_removed", "Packaging taken away", T, "Install", True),
            _teach(),
        ]
        + _courtesy_leaving()
    ),
)

REPAIR = Template(
    "repair-visit",
    1,
    "Repair visit",
    "repair",
    None,
    tuple(
        _courtesy_arrival()
        + [
            Item(
                "fault_confirmed",
                "Fault as reported",
                C,
                "Diagnosis",
                True,
                choices=("confirmed", "different fault", "not reproduced"),
            ),
            Item("diagnosis", "Diagnosis", X, "Diagnosis", True),
            Item("repair_done", "Repair carried out", X, "Repair"),
            Item("function_test", "Function test passed after repair", T, "Repair", True),
            Item("fault_photo", "Photo of the faulty part", P, "Repair"),
        ]
        + _courtesy_leaving()
    ),
)

SURVEY = Template(
    "site-survey",
    1,
    "Site survey",
    "survey",
    None,
    tuple(
        _courtesy_arrival()
        + [
            Item(
                "wall_type",
                "Wall type",
                C,
                "Site",
                True,
                choices=("brick", "concrete", "timber frame", "plasterboard"),
            ),
            Item(
                "power_supply",
                "Supply voltage at the point of install",
                N,
                "Site",
                True,
                "V",
                198,
                242,
            ),
            Item("dedicated_circuit", "Dedicated circuit available", T, "Site"),
            Item(
                "access",
                "Access",
                C,
                "Site",
                True,
                choices=("ground", "ladder", "scaffold", "crane"),
            ),
            Item(
                "crane_needed",
                "Crane needed for the install",
                C,
                "Site",
                True,
                choices=("yes", "no"),
            ),
            Item("site_photo", "Photo of the install location", P, "Site"),
            Item("survey_notes", "Design notes for the installer", X, "Design", True),
        ]
        + _courtesy_leaving()
    ),
)

MAINTENANCE = Template(
    "maintenance-visit",
    1,
    "Planned maintenance visit",
    "maintenance",
    None,
    tuple(
        _courtesy_arrival()
        + [
            Item("filters_cleaned", "Filters cleaned or replaced", T, "Service", True),
            Item("supply_voltage", "Supply voltage", N, "Service", True, "V", 198, 242),
            Item("function_test", "Function test passed", T, "Service", True),
            Item("next_visit", "Advice for the next visit", X, "Service"),
        ]
        + _courtesy_leaving()
    ),
)

DEFAULT_TEMPLATES: tuple[Template, ...] = (
    SPLIT_AC,
    WATER_HEATER,
    SOLAR,
    FRIDGE,
    REPAIR,
    SURVEY,
    MAINTENANCE,
)


def template_for(kind: str, category: str | None) -> Template | None:
    """The default template that fits a job: same kind and category, else same kind."""
    for t in DEFAULT_TEMPLATES:
        if t.job_kind == kind and t.category == category:
            return t
    for t in DEFAULT_TEMPLATES:
        if t.job_kind == kind and t.category is None:
            return t
    if kind == "inspection":
        return MAINTENANCE
    return None


def pick_template(
    kind: str, category: str | None, available: list[tuple[str, int, str, str | None]]
) -> tuple[str, int] | None:
    """The template and version a new job gets, from the templates on hand: each as
    (id, newest version, job kind, category) of its newest version.

    The template is chosen like `template_for` (same kind and category, else same kind
    without a category; inspections fall back to the maintenance visit); a default
    template's id is preferred over others that fit equally, so an uploaded template takes
    over a default by being a new version of it. The version is always the newest."""
    newest = {tid: version for tid, version, _k, _c in available}
    defaults = {t.id for t in DEFAULT_TEMPLATES}

    def best(fits: list[str]) -> str | None:
        if not fits:
            return None
        return min(fits, key=lambda tid: (tid not in defaults, tid))

    chosen = best([t for t, _v, k, c in available if k == kind and c == category]) or best(
        [t for t, _v, k, c in available if k == kind and c is None]
    )
    if chosen is None and kind == "inspection" and MAINTENANCE.id in newest:
        chosen = MAINTENANCE.id
    if chosen is None:
        fallback = template_for(kind, category)
        return (fallback.id, fallback.version) if fallback else None
    return chosen, newest[chosen]

"""What the demo's records are drawn from: names, places, hazards, appliances, parts, and
how often each kind, priority and status of job comes up.

Changing any of it changes every seeded profile (the seed draws from these in order).
"""

from __future__ import annotations

from fieldtech.domain.jobs import Kind, Priority, Status

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

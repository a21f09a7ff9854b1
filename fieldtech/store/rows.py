"""Rows the store hands to the layers above it (screens, CLI, services), by name and type.

Values are as SQLite keeps them: text for ids, times (ISO 8601, UTC) and statuses, integers
for ranks and counts. The store builds them from its cursors; nothing above writes them.
The rows an operation writes (fieldtech.domain.ops.expand) have these shapes too; where the
device's copy holds more than the operation wrote (a part request's and a call-back's
technician), the stored row is the operation's row plus those columns.
"""

from __future__ import annotations

from typing import Any, TypedDict

QueueCursor = tuple[Any, ...]  # where a window of the queue ended (its sort key)


class QueueRow(TypedDict):
    """One line of the queue: enough for the list, nothing more (store.jobs.QUEUE_SQL)."""

    id: str
    ref: str
    kind: str
    priority: str
    priority_rank: int
    status: str
    summary: str
    sla_due: str
    window_start: str
    window_end: str | None
    escalation_level: int
    search_key: int | None
    technician_id: str | None
    customer: str
    address: str
    city: str | None
    cursor: QueueCursor  # pass back as `after` for the rows that follow


class JobRow(TypedDict):
    """A job as the device keeps it (the `jobs` table, after every migration); `stamps`
    (each field's HLC) decoded."""

    id: str
    ref: str
    kind: str
    priority: str
    priority_rank: int
    status: str
    open: int
    customer_id: str
    site_id: str
    appliance_id: str | None
    technician_id: str | None
    team: str | None
    summary: str
    description: str | None
    window_start: str
    window_end: str | None
    sla_due: str
    template_id: str | None
    template_version: int | None
    arrived_at: str | None
    hold_reason: str | None
    hold_for: str | None
    outcome: str | None
    signoff_name: str | None
    rating: int | None
    closed_at: str | None
    cannot_complete_reason: str | None
    parent_job_id: str | None
    created_at: str
    updated_at: str
    stamps: dict[str, Any]
    escalation_level: int
    escalation_ack_level: int
    search_key: int | None
    confirmation_hash: str | None


class CustomerRow(TypedDict):
    """A customer (the `customers` table); `history` is HQ's customer file as it sent it
    (JSON text), read by the store's customer_history."""

    id: str
    name: str
    phone: str | None
    email: str | None
    vip: int
    notes: str | None
    created_at: str | None
    history: str | None


class SiteRow(TypedDict):
    """A customer's site (the `sites` table), its `hazards` decoded to a list."""

    id: str
    customer_id: str
    address: str
    city: str | None
    contact_name: str | None
    contact_phone: str | None
    access_notes: str | None
    hazards: list[str]
    altitude_m: int | None


class ApplianceRow(TypedDict):
    """An appliance at a customer's (the `appliances` table)."""

    id: str
    customer_id: str
    site_id: str | None
    category: str
    brand: str | None
    model: str | None
    serial: str | None
    installed_on: str | None


class JobCard(JobRow):
    """A job with its customer, site and appliance, as the job screen and `job show` need.
    Each is None when this device does not hold it."""

    customer: CustomerRow | None
    site: SiteRow | None
    appliance: ApplianceRow | None


class JobEvent(TypedDict):
    """One line of a job's history (the `job_events` table): status moves, notes,
    escalations, reassignments."""

    id: str
    job_id: str
    kind: str
    from_status: str | None
    to_status: str | None
    body: str | None
    actor: str | None
    hlc: str
    at: str


class PastJob(TypedDict):
    """An earlier job of the customer, from this device or from HQ's customer file (which
    may leave any field out: then it is None)."""

    id: str | None
    ref: str | None
    kind: str | None
    status: str | None
    summary: str | None
    created_at: str | None
    closed_at: str | None
    outcome: str | None
    rating: int | None


class CustomerFile(TypedDict):
    """The customer's earlier jobs, newest first, and every appliance on record."""

    jobs: list[PastJob]
    appliances: list[ApplianceRow]


class TemplateHead(TypedDict):
    """A checklist template by its newest version (no items)."""

    id: str
    version: int
    name: str
    job_kind: str
    category: str | None


class ReadingRow(TypedDict):
    """One checklist reading as recorded (the `readings` table); the latest per item counts."""

    id: str
    job_id: str
    item_key: str
    value: str
    verdict: str
    comment: str | None
    actor: str | None
    hlc: str
    at: str


class PartRow(TypedDict):
    """A part of the catalogue (the `parts` table)."""

    sku: str
    name: str
    category: str | None
    unit: str
    barcode: str | None
    price_cents: int | None


class StockMovement(TypedDict):
    """One movement of van stock (the `stock_ledger` table); `override` is 1 when a part
    was used beyond what the ledger said the van held."""

    id: str
    sku: str
    kind: str
    qty: int
    job_id: str | None
    request_id: str | None
    reason: str | None
    override: int
    actor: str | None
    hlc: str
    at: str


class LedgerLine(StockMovement):
    """A movement with its part's name."""

    name: str


class PartRequest(TypedDict):
    """A request for a part, as the operation that makes it writes it."""

    id: str
    sku: str
    qty: int
    job_id: str | None
    status: str
    note: str | None
    decided_reason: str | None
    created_at: str
    updated_at: str
    hlc: str


class PartRequestRow(PartRequest):
    """A request as the device keeps it (the `part_requests` table): whose it is comes from
    HQ, None until HQ has sent it back."""

    technician_id: str | None


class TeamRequest(PartRequestRow):
    """A request of the team, as a supervisor decides on it: the part's and technician's
    names, and the job's ref when it is for a job."""

    part: str
    technician: str | None
    job_ref: str | None


class Callback(TypedDict):
    """The customer's call-back after a closed job, scores 1–5, as the operation that
    records it writes it."""

    id: str
    job_id: str
    skill: int
    attitude: int
    adherence: int
    comment: str | None
    recorded_by: str | None
    at: str


class CallbackRow(Callback):
    """A call-back as the device keeps it (the `callbacks` table), with the technician the
    job was with."""

    technician_id: str | None


class Conflict(TypedDict):
    """A field where HQ and this device disagreed, as sync recorded it (the `conflicts`
    table)."""

    id: str
    entity: str
    entity_id: str
    field: str
    mine: str | None
    theirs: str | None
    theirs_by: str | None
    theirs_at: str | None
    mine_at: str | None
    detected_at: str
    seen: int


class Notice(TypedDict):
    """What sync told this person that is not a conflict: a job reassigned away (the
    `notices` table)."""

    id: str
    kind: str
    job_id: str
    ref: str | None
    who: str | None
    who_id: str | None
    at: str | None
    work_kept: int
    created_at: str
    seen: int


class OutboxRow(TypedDict):
    """An operation waiting for HQ, or refused by it (the `outbox` table), its `payload`
    decoded from JSON: an object for every operation this device writes, whatever a file
    salvaged after damage held."""

    id: str
    hlc: str
    device_id: str
    op: str
    entity: str
    entity_id: str
    payload: Any
    priority: int
    created_at: str
    state: str
    reason: str | None
    attempts: int


class RosterRow(TypedDict):
    """A technician a job can go to (the active technicians of the `users` table)."""

    id: str
    name: str
    team: str | None


class TeamStatusRow(TypedDict):
    """One technician's line of the team picture (store.team.TeamRows.team_status): counts
    of their jobs, and averages that are None until there is something to average."""

    technician: str
    name: str
    open: int
    in_progress: int
    on_hold_for_parts: int
    completed_today: int
    overdue: int
    escalated: int
    avg_rating: float | None
    avg_callback: float | None
    callbacks: int


class EscalatedJob(TypedDict):
    """An open escalated job as a supervisor lists it: the technician's name (their id when
    the team does not know them) and the latest escalation's words."""

    id: str
    ref: str
    priority: str
    status: str
    summary: str
    sla_due: str
    escalation_level: int
    escalation_ack_level: int
    technician: str | None
    note: str | None


class VanStockLine(TypedDict):
    """A part the van's ledger has moved, with what it holds now."""

    sku: str
    name: str
    unit: str
    on_hand: int


class PartRequestLine(PartRequestRow):
    """A request with its part's name, as the technician's list shows it."""

    name: str


class AttachmentRow(TypedDict):
    """A file kept as proof of work on a job (the `attachments` table), with what of its
    bytes HQ has acknowledged (`sent`) and whether HQ has them all (`at_hq`)."""

    id: str
    job_id: str
    sha256: str
    size: int
    media_type: str
    name: str
    caption: str | None
    item_key: str | None
    actor: str | None
    hlc: str
    at: str
    original_sha256: str | None  # a downscaled picture's original, kept until it is sent
    original_size: int | None
    sent: int
    at_hq: int
    problem: str | None


class UploadRow(TypedDict):
    """A file's bytes on their way to HQ (the `uploads` table)."""

    sha256: str
    size: int
    sent: int

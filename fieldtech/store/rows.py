"""Rows the store hands to the layers above it (screens, CLI, services), by name and type.

Values are as SQLite keeps them: text for ids, times (ISO 8601, UTC) and statuses, integers
for ranks and counts. The store builds them from its cursors; nothing above writes them.
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


class JobCard(JobRow):
    """A job with its customer, site and appliance, as the job screen and `job show` need
    (the site's `hazards` decoded to a list)."""

    customer: dict[str, Any] | None
    site: dict[str, Any] | None
    appliance: dict[str, Any] | None

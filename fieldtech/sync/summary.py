"""The plain answer a sync attempt gives the app and the log: what went, what came, or why
it failed. Kept apart from the agent so the app can name it without importing httpx."""

from __future__ import annotations

from typing import Required, TypedDict


class Reassignment(TypedDict):
    """A job HQ moved from this technician to someone else during the sync."""

    ref: str
    to: str | None
    at: str | None
    work_kept: bool


class SyncSummary(TypedDict, total=False):
    ok: Required[bool]
    # A failed attempt: why, and whether the link (not HQ) was the cause.
    error: str
    unreachable: bool
    # A successful one: the client's report (fieldtech.sync.client.SyncReport).
    requests: int
    pushed: int
    acknowledged: int
    rejected: list[dict[str, str]]  # {id, reason} per operation HQ refused
    pulled: int
    bytes_up: int
    bytes_down: int
    cursor: int
    pending: int
    reassigned: list[Reassignment]  # empty when none, or when the attempt failed

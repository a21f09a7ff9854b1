"""Merge rules, shared by device and HQ so both sides decide a conflict the same way.

- Events (history, readings, stock movements) merge by union of their ids.
- Scalars merge last-writer-wins by hybrid clock stamp; the stamp embeds the device id,
  so equal times still order the same way everywhere.
- Job status merges through the state machine: field work is never thrown away, even
  when HQ cancelled or reassigned the job meanwhile; that case is reported as a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldtech.domain.jobs import FIELD_TRANSITIONS, TERMINAL, Status


def newer(a: str | None, b: str | None) -> bool:
    """Is stamp `a` later than stamp `b`? Stamps are fixed-width, so text order is clock order."""
    if a is None:
        return False
    return b is None or a > b


def lww(
    current: dict[str, Any], stamps: dict[str, str], incoming: dict[str, Any], hlc: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """Fields of `incoming` (stamped `hlc`) that win over `current`, and the new stamps."""
    winners: dict[str, Any] = {}
    new_stamps = dict(stamps)
    for name, value in incoming.items():
        if newer(hlc, stamps.get(name)):
            winners[name] = value
            new_stamps[name] = hlc
    return winners, new_stamps


@dataclass(frozen=True)
class StatusDecision:
    apply: bool  # set the job's status to the incoming one
    conflict: str | None = None  # why this needs a person's eye, in words


# Field work that HQ must keep even when the job was cancelled meanwhile.
FIELD_WORK = frozenset(
    {
        Status.EN_ROUTE,
        Status.ON_SITE,
        Status.IN_PROGRESS,
        Status.ON_HOLD,
        Status.COMPLETED,
        Status.CANNOT_COMPLETE,
    }
)


def merge_status(current: str, frm: str, to: str) -> StatusDecision:
    """Decide a field status change `frm -> to` arriving at a job that is now `current`."""
    cur, src, dst = Status(current), Status(frm), Status(to)
    if cur == dst:
        return StatusDecision(apply=False)
    if cur == src or dst in FIELD_TRANSITIONS[cur]:
        return StatusDecision(apply=True)
    if cur is Status.CANCELLED and dst in FIELD_WORK:
        return StatusDecision(
            apply=True,
            conflict=f"HQ cancelled the job while the technician marked it {dst.words}; "
            "the field work is kept",
        )
    if dst in TERMINAL and cur not in TERMINAL:
        return StatusDecision(
            apply=True,
            conflict=f"the job was {cur.words} at HQ when the technician closed it as "
            f"{dst.words}; the field outcome is kept",
        )
    # A stale step (e.g. 'en route' arriving after 'completed'): history keeps it, status stays.
    return StatusDecision(apply=False)

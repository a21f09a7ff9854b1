"""Raising an escalation from the field: it goes out with the next sync, ahead of all else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fieldtech.domain import ops
from fieldtech.domain.errors import BadInput
from fieldtech.services.context import PRIORITY_ESCALATION, Device, history_line

if TYPE_CHECKING:
    from fieldtech.store.rows import JobEvent

MAX_NOTE = 2000


def escalate(dev: Device, job_id: str, note: str) -> JobEvent:
    """Ask HQ for help on a job ("need HQ help", with what is wrong)."""
    text = (note or "").strip()
    if not text:
        raise BadInput("say what help you need")
    if len(text) > MAX_NOTE:
        raise BadInput(f"an escalation note can be at most {MAX_NOTE} characters")
    with dev.store.transaction():
        job = dev.store.job(job_id)
        exp = dev.apply(
            ops.ESCALATION_RAISE, job["id"], {"note": text}, priority=PRIORITY_ESCALATION
        )
        return history_line(exp, ops.ESCALATION_RAISE)

"""When a job escalates, level by level: technician → supervisor → manager.

Each priority has a response target (time to be on the way) and a completion target (the
SLA). A job that misses either reaches level 1 (its technician is reminded); one overdue by
half its SLA span reaches level 2 (the supervisor); by the whole span, level 3 (management).
A technician asking HQ for help puts the job at level 2 at once. Levels never go down while
the job is open.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fieldtech.domain.jobs import Priority, Status

RESPONSE_HOURS = {
    Priority.EMERGENCY: 1,
    Priority.VIP: 2,
    Priority.HIGH: 4,
    Priority.NORMAL: 24,
    Priority.LOW: 72,
}
LEVEL_WORDS = {0: "none", 1: "technician", 2: "supervisor", 3: "manager"}
FIELD_REQUEST_LEVEL = 2
NOT_STARTED = {Status.ASSIGNED}


def _t(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def due_level(
    *, priority: str, status: str, created_at: str, sla_due: str, now: datetime, current: int = 0
) -> int:
    st = Status(status)
    if not st.is_open:
        return current
    created, due = _t(created_at), _t(sla_due)
    level = 0
    if st in NOT_STARTED and now > created + timedelta(hours=RESPONSE_HOURS[Priority(priority)]):
        level = 1
    if now > due:
        level = 1
        span = max(due - created, timedelta(hours=1))
        if now > due + span / 2:
            level = 2
        if now > due + span:
            level = 3
    return max(level, current)

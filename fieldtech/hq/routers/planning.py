"""Service standards over time: escalating late jobs, planned maintenance, a technician's day."""

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter

from fieldtech.domain.errors import BadInput
from fieldtech.hq.api_models import EscalateIn, PlanIn
from fieldtech.hq.auth import Forbidden
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.dispatch import parse_time
from fieldtech.hq.escalation import run_escalations
from fieldtech.hq.plan import day_plan
from fieldtech.hq.plan import plan_maintenance as plan
from fieldtech.hq.scope import require_admin

router = APIRouter(prefix="/v1", tags=["service"])


def _day(text: str | None) -> date:
    try:
        return date.fromisoformat(text) if text else date.today()
    except ValueError:
        raise BadInput(f"date must look like 2026-11-23, not {text!r}") from None


@router.post("/escalations/run", responses=refusals(400, 403, 422))
def run_escalations_now(body: EscalateIn, p: Who, hq: Store) -> list[dict[str, Any]]:
    """Escalate every late open job, level by level (run it every few minutes)."""
    require_admin(p)
    at = parse_time(body.at, "at") if body.at else None
    now = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else datetime.now(UTC)
    return run_escalations(hq, now)


@router.post("/plan/maintenance", responses=refusals(400, 403, 422))
def plan_maintenance(body: PlanIn, p: Who, hq: Store) -> list[dict[str, Any]]:
    """Generate the maintenance jobs falling due within `days` (idempotent)."""
    require_admin(p)
    return plan(hq, p, _day(body.date), body.days)


@router.get("/technicians/{technician_id}/day", responses=refusals(400, 403, 404, 422))
def day(technician_id: str, p: Who, hq: Store, date: str | None = None) -> list[dict[str, Any]]:
    """A technician's day as an ordered task list (their own, their team's, or any)."""
    if p.role == "technician" and technician_id != p.user_id:
        raise Forbidden("a technician sees only their own day")
    return day_plan(hq, p, technician_id, _day(date))

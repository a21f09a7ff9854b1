"""Part requests: a technician asks from the field; a supervisor approves or rejects, HQ ships."""

from typing import Any

from fastapi import APIRouter

from fieldtech.domain.parts import RequestStatus
from fieldtech.hq import requests
from fieldtech.hq.api_models import OptionalReasonIn, ReasonIn
from fieldtech.hq.deps import Store, Who, refusals

router = APIRouter(prefix="/v1/part-requests", tags=["parts"])

STEP = refusals(400, 403, 404, 409, 422)


@router.get("", responses=refusals(422))
def list_part_requests(p: Who, hq: Store, status: str | None = None) -> list[dict[str, Any]]:
    return requests.list_requests(hq, p, status)


@router.post("/{request_id}/approve", responses=STEP)
def approve(request_id: str, body: OptionalReasonIn, p: Who, hq: Store) -> dict[str, Any]:
    return requests.step(hq, p, request_id, RequestStatus.APPROVED, body.reason)


@router.post("/{request_id}/reject", responses=STEP)
def reject(request_id: str, body: ReasonIn, p: Who, hq: Store) -> dict[str, Any]:
    return requests.step(hq, p, request_id, RequestStatus.REJECTED, body.reason)


@router.post("/{request_id}/ship", responses=STEP)
def ship(request_id: str, body: OptionalReasonIn, p: Who, hq: Store) -> dict[str, Any]:
    return requests.step(hq, p, request_id, RequestStatus.SHIPPED, body.reason)

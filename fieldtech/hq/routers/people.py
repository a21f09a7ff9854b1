"""People and devices: users, their enrollment codes, and device credentials."""

from typing import Any

from fastapi import APIRouter

from fieldtech.hq import auth
from fieldtech.hq.api_models import UserIn
from fieldtech.hq.auth import Forbidden
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.scope import require_admin

router = APIRouter(prefix="/v1", tags=["users"])


@router.post("/users", status_code=201, responses=refusals(400, 403, 422))
def add_user(body: UserIn, p: Who, hq: Store) -> dict[str, Any]:
    """Create a user; the answer holds a one-time enrollment code."""
    require_admin(p)
    user, code = auth.add_user(hq, name=body.name, role=body.role, team=body.team)
    return {"user": user, "enrollment_code": code}


@router.get("/users", responses=refusals(403))
def list_users(p: Who, hq: Store) -> list[dict[str, Any]]:
    if p.is_admin:
        return auth.users(hq)
    if p.role == "supervisor":
        return auth.users(hq, team=p.team)
    raise Forbidden("only HQ staff and supervisors list users")


@router.post("/users/{user_id}/enrollment", status_code=201, responses=refusals(403, 404))
def new_enrollment(user_id: str, p: Who, hq: Store) -> dict[str, str]:
    """A fresh one-time enrollment code for a user (a new or replaced device)."""
    require_admin(p)
    return {"enrollment_code": auth.new_enrollment(hq, user_id)}


@router.get("/devices", responses=refusals(403))
def list_devices(p: Who, hq: Store) -> list[dict[str, Any]]:
    require_admin(p)
    return auth.devices(hq)


@router.post("/devices/{device_id}/revoke", responses=refusals(403, 404))
def revoke_device(device_id: str, p: Who, hq: Store) -> dict[str, int]:
    """Revoke a device's credential (lost or replaced device)."""
    require_admin(p)
    return {"revoked": auth.revoke(hq, device_id)}

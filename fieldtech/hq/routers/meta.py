"""Who am I, and the API's own document: the routes a client checks first."""

from typing import Any

from fastapi import APIRouter, Request

from fieldtech import __version__
from fieldtech.hq.api_models import MeOut
from fieldtech.hq.deps import Who, refusals

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/openapi.json", responses=refusals())
def openapi_document(request: Request, _p: Who) -> dict[str, Any]:
    """This API's OpenAPI document."""
    document: dict[str, Any] = request.app.openapi()
    return document


@router.get("/me", response_model=MeOut, responses=refusals())
def me(p: Who) -> dict[str, Any]:
    """Who this credential belongs to."""
    return {
        "user_id": p.user_id,
        "name": p.name,
        "role": p.role,
        "team": p.team,
        "device_id": p.device_id,
        "version": __version__,
    }

"""The catalogue and checklist templates: what every device reads, what HQ staff upload."""

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from fieldtech.domain.errors import BadInput
from fieldtech.hq import catalog
from fieldtech.hq.api_models import (
    PARTS_CSV,
    TEXT,
    PartIn,
    TemplateIn,
    TemplateSaved,
    body_doc,
    catalogue_from,
    first_error,
    save_parts,
    schema_of,
    text_body,
)
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.scope import require_admin

router = APIRouter(prefix="/v1", tags=["catalogue"])

PARTS_FILES: dict[str, dict[str, Any]] = {
    "text/csv": {**TEXT, "example": PARTS_CSV},
    "application/json": {"schema": schema_of(list[PartIn])},
}
PARTS_BODY = body_doc(**PARTS_FILES)
TEMPLATE_BODY = body_doc(**{"application/json": {"schema": schema_of(TemplateIn)}})


@router.post("/parts", responses=refusals(400, 403, 409, 413), openapi_extra=PARTS_BODY)
async def upload_parts(request: Request, p: Who, hq: Store) -> dict[str, int]:
    """Upload parts as CSV (sku,name,category,unit,barcode,price_cents) or a JSON list."""
    require_admin(p)
    text = await text_body(request, "catalogue")
    fmt = "json" if "json" in (request.headers.get("content-type") or "") else None
    parts = catalogue_from(text, fmt)
    return {"saved": await run_in_threadpool(save_parts, hq, parts)}


@router.get("/parts", responses=refusals(422))
def list_parts(_p: Who, hq: Store, limit: int = 1000) -> list[dict[str, Any]]:
    return catalog.list_parts(hq, max(1, min(limit, 100_000)))


@router.post(
    "/templates",
    response_model=TemplateSaved,
    responses=refusals(400, 403, 413),
    openapi_extra=TEMPLATE_BODY,
)
async def upload_template(request: Request, p: Who, hq: Store) -> dict[str, Any]:
    """Upload a checklist template (JSON). A changed template gets a new version."""
    require_admin(p)
    text = await text_body(request, "template")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise BadInput("the template must be JSON") from None
    if not isinstance(data, dict):
        raise BadInput("a template is a JSON object")
    try:
        checked = TemplateIn.model_validate(data)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        raise BadInput(f"template refused: {'.'.join(map(str, loc))}: {msg}") from None
    t = catalog.template_from_json(checked.model_dump(mode="json", exclude_none=True))
    return {"id": t.id, "version": catalog.put_template(hq, t)}

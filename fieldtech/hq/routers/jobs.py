"""Jobs and dispatch: create, list, read, import, assign and cancel jobs."""

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from fieldtech.domain.errors import BadInput, NotFound
from fieldtech.hq import dispatch, importer
from fieldtech.hq.api_models import (
    JOBS_CSV,
    TEXT,
    YEARS,
    AssignIn,
    ImportOut,
    JobIn,
    ReasonIn,
    body_doc,
    readable_csv,
    text_body,
)
from fieldtech.hq.deps import Store, Who, refusals
from fieldtech.hq.scope import require_admin

router = APIRouter(prefix="/v1", tags=["dispatch"])


@router.post("/jobs", status_code=201, responses=refusals(400, 403, 404, 422))
def create_job(body: JobIn, p: Who, hq: Store) -> dict[str, Any]:
    try:
        return dispatch.create_job(hq, p, body.model_dump(exclude_none=True))
    except IntegrityError:  # a customer_id or site_id HQ does not know
        raise NotFound("the customer or site named by id is not known at HQ") from None


@router.get("/jobs", responses=refusals(422))
def list_jobs(
    p: Who, hq: Store, status: str | None = None, technician: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Jobs you may see: your own, your team's, or all (HQ staff)."""
    return dispatch.list_jobs(
        hq, p, status=status, technician=technician, limit=max(1, min(limit, 5000))
    )


@router.get("/jobs/{job_id}", responses=refusals(404))
def get_job(job_id: str, p: Who, hq: Store) -> dict[str, Any]:
    return dispatch.get_job(hq, p, job_id)


@router.post(
    "/jobs/import",
    response_model=ImportOut,
    responses=refusals(400, 403, 413),
    openapi_extra=body_doc(**{"text/csv": {**TEXT, "example": JOBS_CSV}}),
)
async def import_jobs(request: Request, p: Who, hq: Store) -> dict[str, Any]:
    """Import jobs from CSV (see the column list in `fieldtech hq import --help`)."""
    require_admin(p)
    text = await text_body(request, "CSV")
    readable_csv(text, "job file")
    try:
        report = await run_in_threadpool(importer.import_jobs, hq, p, text)
    except OverflowError:
        lo, hi = YEARS
        raise BadInput(f"a date-time in the file is outside the years {lo}–{hi}") from None
    return report.as_dict()


@router.post("/jobs/{job_id}/assign", responses=refusals(400, 403, 404, 409, 422))
def assign(job_id: str, body: AssignIn, p: Who, hq: Store) -> dict[str, Any]:
    """Assign or reassign a job to a technician."""
    return dispatch.assign(hq, p, job_id, body.technician)


@router.post("/jobs/{job_id}/cancel", responses=refusals(400, 403, 404, 409, 422))
def cancel(job_id: str, body: ReasonIn, p: Who, hq: Store) -> dict[str, Any]:
    return dispatch.cancel(hq, p, job_id, body.reason)

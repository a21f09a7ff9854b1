"""Reports and KPIs: the customer's call-back, per-technician KPIs, a job's service report."""

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, PlainTextResponse

from fieldtech.hq import reports
from fieldtech.hq.api_models import TEXT, CallbackIn, MarkdownResponse
from fieldtech.hq.auth import Forbidden
from fieldtech.hq.callbacks import record_callback as record
from fieldtech.hq.deps import Store, Who, refusals

router = APIRouter(prefix="/v1", tags=["service"])


@router.post(
    "/jobs/{job_id}/callback", status_code=201, responses=refusals(400, 403, 404, 409, 422)
)
def record_callback(job_id: str, body: CallbackIn, p: Who, hq: Store) -> dict[str, Any]:
    """The customer call-back after a closed job: skill, attitude, adherence (1–5)."""
    return record(
        hq,
        p,
        job_id,
        skill=body.skill,
        attitude=body.attitude,
        adherence=body.adherence,
        comment=body.comment,
    )


@router.get(
    "/reports/kpis",
    response_model=list[dict[str, Any]],
    responses={200: {"content": {"text/csv": TEXT}}, **refusals(403, 422)},
)
def kpis(p: Who, hq: Store, format: Literal["json", "csv"] = "json") -> Any:
    """Per-technician KPIs over what you may see (format=json or csv)."""
    if p.role == "technician":
        raise Forbidden("only HQ staff and supervisors read team KPIs")
    rows = reports.kpis(hq, p)
    if format == "csv":
        return PlainTextResponse(reports.kpis_csv(rows), media_type="text/csv")
    return rows


@router.get(
    "/jobs/{job_id}/report",
    response_class=MarkdownResponse,
    responses={200: {"content": {"text/markdown": TEXT, "text/html": TEXT}}, **refusals(404, 422)},
)
def service_report(
    job_id: str, p: Who, hq: Store, format: Literal["md", "html"] = "md"
) -> Response:
    """The service report for one job (format=md or html)."""
    if format == "html":
        return HTMLResponse(reports.service_report_html(hq, p, job_id))
    return MarkdownResponse(reports.service_report_markdown(hq, p, job_id))

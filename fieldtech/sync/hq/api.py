"""The HQ HTTP API, /v1. Every endpoint authenticates; bodies are validated with reasons."""

import json
import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from fieldtech import __version__
from fieldtech.domain.errors import BadInput, FieldtechError, NotFound, RuleBroken
from fieldtech.domain.parts import RequestStatus
from fieldtech.sync import protocol
from fieldtech.sync.hq import auth, catalog, dispatch, importer, requests
from fieldtech.sync.hq.auth import Forbidden, Principal, Unauthorized
from fieldtech.sync.hq.db import HQ
from fieldtech.sync.hq.pull import checksum, pull
from fieldtech.sync.hq.push import WireOp, push
from fieldtech.sync.hq.scope import require_admin

log = logging.getLogger("fieldtech.hq")


class TooLarge(BadInput):
    pass


STATUS_FOR = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    TooLarge: 413,
    BadInput: 400,
    RuleBroken: 409,
}


async def text_body(request: Request, what: str) -> str:
    """An uploaded file's text: bounded in size, UTF-8, or a clear 4xx."""
    body = await request.body()
    if len(body) > protocol.MAX_BODY:
        raise TooLarge("file too large: split it")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"the {what} must be UTF-8 text") from None


class EnrollIn(BaseModel):
    code: str = Field(min_length=4, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)
    device_name: str | None = Field(None, max_length=200)


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(technician|supervisor|admin)$")
    team: str | None = Field(None, max_length=64)


class JobIn(BaseModel):
    kind: str = Field(max_length=16)
    summary: str = Field(min_length=1, max_length=500)
    priority: str = Field("normal", max_length=16)
    ref: str | None = Field(None, max_length=64)
    customer_name: str | None = Field(None, max_length=200)
    customer_phone: str | None = Field(None, max_length=64)
    customer_id: str | None = Field(None, max_length=64)
    address: str | None = Field(None, max_length=300)
    city: str | None = Field(None, max_length=100)
    site_id: str | None = Field(None, max_length=64)
    access_notes: str | None = Field(None, max_length=1000)
    hazards: list[str] | str | None = None
    appliance_category: str | None = Field(None, max_length=64)
    appliance_brand: str | None = Field(None, max_length=64)
    appliance_model: str | None = Field(None, max_length=64)
    appliance_serial: str | None = Field(None, max_length=64)
    technician: str | None = Field(None, max_length=64)
    team: str | None = Field(None, max_length=64)
    window_start: str | None = Field(None, max_length=40)
    window_end: str | None = Field(None, max_length=40)
    sla_due: str | None = Field(None, max_length=40)
    confirmation_code: str | None = Field(None, max_length=32)
    description: str | None = Field(None, max_length=4000)


class AssignIn(BaseModel):
    technician: str = Field(min_length=1, max_length=64)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class CallbackIn(BaseModel):
    skill: int = Field(ge=1, le=5)
    attitude: int = Field(ge=1, le=5)
    adherence: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=2000)


class PlanIn(BaseModel):
    date: str | None = Field(None, max_length=10, description="today, YYYY-MM-DD")
    days: int = Field(30, ge=1, le=366)


class EscalateIn(BaseModel):
    at: str | None = Field(None, max_length=40, description="judge lateness as of (UTC)")


class OptionalReasonIn(BaseModel):
    reason: str | None = Field(None, max_length=1000)


def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    return auth.authenticate(request.app.state.hq, token)


Who = Annotated[Principal, Depends(principal)]


def create_app(hq: HQ) -> FastAPI:
    app = FastAPI(
        title="fieldtech HQ", version=__version__, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.add_middleware(GZipMiddleware, minimum_size=512)
    app.state.hq = hq

    @app.exception_handler(FieldtechError)
    async def _domain_error(_request: Request, exc: FieldtechError):
        status = next((s for t, s in STATUS_FOR.items() if isinstance(exc, t)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": exc.message}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        msg = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "invalid")
        return JSONResponse({"detail": f"request refused: {msg}"}, status_code=422)

    @app.get("/v1/openapi.json", tags=["meta"])
    def openapi_document(_p: Who) -> dict[str, Any]:
        """This API's OpenAPI document."""
        return app.openapi()

    @app.get("/v1/me", tags=["meta"])
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

    @app.post("/v1/enroll", tags=["devices"])
    def enroll(body: EnrollIn) -> dict[str, Any]:
        """Exchange a one-time enrollment code for this device's credential.

        Authenticated by the code itself, which is good for one use."""
        user, token = auth.enroll(hq, body.code, body.device_id, body.device_name)
        return {"token": token, "user": {k: user[k] for k in ("id", "name", "role", "team")}}

    @app.post(
        "/v1/sync",
        tags=["sync"],
        response_model=protocol.SyncResponse,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": protocol.SyncRequest.model_json_schema(
                            ref_template="#/components/schemas/{model}"
                        )
                    }
                },
            }
        },
    )
    async def sync(request: Request, p: Who) -> dict[str, Any]:
        """Push the outbox batch and pull the changes since the cursor, in one round trip.

        The body may be gzip'd (Content-Encoding: gzip)."""
        size = int(request.headers.get("content-length") or 0)
        if size > protocol.MAX_BODY:
            return JSONResponse({"detail": "sync body too large: send fewer operations"}, 413)
        body = await request.body()
        if len(body) > protocol.MAX_BODY:
            return JSONResponse({"detail": "sync body too large: send fewer operations"}, 413)
        try:
            data = protocol.decode(body, request.headers.get("content-encoding"))
            req = protocol.SyncRequest.model_validate(data)
        except (ValueError, OSError, EOFError) as exc:
            if isinstance(exc, ValidationError):
                e = exc.errors()[0]
                where = ".".join(str(x) for x in e.get("loc", ()))
                return JSONResponse({"detail": f"sync refused: {where}: {e['msg']}"}, 422)
            return JSONResponse({"detail": f"sync body unreadable: {exc}"}, 400)
        if p.device_id and req.device != p.device_id:
            raise Forbidden("this credential belongs to another device")
        return await run_in_threadpool(_sync, hq, p, req)

    @app.get("/v1/sync/checksum", tags=["sync"])
    def sync_checksum(p: Who) -> dict[str, int]:
        """Counts per table in your scope, to detect drift without a full download."""
        return checksum(hq, p)

    # -- users and devices -----------------------------------------------------------------
    @app.post("/v1/users", tags=["users"], status_code=201)
    def add_user(body: UserIn, p: Who) -> dict[str, Any]:
        """Create a user; the answer holds a one-time enrollment code."""
        require_admin(p)
        user, code = auth.add_user(hq, name=body.name, role=body.role, team=body.team)
        return {"user": user, "enrollment_code": code}

    @app.get("/v1/users", tags=["users"])
    def list_users(p: Who) -> list[dict[str, Any]]:
        if p.is_admin:
            return auth.users(hq)
        if p.role == "supervisor":
            return auth.users(hq, team=p.team)
        raise Forbidden("only HQ staff and supervisors list users")

    @app.post("/v1/users/{user_id}/enrollment", tags=["users"], status_code=201)
    def new_enrollment(user_id: str, p: Who) -> dict[str, str]:
        """A fresh one-time enrollment code for a user (a new or replaced device)."""
        require_admin(p)
        return {"enrollment_code": auth.new_enrollment(hq, user_id)}

    @app.get("/v1/devices", tags=["users"])
    def list_devices(p: Who) -> list[dict[str, Any]]:
        require_admin(p)
        return auth.devices(hq)

    @app.post("/v1/devices/{device_id}/revoke", tags=["users"])
    def revoke_device(device_id: str, p: Who) -> dict[str, int]:
        """Revoke a device's credential (lost or replaced device)."""
        require_admin(p)
        return {"revoked": auth.revoke(hq, device_id)}

    # -- dispatch ----------------------------------------------------------------------------
    @app.post("/v1/jobs", tags=["dispatch"], status_code=201)
    def create_job(body: JobIn, p: Who) -> dict[str, Any]:
        return dispatch.create_job(hq, p, body.model_dump(exclude_none=True))

    @app.get("/v1/jobs", tags=["dispatch"])
    def list_jobs(
        p: Who, status: str | None = None, technician: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Jobs you may see: your own, your team's, or all (HQ staff)."""
        return dispatch.list_jobs(
            hq, p, status=status, technician=technician, limit=max(1, min(limit, 5000))
        )

    @app.get("/v1/jobs/{job_id}", tags=["dispatch"])
    def get_job(job_id: str, p: Who) -> dict[str, Any]:
        return dispatch.get_job(hq, p, job_id)

    @app.post("/v1/jobs/import", tags=["dispatch"])
    async def import_jobs(request: Request, p: Who) -> dict[str, Any]:
        """Import jobs from CSV (see the column list in `fieldtech hq import --help`)."""
        require_admin(p)
        text = await text_body(request, "CSV")
        report = await run_in_threadpool(importer.import_jobs, hq, p, text)
        return report.as_dict()

    @app.post("/v1/jobs/{job_id}/assign", tags=["dispatch"])
    def assign(job_id: str, body: AssignIn, p: Who) -> dict[str, Any]:
        """Assign or reassign a job to a technician."""
        return dispatch.assign(hq, p, job_id, body.technician)

    @app.post("/v1/jobs/{job_id}/cancel", tags=["dispatch"])
    def cancel(job_id: str, body: ReasonIn, p: Who) -> dict[str, Any]:
        return dispatch.cancel(hq, p, job_id, body.reason)

    # -- catalogue and templates ---------------------------------------------------------------
    @app.post("/v1/parts", tags=["catalogue"])
    async def upload_parts(request: Request, p: Who) -> dict[str, int]:
        """Upload parts as CSV (sku,name,category,unit,barcode,price_cents) or a JSON list."""
        require_admin(p)
        text = await text_body(request, "catalogue")
        fmt = "json" if "json" in (request.headers.get("content-type") or "") else None
        parts = catalog.parse_parts(text, fmt)
        return {"saved": await run_in_threadpool(catalog.put_parts, hq, parts)}

    @app.get("/v1/parts", tags=["catalogue"])
    def list_parts(_p: Who, limit: int = 1000) -> list[dict[str, Any]]:
        return catalog.list_parts(hq, max(1, min(limit, 100_000)))

    @app.post("/v1/templates", tags=["catalogue"])
    async def upload_template(request: Request, p: Who) -> dict[str, Any]:
        """Upload a checklist template (JSON). A changed template gets a new version."""
        require_admin(p)
        try:
            data = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise BadInput("the template must be JSON") from None
        if not isinstance(data, dict):
            raise BadInput("a template is a JSON object")
        t = catalog.template_from_json(data)
        return {"id": t.id, "version": catalog.put_template(hq, t)}

    # -- part requests ------------------------------------------------------------------------
    @app.get("/v1/part-requests", tags=["parts"])
    def list_part_requests(p: Who, status: str | None = None) -> list[dict[str, Any]]:
        return requests.list_requests(hq, p, status)

    @app.post("/v1/part-requests/{request_id}/approve", tags=["parts"])
    def approve(request_id: str, body: OptionalReasonIn, p: Who) -> dict[str, Any]:
        return requests.step(hq, p, request_id, RequestStatus.APPROVED, body.reason)

    @app.post("/v1/part-requests/{request_id}/reject", tags=["parts"])
    def reject(request_id: str, body: ReasonIn, p: Who) -> dict[str, Any]:
        return requests.step(hq, p, request_id, RequestStatus.REJECTED, body.reason)

    @app.post("/v1/part-requests/{request_id}/ship", tags=["parts"])
    def ship(request_id: str, body: OptionalReasonIn, p: Who) -> dict[str, Any]:
        return requests.step(hq, p, request_id, RequestStatus.SHIPPED, body.reason)

    # -- service standards ------------------------------------------------------------------
    @app.post("/v1/escalations/run", tags=["service"])
    def run_escalations_now(body: EscalateIn, p: Who) -> list[dict[str, Any]]:
        """Escalate every late open job, level by level (run it every few minutes)."""
        from datetime import UTC, datetime

        from fieldtech.sync.hq.dispatch import parse_time
        from fieldtech.sync.hq.escalation import run_escalations

        require_admin(p)
        at = parse_time(body.at, "at") if body.at else None
        now = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else datetime.now(UTC)
        return run_escalations(hq, now)

    @app.post("/v1/jobs/{job_id}/callback", tags=["service"], status_code=201)
    def record_callback(job_id: str, body: CallbackIn, p: Who) -> dict[str, Any]:
        """The customer call-back after a closed job: skill, attitude, adherence (1–5)."""
        from fieldtech.sync.hq.callbacks import record_callback as record

        return record(
            hq,
            p,
            job_id,
            skill=body.skill,
            attitude=body.attitude,
            adherence=body.adherence,
            comment=body.comment,
        )

    @app.get("/v1/reports/kpis", tags=["service"])
    def kpis(p: Who, format: str = "json"):
        """Per-technician KPIs over what you may see (format=json or csv)."""
        from fastapi.responses import PlainTextResponse

        from fieldtech.sync.hq import reports

        if p.role == "technician":
            raise Forbidden("only HQ staff and supervisors read team KPIs")
        rows = reports.kpis(hq, p)
        if format == "csv":
            return PlainTextResponse(reports.kpis_csv(rows), media_type="text/csv")
        return rows

    @app.get("/v1/jobs/{job_id}/report", tags=["service"])
    def service_report(job_id: str, p: Who, format: str = "md"):
        """The service report for one job (format=md or html)."""
        from fastapi.responses import HTMLResponse, PlainTextResponse

        from fieldtech.sync.hq import reports

        if format == "html":
            return HTMLResponse(reports.service_report_html(hq, p, job_id))
        return PlainTextResponse(
            reports.service_report_markdown(hq, p, job_id), media_type="text/markdown"
        )

    @app.post("/v1/plan/maintenance", tags=["service"])
    def plan_maintenance(body: PlanIn, p: Who) -> list[dict[str, Any]]:
        """Generate the maintenance jobs falling due within `days` (idempotent)."""
        from datetime import date

        from fieldtech.sync.hq.plan import plan_maintenance as plan

        require_admin(p)
        try:
            today = date.fromisoformat(body.date) if body.date else date.today()
        except ValueError:
            raise BadInput(f"date must look like 2026-11-23, not {body.date!r}") from None
        return plan(hq, p, today, body.days)

    @app.get("/v1/technicians/{technician_id}/day", tags=["service"])
    def day(technician_id: str, p: Who, date: str | None = None) -> list[dict[str, Any]]:
        """A technician's day as an ordered task list (their own, their team's, or any)."""
        from datetime import date as Date

        from fieldtech.sync.hq.plan import day_plan

        if p.role == "technician" and technician_id != p.user_id:
            raise Forbidden("a technician sees only their own day")
        try:
            when = Date.fromisoformat(date) if date else Date.today()
        except ValueError:
            raise BadInput(f"date must look like 2026-11-23, not {date!r}") from None
        return day_plan(hq, p, technician_id, when)

    return app


def _sync(hq: HQ, p: Principal, req: protocol.SyncRequest) -> dict[str, Any]:
    if req.clock:
        try:
            from fieldtech.sync.hq.push import bounded_stamp

            bounded_stamp(hq, req.clock)
        except FieldtechError:
            pass
    result = push(hq, p, [WireOp(o.i, o.h, o.o, o.e, o.p) for o in req.ops])
    page = pull(hq, p, req.cursor, req.limit, device_id=p.device_id)
    auth.touch(hq, p)
    return {"acks": result.acks, "rejected": result.rejected, **page, "clock": hq.stamp()}

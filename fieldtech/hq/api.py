"""The HQ HTTP API, /v1. Every endpoint authenticates; bodies are validated with reasons."""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import (
    ValidationError,
)
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from fieldtech import __version__
from fieldtech.domain.errors import BadInput, FieldtechError, NotFound
from fieldtech.domain.parts import RequestStatus
from fieldtech.hq import auth, catalog, dispatch, importer, requests
from fieldtech.hq.api_models import (
    JOBS_CSV,
    PARTS_CSV,
    STATUS_FOR,
    TEXT,
    YEARS,
    AssignIn,
    CallbackIn,
    EnrolledOut,
    EnrollIn,
    EscalateIn,
    ImportOut,
    JobIn,
    MarkdownResponse,
    MeOut,
    OptionalReasonIn,
    PartIn,
    PlanIn,
    ReasonIn,
    TemplateIn,
    TemplateSaved,
    UserIn,
    bearer,
    body_doc,
    catalogue_from,
    first_error,
    readable_csv,
    refusals,
    save_parts,
    schema_of,
    text_body,
)
from fieldtech.hq.auth import Forbidden, Principal
from fieldtech.hq.db import HQ
from fieldtech.hq.pull import checksum, pull
from fieldtech.hq.push import WireOp, push
from fieldtech.hq.scope import require_admin
from fieldtech.sync import protocol


def principal(
    request: Request,
    credential: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    token = credential.credentials if credential else None
    return auth.authenticate(request.app.state.hq, token)


Who = Annotated[Principal, Depends(principal)]


def tidy_openapi(doc: dict[str, Any]) -> dict[str, Any]:
    """Make the generated document say what HQ really does.

    Models documented by hand (the sync and upload bodies) bring their own `$defs`: they move
    to components/schemas, where their references point. FastAPI's default 422 body (a list
    of errors) is replaced by what `_invalid` below answers: one line of detail."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})

    def hoist(node: Any) -> None:
        if isinstance(node, dict):
            for name, definition in node.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
                hoist(definition)
            for value in node.values():
                hoist(value)
        elif isinstance(node, list):
            for value in node:
                hoist(value)

    hoist(doc["paths"])
    for methods in doc["paths"].values():
        for operation in methods.values():
            answers = operation.get("responses", {})
            if "422" in answers and "HTTPValidationError" in json.dumps(answers["422"]):
                answers["422"] = refusals(422)[422]
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return doc


class BodyLimit:
    """Memory per request stays bounded by the body cap, on every endpoint, signed in or not.

    A declared Content-Length past the cap is refused at once, unread. A body streamed
    without one (chunked) is counted as the app reads it and refused with 413 the moment it
    passes the cap, so no handler ever holds more than the cap in memory. (A gzip'd sync body
    is bounded again once inflated: protocol.inflate.)"""

    def __init__(self, app: Any, limit: int = protocol.MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                size = -1
            if size < 0 or size > self.limit:
                await self._refuse(send, 400 if size < 0 else 413)
                return
        seen = 0
        started = False

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body") or b"")
                if seen > self.limit:
                    raise HTTPException(413, self.words(413))
            return message

        async def watched(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except HTTPException as exc:  # raised while reading, outside any handler
            if exc.status_code != 413 or started:
                raise
            await self._refuse(send, 413)

    def words(self, status: int) -> str:
        if status == 400:
            return "request refused: its Content-Length is not a number"
        return f"request body too large: at most {self.limit // (1024 * 1024)} MB; send less"

    async def _refuse(self, send: Any, status: int) -> None:
        body = json.dumps({"detail": self.words(status)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(hq: HQ) -> FastAPI:
    app = FastAPI(
        title="fieldtech HQ", version=__version__, openapi_url=None, docs_url=None, redoc_url=None
    )
    app.add_middleware(GZipMiddleware, minimum_size=512)
    app.add_middleware(BodyLimit)  # outermost of ours: before anything reads a body
    app.state.hq = hq

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = tidy_openapi(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(FieldtechError)
    async def _domain_error(_request: Request, exc: FieldtechError):
        status = next((s for t, s in STATUS_FOR.items() if isinstance(exc, t)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"detail": exc.message}, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        what = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        msg = f"{where}: {what}" if where else what
        return JSONResponse({"detail": f"request refused: {msg}"}, status_code=422)

    @app.get("/v1/openapi.json", tags=["meta"], responses=refusals())
    def openapi_document(_p: Who) -> dict[str, Any]:
        """This API's OpenAPI document."""
        return app.openapi()

    @app.get("/v1/me", tags=["meta"], response_model=MeOut, responses=refusals())
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

    @app.post(
        "/v1/enroll", tags=["devices"], response_model=EnrolledOut, responses=refusals(400, 422)
    )
    def enroll(body: EnrollIn) -> dict[str, Any]:
        """Exchange a one-time enrollment code for this device's credential.

        Authenticated by the code itself, which is good for one use."""
        user, token = auth.enroll(hq, body.code, body.device_id, body.device_name)
        return {"token": token, "user": {k: user[k] for k in ("id", "name", "role", "team")}}

    @app.post(
        "/v1/sync",
        tags=["sync"],
        response_model=protocol.SyncResponse,
        responses=refusals(400, 403, 413, 422),
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
        except protocol.TooLargeInflated as exc:
            return JSONResponse({"detail": f"sync body too large: {exc}"}, 413)
        except (ValueError, OSError, EOFError) as exc:
            if isinstance(exc, ValidationError):
                e = exc.errors()[0]
                where = ".".join(str(x) for x in e.get("loc", ()))
                what = str(e["msg"]).removeprefix("Value error, ")
                return JSONResponse({"detail": f"sync refused: {where}: {what}"}, 422)
            return JSONResponse({"detail": f"sync body unreadable: {exc}"}, 400)
        if p.device_id and req.device != p.device_id:
            raise Forbidden("this credential belongs to another device")
        return await run_in_threadpool(_sync, hq, p, req)

    @app.get("/v1/sync/checksum", tags=["sync"], responses=refusals())
    def sync_checksum(p: Who) -> dict[str, int]:
        """Counts per table in your scope, to detect drift without a full download."""
        return checksum(hq, p)

    # -- users and devices -----------------------------------------------------------------
    @app.post("/v1/users", tags=["users"], status_code=201, responses=refusals(400, 403, 422))
    def add_user(body: UserIn, p: Who) -> dict[str, Any]:
        """Create a user; the answer holds a one-time enrollment code."""
        require_admin(p)
        user, code = auth.add_user(hq, name=body.name, role=body.role, team=body.team)
        return {"user": user, "enrollment_code": code}

    @app.get("/v1/users", tags=["users"], responses=refusals(403))
    def list_users(p: Who) -> list[dict[str, Any]]:
        if p.is_admin:
            return auth.users(hq)
        if p.role == "supervisor":
            return auth.users(hq, team=p.team)
        raise Forbidden("only HQ staff and supervisors list users")

    @app.post(
        "/v1/users/{user_id}/enrollment",
        tags=["users"],
        status_code=201,
        responses=refusals(403, 404),
    )
    def new_enrollment(user_id: str, p: Who) -> dict[str, str]:
        """A fresh one-time enrollment code for a user (a new or replaced device)."""
        require_admin(p)
        return {"enrollment_code": auth.new_enrollment(hq, user_id)}

    @app.get("/v1/devices", tags=["users"], responses=refusals(403))
    def list_devices(p: Who) -> list[dict[str, Any]]:
        require_admin(p)
        return auth.devices(hq)

    @app.post("/v1/devices/{device_id}/revoke", tags=["users"], responses=refusals(403, 404))
    def revoke_device(device_id: str, p: Who) -> dict[str, int]:
        """Revoke a device's credential (lost or replaced device)."""
        require_admin(p)
        return {"revoked": auth.revoke(hq, device_id)}

    # -- dispatch ----------------------------------------------------------------------------
    @app.post(
        "/v1/jobs", tags=["dispatch"], status_code=201, responses=refusals(400, 403, 404, 422)
    )
    def create_job(body: JobIn, p: Who) -> dict[str, Any]:
        try:
            return dispatch.create_job(hq, p, body.model_dump(exclude_none=True))
        except IntegrityError:  # a customer_id or site_id HQ does not know
            raise NotFound("the customer or site named by id is not known at HQ") from None

    @app.get("/v1/jobs", tags=["dispatch"], responses=refusals(422))
    def list_jobs(
        p: Who, status: str | None = None, technician: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Jobs you may see: your own, your team's, or all (HQ staff)."""
        return dispatch.list_jobs(
            hq, p, status=status, technician=technician, limit=max(1, min(limit, 5000))
        )

    @app.get("/v1/jobs/{job_id}", tags=["dispatch"], responses=refusals(404))
    def get_job(job_id: str, p: Who) -> dict[str, Any]:
        return dispatch.get_job(hq, p, job_id)

    @app.post(
        "/v1/jobs/import",
        tags=["dispatch"],
        response_model=ImportOut,
        responses=refusals(400, 403, 413),
        openapi_extra=body_doc(**{"text/csv": {**TEXT, "example": JOBS_CSV}}),
    )
    async def import_jobs(request: Request, p: Who) -> dict[str, Any]:
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

    @app.post(
        "/v1/jobs/{job_id}/assign", tags=["dispatch"], responses=refusals(400, 403, 404, 409, 422)
    )
    def assign(job_id: str, body: AssignIn, p: Who) -> dict[str, Any]:
        """Assign or reassign a job to a technician."""
        return dispatch.assign(hq, p, job_id, body.technician)

    @app.post(
        "/v1/jobs/{job_id}/cancel", tags=["dispatch"], responses=refusals(400, 403, 404, 409, 422)
    )
    def cancel(job_id: str, body: ReasonIn, p: Who) -> dict[str, Any]:
        return dispatch.cancel(hq, p, job_id, body.reason)

    # -- catalogue and templates ---------------------------------------------------------------
    @app.post(
        "/v1/parts",
        tags=["catalogue"],
        responses=refusals(400, 403, 409, 413),
        openapi_extra=body_doc(
            **{
                "text/csv": {**TEXT, "example": PARTS_CSV},
                "application/json": {"schema": schema_of(list[PartIn])},
            }
        ),
    )
    async def upload_parts(request: Request, p: Who) -> dict[str, int]:
        """Upload parts as CSV (sku,name,category,unit,barcode,price_cents) or a JSON list."""
        require_admin(p)
        text = await text_body(request, "catalogue")
        fmt = "json" if "json" in (request.headers.get("content-type") or "") else None
        parts = catalogue_from(text, fmt)
        return {"saved": await run_in_threadpool(save_parts, hq, parts)}

    @app.get("/v1/parts", tags=["catalogue"], responses=refusals(422))
    def list_parts(_p: Who, limit: int = 1000) -> list[dict[str, Any]]:
        return catalog.list_parts(hq, max(1, min(limit, 100_000)))

    @app.post(
        "/v1/templates",
        tags=["catalogue"],
        response_model=TemplateSaved,
        responses=refusals(400, 403, 413),
        openapi_extra=body_doc(**{"application/json": {"schema": schema_of(TemplateIn)}}),
    )
    async def upload_template(request: Request, p: Who) -> dict[str, Any]:
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

    # -- part requests ------------------------------------------------------------------------
    @app.get("/v1/part-requests", tags=["parts"], responses=refusals(422))
    def list_part_requests(p: Who, status: str | None = None) -> list[dict[str, Any]]:
        return requests.list_requests(hq, p, status)

    @app.post(
        "/v1/part-requests/{request_id}/approve",
        tags=["parts"],
        responses=refusals(400, 403, 404, 409, 422),
    )
    def approve(request_id: str, body: OptionalReasonIn, p: Who) -> dict[str, Any]:
        return requests.step(hq, p, request_id, RequestStatus.APPROVED, body.reason)

    @app.post(
        "/v1/part-requests/{request_id}/reject",
        tags=["parts"],
        responses=refusals(400, 403, 404, 409, 422),
    )
    def reject(request_id: str, body: ReasonIn, p: Who) -> dict[str, Any]:
        return requests.step(hq, p, request_id, RequestStatus.REJECTED, body.reason)

    @app.post(
        "/v1/part-requests/{request_id}/ship",
        tags=["parts"],
        responses=refusals(400, 403, 404, 409, 422),
    )
    def ship(request_id: str, body: OptionalReasonIn, p: Who) -> dict[str, Any]:
        return requests.step(hq, p, request_id, RequestStatus.SHIPPED, body.reason)

    # -- service standards ------------------------------------------------------------------
    @app.post("/v1/escalations/run", tags=["service"], responses=refusals(400, 403, 422))
    def run_escalations_now(body: EscalateIn, p: Who) -> list[dict[str, Any]]:
        """Escalate every late open job, level by level (run it every few minutes)."""
        from datetime import UTC

        from fieldtech.hq.dispatch import parse_time
        from fieldtech.hq.escalation import run_escalations

        require_admin(p)
        at = parse_time(body.at, "at") if body.at else None
        now = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else datetime.now(UTC)
        return run_escalations(hq, now)

    @app.post(
        "/v1/jobs/{job_id}/callback",
        tags=["service"],
        status_code=201,
        responses=refusals(400, 403, 404, 409, 422),
    )
    def record_callback(job_id: str, body: CallbackIn, p: Who) -> dict[str, Any]:
        """The customer call-back after a closed job: skill, attitude, adherence (1–5)."""
        from fieldtech.hq.callbacks import record_callback as record

        return record(
            hq,
            p,
            job_id,
            skill=body.skill,
            attitude=body.attitude,
            adherence=body.adherence,
            comment=body.comment,
        )

    @app.get(
        "/v1/reports/kpis",
        tags=["service"],
        response_model=list[dict[str, Any]],
        responses={200: {"content": {"text/csv": TEXT}}, **refusals(403, 422)},
    )
    def kpis(p: Who, format: Literal["json", "csv"] = "json"):
        """Per-technician KPIs over what you may see (format=json or csv)."""
        from fieldtech.hq import reports

        if p.role == "technician":
            raise Forbidden("only HQ staff and supervisors read team KPIs")
        rows = reports.kpis(hq, p)
        if format == "csv":
            return PlainTextResponse(reports.kpis_csv(rows), media_type="text/csv")
        return rows

    @app.get(
        "/v1/jobs/{job_id}/report",
        tags=["service"],
        response_class=MarkdownResponse,
        responses={
            200: {"content": {"text/markdown": TEXT, "text/html": TEXT}},
            **refusals(404, 422),
        },
    )
    def service_report(job_id: str, p: Who, format: Literal["md", "html"] = "md"):
        """The service report for one job (format=md or html)."""
        from fieldtech.hq import reports

        if format == "html":
            return HTMLResponse(reports.service_report_html(hq, p, job_id))
        return MarkdownResponse(reports.service_report_markdown(hq, p, job_id))

    @app.post("/v1/plan/maintenance", tags=["service"], responses=refusals(400, 403, 422))
    def plan_maintenance(body: PlanIn, p: Who) -> list[dict[str, Any]]:
        """Generate the maintenance jobs falling due within `days` (idempotent)."""
        from datetime import date

        from fieldtech.hq.plan import plan_maintenance as plan

        require_admin(p)
        try:
            today = date.fromisoformat(body.date) if body.date else date.today()
        except ValueError:
            raise BadInput(f"date must look like 2026-11-23, not {body.date!r}") from None
        return plan(hq, p, today, body.days)

    @app.get(
        "/v1/technicians/{technician_id}/day",
        tags=["service"],
        responses=refusals(400, 403, 404, 422),
    )
    def day(technician_id: str, p: Who, date: str | None = None) -> list[dict[str, Any]]:
        """A technician's day as an ordered task list (their own, their team's, or any)."""
        from datetime import date as Date

        from fieldtech.hq.plan import day_plan

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
            from fieldtech.hq.push import bounded_stamp

            bounded_stamp(hq, req.clock)
        except FieldtechError:
            pass
    result = push(hq, p, [WireOp(o.i, o.h, o.o, o.e, o.p) for o in req.ops], cursor=req.cursor)
    # Rows this device wrote are not echoed back, unless its file was rebuilt and lost them.
    page = pull(hq, p, req.cursor, req.limit, device_id=None if req.rebuild else p.device_id)
    auth.touch(hq, p)
    return {"acks": result.acks, "rejected": result.rejected, **page, "clock": hq.stamp()}

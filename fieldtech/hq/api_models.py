"""Request and answer models of the HQ API, with the refusals each route documents and
the checks that turn a bad body into a 4xx with a reason."""

import csv
import io
import json
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPBearer
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from fieldtech.domain.checklists import ItemType, OutOfRange
from fieldtech.domain.errors import BadInput, NotFound, RuleBroken
from fieldtech.domain.jobs import Kind, Priority
from fieldtech.hq import catalog
from fieldtech.hq.auth import Forbidden, Unauthorized
from fieldtech.hq.db import HQ
from fieldtech.sync import protocol


class TooLarge(BadInput):
    pass


class MarkdownResponse(PlainTextResponse):
    media_type = "text/markdown"


TEXT = {"schema": {"type": "string"}}


class Problem(BaseModel):
    """Every refusal: one line saying what was wrong, meant for the person who sent it."""

    detail: str


REASONS = {
    400: "Bad input; the detail says what to change",
    401: "No credential, or one HQ does not recognise or has revoked",
    403: "Your role or scope does not allow this",
    404: "Nothing by that id that you can see",
    409: "The trade's rules do not allow this now",
    413: "The body is too large",
    422: "The request does not match this document",
}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented 4xx answers of a route (always 401: every route authenticates)."""
    problem = {"application/json": {"schema": Problem.model_json_schema()}}
    return {s: {"description": REASONS[s], "content": problem} for s in sorted({401, *statuses})}


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
    public_key: str | None = Field(
        None, min_length=40, max_length=64, description="the device's Ed25519 key, base64url"
    )
    box_key: str | None = Field(
        None, min_length=40, max_length=64, description="the device's X25519 key, base64url"
    )


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(technician|supervisor|admin)$")
    team: str | None = Field(None, max_length=64)


YEARS = (1900, 2999)  # the calendar HQ plans in: beyond it, date arithmetic overflows


def in_calendar(text: str) -> str:
    """A date or date-time within YEARS (its format is checked where it is used)."""
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        return text  # not a date at all: the code using it says so, in its words
    if not YEARS[0] <= when.year <= YEARS[1]:
        raise ValueError(f"{text!r} is outside the years {YEARS[0]}–{YEARS[1]}")
    return text


DateTimeText = Annotated[
    str,
    Field(max_length=40, json_schema_extra={"format": "date-time"}),
    AfterValidator(in_calendar),
]
DateText = Annotated[
    str, Field(max_length=10, json_schema_extra={"format": "date"}), AfterValidator(in_calendar)
]


class JobIn(BaseModel):
    """A job as HQ creates it: the one set of rules for `hq dispatch`, `hq import` (each CSV
    row) and POST /v1/jobs. Text is trimmed; an empty value counts as absent."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")
    kind: str = Field(max_length=16, json_schema_extra={"enum": [k.value for k in Kind]})
    summary: str = Field(min_length=1, max_length=500)
    priority: str = Field(
        "normal", max_length=16, json_schema_extra={"enum": [p.value for p in Priority]}
    )
    ref: str | None = Field(None, max_length=64)
    id: str | None = Field(None, max_length=64, description="the job's id, if the caller made one")
    customer_name: str | None = Field(
        None, max_length=200, description="required unless customer_id names one HQ knows"
    )
    customer_phone: str | None = Field(None, max_length=64)
    customer_id: str | None = Field(None, max_length=64)
    vip: bool | None = None
    address: str | None = Field(
        None, max_length=300, description="required unless site_id names one HQ knows"
    )
    city: str | None = Field(None, max_length=100)
    site_id: str | None = Field(None, max_length=64)
    contact_name: str | None = Field(None, max_length=200)
    access_notes: str | None = Field(None, max_length=1000)
    hazards: list[Annotated[str, Field(max_length=200)]] | str | None = Field(None, max_length=50)
    appliance_id: str | None = Field(None, max_length=64)
    appliance_category: str | None = Field(None, max_length=64)
    appliance_brand: str | None = Field(None, max_length=64)
    appliance_model: str | None = Field(None, max_length=64)
    appliance_serial: str | None = Field(None, max_length=64)
    technician: str | None = Field(None, max_length=64)
    team: str | None = Field(None, max_length=64)
    window_start: DateTimeText | None = None
    window_end: DateTimeText | None = None
    sla_due: DateTimeText | None = None
    confirmation_code: str | None = Field(None, max_length=32)
    description: str | None = Field(None, max_length=4000)


JOB_FIELDS = tuple(JobIn.model_fields)


def _problem(error: Any) -> str:
    """One pydantic error in a dispatcher's words: which field, what is wrong."""
    where = ".".join(str(x) for x in error.get("loc", ()))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "string_too_long" and isinstance(given, str):
        what = f"at most {ctx.get('max_length'):,} characters, this one has {len(given):,}"
    elif kind == "string_too_short":
        what = "must not be empty"
    elif kind == "extra_forbidden":
        what = "is not a field of a job"
    elif kind == "missing":
        what = "is required"
    else:
        what = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {what}" if where else what


def job_problems(spec: dict[str, Any]) -> list[str]:
    """Every way `spec` breaks JobIn's rules, each in a dispatcher's words (empty: none)."""
    given = {k: v for k, v in spec.items() if v is not None and v != ""}
    try:
        JobIn.model_validate(given)
    except ValidationError as exc:
        return [_problem(e) for e in exc.errors()]
    return []


def check_job(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` checked against JobIn: the fields given, trimmed, empty ones dropped; or
    BadInput naming the first field that is wrong and why."""
    given = {k: v for k, v in spec.items() if v is not None and v != ""}
    try:
        job = JobIn.model_validate(given)
    except ValidationError as exc:
        raise BadInput(_problem(exc.errors()[0])) from None
    return {k: v for k, v in job.model_dump(exclude_none=True).items() if v != ""}


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
    date: DateText | None = Field(None, description="today, YYYY-MM-DD")
    days: int = Field(30, ge=1, le=366)


class EscalateIn(BaseModel):
    at: DateTimeText | None = Field(None, description="judge lateness as of (UTC)")


class OptionalReasonIn(BaseModel):
    reason: str | None = Field(None, max_length=1000)


class PartIn(BaseModel):
    """One part of the catalogue (JSON upload; the CSV has the same columns)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)  # a SKU of 12345 is a SKU
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    category: str | None = Field(None, max_length=200)
    unit: str | None = Field("pc", max_length=16)
    barcode: str | None = Field(None, max_length=64)
    price_cents: int | None = Field(None, ge=0, le=2_000_000_000)


class ItemIn(BaseModel):
    """One checklist item of a template."""

    key: str = Field(min_length=1, max_length=64)
    label: str = Field(min_length=1, max_length=200)
    type: ItemType
    section: str | None = Field(None, max_length=100)
    required: bool = False
    unit: str | None = Field(None, max_length=16)
    min: float | None = None
    max: float | None = None
    choices: list[str] | None = Field(None, max_length=50)
    out_of_range: OutOfRange | None = None
    help: str | None = Field(None, max_length=1000)


class TemplateIn(BaseModel):
    """A checklist template."""

    id: str = Field(min_length=1, max_length=64)
    version: int | None = Field(None, ge=1, le=1_000_000)
    name: str = Field(min_length=1, max_length=200)
    job_kind: str = Field(min_length=1, max_length=16)
    category: str | None = Field(None, max_length=64)
    items: list[ItemIn] = Field(min_length=1, max_length=500)


class MeOut(BaseModel):
    user_id: str
    name: str
    role: str
    team: str | None
    device_id: str | None
    version: str


class EnrolledUser(BaseModel):
    id: str
    name: str
    role: str
    team: str | None


class EnrolledOut(BaseModel):
    token: str
    user: EnrolledUser
    hq_key: str = Field(description="HQ's public key (Ed25519), which signs its bundle replies")
    hq_box_key: str = Field(description="HQ's public key (X25519) bundles are sealed to")


class ImportRejection(BaseModel):
    line: int
    ref: str | None
    reason: str


class ImportOut(BaseModel):
    created: int
    already_there: int
    rejected: list[ImportRejection]
    created_refs: list[str]


class TemplateSaved(BaseModel):
    id: str
    version: int


def body_doc(**content: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` documenting a body the route reads itself (CSV or JSON files)."""
    return {"requestBody": {"required": True, "content": content}}


def schema_of(model: Any) -> dict[str, Any]:
    return TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}")


JOBS_CSV = (
    "ref,kind,summary,customer_name,address,technician\n"
    "IMP-1,repair,Not cooling,Asha Rao,1 Station St,tenzin-dorje\n"
)
PARTS_CSV = "sku,name,category,unit,barcode,price_cents\nAC-CAP-45,Run capacitor,ac,pc,,1850\n"
PART_LIST = TypeAdapter(list[PartIn])


def first_error(exc: ValidationError) -> tuple[tuple[Any, ...], str]:
    e = exc.errors()[0]
    return tuple(e.get("loc", ())), e.get("msg", "invalid")


def readable_csv(text: str, what: str) -> None:
    """Refuse, before anything is saved, a file the csv module cannot read to its end."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        for _row in reader:
            pass
    except csv.Error as exc:
        reason = str(exc).split(" - ")[0]  # not the advice meant for Python programmers
        raise BadInput(
            f"the {what} is not readable CSV (line {reader.line_num}): {reason}"
        ) from None


def check_parts(rows: Any) -> None:
    try:
        PART_LIST.validate_python(rows)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        field = ".".join(str(x) for x in loc[1:])
        where = f"entry {loc[0] + 1}" + (f" ({field})" if field else "") if loc else "the list"
        raise BadInput(f"catalogue refused, nothing saved: {where}: {msg}") from None


def catalogue_from(text: str, fmt: str | None) -> list[dict[str, Any]]:
    """The parts of an uploaded catalogue, every one within the documented bounds."""
    if fmt == "json" or (fmt is None and text.lstrip().startswith("[")):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError:
            rows = None  # parse_parts says where the JSON is broken
        except RecursionError:
            raise BadInput("the catalogue's JSON is nested too deeply") from None
        if isinstance(rows, list):
            check_parts(rows)
    else:
        readable_csv(text, "catalogue")
    parts = catalog.parse_parts(text, fmt)
    check_parts(parts)  # CSV values are text: the price, for one, is only checked here
    twice = [b for b, n in Counter(p["barcode"] for p in parts if p["barcode"]).items() if n > 1]
    if twice:
        raise BadInput(f"catalogue refused, nothing saved: barcode {twice[0]} is on two parts")
    return parts


def save_parts(hq: HQ, parts: list[dict[str, Any]]) -> int:
    return catalog.put_parts(hq, parts)  # a barcode clash is refused there, as a conflict


bearer = HTTPBearer(
    auto_error=False,
    scheme_name="credential",
    description="A device credential (from /v1/enroll) or an HQ admin token.",
)

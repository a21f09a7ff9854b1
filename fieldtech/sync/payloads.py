"""Each operation's payload, as a schema: what HQ checks before an operation touches its
database.

One model per operation type (`SCHEMAS`). Types are strict (a comment is text, never an
object; a quantity is a whole number, never "3" or true), unknown fields are refused, and
every string is bounded. `check` answers a refusal as one line naming the field, so the
device can show the person why HQ refused that change while the rest of its batch applies.

Free text (notes, reasons, comments) may hold any character: the faces neutralise control
characters when they show it (domain.text.plain), and a person's words are never refused for
what they pasted. Identifiers, keys and codes are one printable line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fieldtech.domain import ops as O
from fieldtech.domain.checklists import Verdict
from fieldtech.domain.jobs import OUTCOMES, HoldFor, Kind, Priority, Status
from fieldtech.domain.parts import Movement, RequestStatus
from fieldtech.sync.protocol import MAX_INT, fits_the_store
from fieldtech.sync.wire_models import Id

MAX_TEXT = 4000  # a note, a reason, an escalation: what the device itself allows
MAX_LINE = 200  # a name, a summary line

# The set's values, as Literals pydantic checks. Built from the enums at run time; to the type
# checker each is text (a Literal cannot be computed statically).
if TYPE_CHECKING:
    StatusName: TypeAlias = str
    RequestStatusName: TypeAlias = str
else:
    StatusName = Literal[tuple(s.value for s in Status)]
    RequestStatusName = Literal[tuple(s.value for s in RequestStatus)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
Line = Annotated[str, Field(max_length=MAX_LINE)]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1F\x7F]+$")]
Stamp = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9T:.+Z-]+$")]
Quantity = Annotated[int, Field(ge=-10_000, le=10_000)]
Score = Annotated[int, Field(ge=1, le=5)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class StatusChange(Payload):
    from_: StatusName = Field(alias="from")
    to: StatusName
    reason: Text | None = None
    hold_for: Literal[tuple(h.value for h in HoldFor)] | None = None  # type: ignore[valid-type]


class Close(Payload):
    from_: StatusName = Field(alias="from")
    to: Literal["completed"]
    reason: Text | None = None
    outcome: Literal[tuple(OUTCOMES)] | None = None  # type: ignore[valid-type]
    name: Line | None = None
    rating: Score | None = None


class Note(Payload):
    body: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]


class Escalation(Payload):
    note: Text | None = None


class Reading(Payload):
    key: Key
    value: Annotated[str, Field(max_length=2000)]
    verdict: Literal[tuple(v.value for v in Verdict)]  # type: ignore[valid-type]
    comment: Text | None = None


class StockMove(Payload):
    sku: Key
    kind: Literal[tuple(m.value for m in Movement)]  # type: ignore[valid-type]
    qty: Quantity
    job: Id | None = None
    request: Id | None = None
    reason: Text | None = None
    override: Literal[0, 1] | bool | None = None


class RequestCreate(Payload):
    sku: Key
    qty: Annotated[int, Field(ge=1, le=10_000)]
    status: Literal["draft", "submitted"]
    job: Id | None = None
    note: Text | None = None


class RequestStep(Payload):
    from_: RequestStatusName = Field(alias="from")
    to: RequestStatusName
    reason: Text | None = None


class Assign(Payload):
    to: Id
    name: Line | None = None
    from_: StatusName | None = Field(None, alias="from")
    reset: Literal[0, 1] | bool | None = None


class Acknowledge(Payload):
    level: Annotated[int, Field(ge=1, le=100)]
    note: Text | None = None


class Callback(Payload):
    job: Id
    skill: Score
    attitude: Score
    adherence: Score
    comment: Annotated[str, Field(max_length=2000)] | None = None


class NewJob(Payload):
    """A job born on a device: a follow-up, or the install after a survey."""

    ref: Key
    kind: Literal[tuple(k.value for k in Kind)]  # type: ignore[valid-type]
    priority: Literal[tuple(p.value for p in Priority)]  # type: ignore[valid-type]
    priority_rank: Annotated[int, Field(ge=0, le=100)] | None = None
    status: StatusName | None = None
    customer_id: Id
    site_id: Id
    appliance_id: Id | None = None
    technician_id: Id | None = None
    team: Key | None = None
    summary: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    description: Text | None = None
    window_start: Stamp
    window_end: Stamp | None = None
    sla_due: Stamp
    template_id: Key | None = None
    template_version: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    confirmation_code: Annotated[str, Field(max_length=200)] | None = None
    parent_job_id: Id | None = None
    created_at: Stamp | None = None
    note: Text | None = None


class JobCreate(Payload):
    job: NewJob


class Attachment(Payload):
    """A file's reference; its bytes come by the files route, checked against `sha256`."""

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=1, le=100_000_000)]  # domain.attachments.MAX_AT_HQ
    type: Literal["image/jpeg", "image/png", "application/pdf"]
    name: Annotated[str, Field(min_length=1, max_length=MAX_LINE)]
    caption: Annotated[str, Field(max_length=500)] | None = None
    item: Key | None = None


SCHEMAS: dict[str, type[Payload]] = {
    O.JOB_STATUS: StatusChange,
    O.JOB_CLOSE: Close,
    O.JOB_NOTE: Note,
    O.JOB_CREATE: JobCreate,
    O.READING_ADD: Reading,
    O.STOCK_MOVE: StockMove,
    O.REQUEST_CREATE: RequestCreate,
    O.REQUEST_STEP: RequestStep,
    O.ESCALATION_RAISE: Escalation,
    O.JOB_ASSIGN: Assign,
    O.ESCALATION_ACK: Acknowledge,
    O.CALLBACK_RECORD: Callback,
    O.ATTACHMENT_ADD: Attachment,
}
assert set(SCHEMAS) == set(O.OPS), "every operation type has its schema"


def check(op: str, payload: Any) -> str | None:
    """None when `payload` is a well-formed `op`; otherwise why not, in one line."""
    model = SCHEMAS.get(op)
    if model is None:
        return f"unknown operation {op[:32]!r}: HQ does not handle it"
    if not isinstance(payload, dict):
        return "the operation's payload must be an object"
    if (where := _number_beyond_the_store(payload)) is not None:
        where = _printable(where)
        return f"malformed operation: {where}: a number is not finite or beyond ±{MAX_INT}"
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        return reason(exc, op)
    except RecursionError:
        return "the operation's payload is nested too deeply"
    return None


def _number_beyond_the_store(payload: dict[str, Any]) -> str | None:
    """Where the first number a 64-bit column cannot keep is (walked without recursion)."""
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in payload.items()]
    while stack:
        where, v = stack.pop()
        if isinstance(v, dict):
            stack.extend((f"{where}.{k}", x) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((f"{where}.{i}", x) for i, x in enumerate(v))
        elif not fits_the_store(v):
            return where[:80]
    return None


JOB_STATUS_FIELDS = {"from", "to", "status"}


def _printable(text: str) -> str:
    """A reason is one line of text: a field name a device made up (a newline, a control
    character in a key) is shown with those characters as "?"."""
    return "".join(c if c.isprintable() else "?" for c in text)


def reason(exc: ValidationError, op: str = "") -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = _printable(".".join(str(x) for x in first.get("loc", ())))
    what = _printable(str(first.get("msg", "invalid")))
    if first.get("type") == "string_pattern_mismatch":
        what = "must be one line of printable text in the expected form"
    elif first.get("type") == "literal_error":
        known = str((first.get("ctx") or {}).get("expected", ""))
        words = (
            "unknown job status"
            if op.startswith("job.") and where in JOB_STATUS_FIELDS
            else ("not a known value")
        )
        what = f"{words}; one of {known}" if known else words
    count = exc.error_count()
    more = f" (and {count - 1} more)" if count > 1 else ""
    return f"malformed operation: {where or 'payload'}: {what}{more}"[:300]

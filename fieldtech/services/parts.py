"""Van stock and part requests: use on a job, request, receive, return, count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from fieldtech.domain import ops
from fieldtech.domain.errors import BadInput
from fieldtech.domain.ids import new_id
from fieldtech.domain.parts import (
    RETURN_REASONS,
    Movement,
    RequestStatus,
    check_quantity,
    check_request_step,
    check_use,
)
from fieldtech.services.context import PRIORITY_NORMAL, Device, ledger_line, request_row
from fieldtech.services.jobs import _priority, begin_work_if_on_site, require_working
from fieldtech.store.rows import PartRequest, StockMovement

if TYPE_CHECKING:
    from fieldtech.store.rows import PartRequestRow

MAX_TEXT = 500


class StockCount(TypedDict):
    """A part's movement on the van's ledger (`qty`, 0 when none was needed), with what
    the van holds after it."""

    sku: str
    name: str
    qty: int
    on_hand: int


class StockMoved(StockMovement):
    """A movement on the ledger with its part's name and what the van holds after it."""

    name: str
    on_hand: int


class RequestMade(PartRequest):
    """A new part request with its part's name."""

    name: str


def _move(
    dev: Device,
    *,
    sku: str,
    kind: Movement,
    qty: int,
    job_id: str | None = None,
    request_id: str | None = None,
    reason: str | None = None,
    override: bool = False,
    priority: int = PRIORITY_NORMAL,
) -> StockMovement:
    payload: dict[str, Any] = {"sku": sku, "kind": kind.value, "qty": qty}
    for key, value in (("job", job_id), ("request", request_id), ("reason", reason)):
        if value:
            payload[key] = value
    if override:
        payload["override"] = 1
    exp = dev.apply(ops.STOCK_MOVE, sku, payload, priority=priority)
    return ledger_line(exp, ops.STOCK_MOVE)


def _text(value: str | None, what: str) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value) > MAX_TEXT:
        raise BadInput(f"{what} can be at most {MAX_TEXT} characters")
    return value.strip()


def use_part(
    dev: Device, job_id: str, code: str, qty: object = 1, override_reason: str | None = None
) -> StockMoved:
    """Fit a part on a job. `code` is a SKU or a scanned barcode."""
    n = check_quantity(qty)
    with dev.store.transaction():
        part = dev.store.part(code)
        job = dev.store.job(job_id)
        require_working(job, "using a part")
        override = check_use(dev.store.on_hand(part["sku"]), n, override_reason)
        job = begin_work_if_on_site(dev, job)
        row = _move(
            dev,
            sku=part["sku"],
            kind=Movement.USED,
            qty=n,
            job_id=job["id"],
            reason=_text(override_reason, "the override reason") if override else None,
            override=override,
            priority=_priority(job),
        )
        return {**row, "name": part["name"], "on_hand": dev.store.on_hand(part["sku"])}


def return_part(
    dev: Device, code: str, qty: object, reason: str, job_id: str | None = None
) -> StockMoved:
    n = check_quantity(qty)
    why = (reason or "").strip().lower()
    if why not in RETURN_REASONS:
        raise BadInput(f"a return is {' or '.join(RETURN_REASONS)}, not {reason!r}")
    with dev.store.transaction():
        part = dev.store.part(code)
        job = dev.store.job(job_id) if job_id else None
        if why == "excess":
            # Only what is in the van can go back as excess; a defective part may come off a job.
            check_use(dev.store.on_hand(part["sku"]), n, None)
        row = _move(
            dev,
            sku=part["sku"],
            kind=Movement.RETURNED,
            qty=n,
            job_id=job["id"] if job else None,
            reason=why,
        )
        return {**row, "name": part["name"], "on_hand": dev.store.on_hand(part["sku"])}


def adjust_stock(dev: Device, code: str, qty: object, reason: str) -> StockMoved:
    """A stock-count correction, signed, always with a reason: it is on the ledger like any move."""
    n = check_quantity(qty, allow_negative=True)
    why = _text(reason, "the reason")
    if not why:
        raise BadInput("a stock adjustment needs a reason")
    with dev.store.transaction():
        part = dev.store.part(code)
        row = _move(dev, sku=part["sku"], kind=Movement.ADJUSTED, qty=n, reason=why)
        return {**row, "name": part["name"], "on_hand": dev.store.on_hand(part["sku"])}


def count_stock(dev: Device, code: str, counted: object, reason: str) -> StockCount:
    """A stock take: the van holds `counted` of the part. The difference from the ledger's
    figure goes on the ledger as one signed adjustment (none when they agree)."""
    try:
        n = int(str(counted))
    except ValueError:
        raise BadInput(f"the count must be a whole number, not {counted!r}") from None
    if n < 0:
        raise BadInput("a count cannot be negative")
    if not _text(reason, "the reason"):
        raise BadInput("a stock take needs a reason")
    with dev.store.transaction():
        part = dev.store.part(code)
        difference = n - dev.store.on_hand(part["sku"])
        if difference == 0:
            return {"sku": part["sku"], "name": part["name"], "qty": 0, "on_hand": n}
        return adjust_stock(dev, part["sku"], difference, reason)


def request_part(
    dev: Device,
    code: str,
    qty: object = 1,
    *,
    job_id: str | None = None,
    note: str | None = None,
    draft: bool = False,
) -> RequestMade:
    n = check_quantity(qty)
    with dev.store.transaction():
        part = dev.store.part(code)
        job = dev.store.job(job_id) if job_id else None
        payload = {
            "sku": part["sku"],
            "qty": n,
            "status": (RequestStatus.DRAFT if draft else RequestStatus.SUBMITTED).value,
        }
        if job:
            payload["job"] = job["id"]
        if text := _text(note, "the note"):
            payload["note"] = text
        exp = dev.apply(
            ops.REQUEST_CREATE,
            new_id(),
            payload,
            priority=_priority(job) if job else PRIORITY_NORMAL,
        )
        return {**request_row(exp, ops.REQUEST_CREATE), "name": part["name"]}


def step_request(dev: Device, request_id: str, target: RequestStatus) -> PartRequestRow:
    """The technician's steps: submit a draft, cancel, or mark a shipment received."""
    with dev.store.transaction():
        req = dev.store.part_request(request_id)
        check_request_step(RequestStatus(req["status"]), target, by_hq=False)
        dev.apply(ops.REQUEST_STEP, req["id"], {"from": req["status"], "to": target.value})
        if target is RequestStatus.RECEIVED:
            _move(
                dev,
                sku=req["sku"],
                kind=Movement.RECEIVED,
                qty=req["qty"],
                job_id=req["job_id"],
                request_id=req["id"],
                reason="request received",
            )
        return dev.store.part_request(req["id"])

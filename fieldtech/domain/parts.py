"""Parts: van stock derived from the ledger, and the life of a part request."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from fieldtech.domain.errors import BadInput, RuleBroken


class Movement(StrEnum):
    RECEIVED = "received"  # into the van (shipment, pick-up at the outlet)
    USED = "used"  # fitted on a job
    RETURNED = "returned"  # sent back (defective or excess)
    ADJUSTED = "adjusted"  # stock count correction, signed


SIGN = {Movement.RECEIVED: 1, Movement.USED: -1, Movement.RETURNED: -1, Movement.ADJUSTED: 1}

RETURN_REASONS = ("defective", "excess")


def on_hand(movements: Iterable[tuple[str, int]]) -> int:
    """Stock of one part from its ledger lines (kind, quantity). Never stored, always derived."""
    return sum(SIGN[Movement(kind)] * qty for kind, qty in movements)


def check_quantity(qty: object, *, allow_negative: bool = False) -> int:
    try:
        n = int(str(qty))
    except ValueError:
        raise BadInput(f"quantity must be a whole number, not {qty!r}") from None
    if n == 0 or (n < 0 and not allow_negative):
        raise BadInput("quantity must be at least 1")
    if abs(n) > 10_000:
        raise BadInput("quantity is implausibly large (more than 10,000)")
    return n


def check_use(available: int, qty: int, override_reason: str | None) -> bool:
    """True when this use needs (and has) an override; raises when it needs one and lacks it."""
    if qty <= available:
        return False
    if not (override_reason and override_reason.strip()):
        raise RuleBroken(
            f"only {available} on hand, {qty} asked; use an override with a reason "
            "(for example: taken from the customer's spare)"
        )
    return True


class RequestStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SHIPPED = "shipped"
    RECEIVED = "received"
    CANCELLED = "cancelled"


REQUEST_FLOW: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.DRAFT: frozenset({RequestStatus.SUBMITTED, RequestStatus.CANCELLED}),
    RequestStatus.SUBMITTED: frozenset(
        {RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.CANCELLED}
    ),
    RequestStatus.APPROVED: frozenset({RequestStatus.SHIPPED, RequestStatus.CANCELLED}),
    RequestStatus.SHIPPED: frozenset({RequestStatus.RECEIVED}),
    RequestStatus.REJECTED: frozenset(),
    RequestStatus.RECEIVED: frozenset(),
    RequestStatus.CANCELLED: frozenset(),
}

# Who may make each step: the device's technician, or HQ / a supervisor.
FIELD_STEPS = frozenset({RequestStatus.SUBMITTED, RequestStatus.CANCELLED, RequestStatus.RECEIVED})
HQ_STEPS = frozenset(
    {RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.SHIPPED, RequestStatus.CANCELLED}
)


def check_request_step(current: RequestStatus, target: RequestStatus, *, by_hq: bool) -> None:
    if target not in REQUEST_FLOW[current]:
        raise RuleBroken(f"a part request that is {current.value} cannot become {target.value}")
    allowed = HQ_STEPS if by_hq else FIELD_STEPS
    if target not in allowed:
        who = "HQ or a supervisor" if not by_hq else "the technician"
        raise RuleBroken(f"only {who} can mark a part request {target.value}")

"""Jobs: kinds, priorities, statuses and the state machine that moves between them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from fieldtech.domain.errors import BadInput, RuleBroken

if TYPE_CHECKING:
    from datetime import datetime


class Kind(StrEnum):
    SURVEY = "survey"
    INSTALL = "install"
    REPAIR = "repair"
    MAINTENANCE = "maintenance"
    INSPECTION = "inspection"


class Priority(StrEnum):
    EMERGENCY = "emergency"
    VIP = "vip"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Sort key: emergency first."""
        return list(Priority).index(self)


class Status(StrEnum):
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"
    CANNOT_COMPLETE = "cannot_complete"
    CANCELLED = "cancelled"

    @property
    def words(self) -> str:
        return STATUS_WORDS[self]

    @property
    def is_open(self) -> bool:
        return self not in TERMINAL


STATUS_WORDS = {
    Status.ASSIGNED: "assigned",
    Status.EN_ROUTE: "en route",
    Status.ON_SITE: "on site",
    Status.IN_PROGRESS: "in progress",
    Status.ON_HOLD: "on hold",
    Status.COMPLETED: "completed",
    Status.CANNOT_COMPLETE: "cannot complete",
    Status.CANCELLED: "cancelled",
}

STATUS_MEANING = {
    Status.ASSIGNED: "dispatched to you, not started",
    Status.EN_ROUTE: "you are travelling to the site",
    Status.ON_SITE: "you have arrived; work not yet recorded",
    Status.IN_PROGRESS: "work under way: readings or parts recorded",
    Status.ON_HOLD: "paused, waiting for parts or the customer (reason recorded)",
    Status.COMPLETED: "closed with the customer's sign-off and rating",
    Status.CANNOT_COMPLETE: "closed without finishing, with a reason",
    Status.CANCELLED: "called off by HQ or a supervisor",
}

TERMINAL = frozenset({Status.COMPLETED, Status.CANNOT_COMPLETE, Status.CANCELLED})

# Transitions a technician makes in the field. Cancelling is HQ's (see HQ_TRANSITIONS).
FIELD_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.ASSIGNED: frozenset(
        {Status.EN_ROUTE, Status.ON_SITE, Status.ON_HOLD, Status.CANNOT_COMPLETE}
    ),
    Status.EN_ROUTE: frozenset(
        {Status.ON_SITE, Status.ON_HOLD, Status.CANNOT_COMPLETE, Status.ASSIGNED}
    ),
    Status.ON_SITE: frozenset(
        {Status.IN_PROGRESS, Status.ON_HOLD, Status.COMPLETED, Status.CANNOT_COMPLETE}
    ),
    Status.IN_PROGRESS: frozenset({Status.ON_HOLD, Status.COMPLETED, Status.CANNOT_COMPLETE}),
    Status.ON_HOLD: frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.CANNOT_COMPLETE}),
    Status.COMPLETED: frozenset(),
    Status.CANNOT_COMPLETE: frozenset(),
    Status.CANCELLED: frozenset(),
}

HQ_TRANSITIONS: dict[Status, frozenset[Status]] = {
    s: (targets | {Status.CANCELLED, Status.ASSIGNED}) - {s} if s.is_open else targets
    for s, targets in FIELD_TRANSITIONS.items()
}

# Statuses that require a reason when entered.
NEEDS_REASON = frozenset({Status.ON_HOLD, Status.CANNOT_COMPLETE, Status.CANCELLED})


class HoldFor(StrEnum):
    """What a job on hold waits for: a fixed set the board counts by, beside free text."""

    PARTS = "parts"
    CUSTOMER = "customer"
    OTHER = "other"

    @property
    def words(self) -> str:
        return HOLD_WORDS[self]


HOLD_WORDS = {
    HoldFor.PARTS: "waiting for parts",
    HoldFor.CUSTOMER: "waiting for the customer",
    HoldFor.OTHER: "other",
}


def parse_hold_for(text: str) -> HoldFor:
    key = " ".join(str(text).lower().split())
    for h in HoldFor:
        if key in (h.value, h.words, h.words.replace("the ", "")):
            return h
    known = ", ".join(h.value for h in HoldFor)
    raise BadInput(f"on hold for what? one of {known}, not {text!r}")


def hold_words(hold_for: str | None, reason: str | None) -> str:
    """'waiting for parts: compressor from Lhasa', or just the one the reason says."""
    kind = HoldFor(hold_for) if hold_for in set(HoldFor) else hold_for_reason(reason)
    text = (reason or "").strip()
    if not text or text.lower() == kind.words:
        return kind.words
    if kind is HoldFor.OTHER:
        return text
    return f"{kind.words}: {text}"


def hold_for_reason(reason: str | None) -> HoldFor:
    """A reason given without saying what the job waits for (older devices, a typed
    reason): only the set's own words count as that kind, anything else is 'other' —
    so 'customer departed' is not a parts hold."""
    try:
        return parse_hold_for(reason or "")
    except BadInput:
        return HoldFor.OTHER


def parse_status(text: str) -> Status:
    norm = text.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return Status(norm)
    except ValueError:
        allowed = ", ".join(s.value for s in Status)
        raise BadInput(f"unknown status {text!r} (one of: {allowed})") from None


def parse_kind(text: str) -> Kind:
    try:
        return Kind(text.strip().lower())
    except ValueError:
        raise BadInput(
            f"unknown job kind {text!r} (one of: {', '.join(k.value for k in Kind)})"
        ) from None


def parse_priority(text: str) -> Priority:
    try:
        return Priority(text.strip().lower())
    except ValueError:
        raise BadInput(
            f"unknown priority {text!r} (one of: {', '.join(p.value for p in Priority)})"
        ) from None


def check_transition(
    current: Status, target: Status, reason: str | None = None, *, by_hq: bool = False
) -> None:
    """Raise RuleBroken, in words, unless `current -> target` is allowed."""
    table = HQ_TRANSITIONS if by_hq else FIELD_TRANSITIONS
    if target not in table[current]:
        if not current.is_open:
            raise RuleBroken(f"the job is already {current.words}; it cannot become {target.words}")
        raise RuleBroken(f"a job that is {current.words} cannot become {target.words}")
    if target in NEEDS_REASON and not (reason and reason.strip()):
        raise RuleBroken(f"a reason is required to mark a job {target.words}")


def resume_target(arrived: bool) -> Status:
    """Where a job on hold goes back to: to work if the technician had arrived, else the queue."""
    return Status.IN_PROGRESS if arrived else Status.ASSIGNED


@dataclass(frozen=True)
class Outcome:
    code: str
    words: str


OUTCOMES = {
    o.code: o
    for o in (
        Outcome("installed", "installed and commissioned"),
        Outcome("repaired", "repaired"),
        Outcome("maintained", "maintenance done"),
        Outcome("surveyed", "survey done"),
        Outcome("inspected", "inspected"),
        Outcome("replaced", "unit replaced"),
        Outcome("no_fault_found", "no fault found"),
    )
}


def parse_outcome(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    code = text.strip().lower().replace(" ", "_")
    if code not in OUTCOMES:
        raise BadInput(f"unknown outcome {text!r} (one of: {', '.join(OUTCOMES)})")
    return code


# The customer's confirmation code. HQ gives it to the customer with the appointment; the
# device keeps only its salted hash and checks what the customer tells the technician at
# sign-off against it, so nobody reads the code off a device, a backup or `job show`.
# Self-describing ("pbkdf2_sha256$rounds$salt$digest"), so the cost can change later and old
# hashes still check. A six-digit code stays guessable by someone who holds the file and
# hashes a million guesses: the hash keeps it from being *read*, the file's encryption at
# rest keeps it from being taken.
CODE_SCHEME = "pbkdf2_sha256"
CODE_ROUNDS = 200  # HQ hashes every job it sends: ~0.05 ms a job, a 10,000-job prime +0.5 s


def normal_code(code: str) -> str:
    """The code as it is compared: what the customer reads out, case and spaces aside."""
    return "".join(str(code).split()).upper()


# 128 bits of the digest in a hash HQ makes: what devices of every release read (the whole
# 256-bit digest had been a fifth of priming 10,000 jobs on the wire). A compact stream, which
# only a device of this release asks for, cuts it to 48 bits (a wrong code matches once in
# 2**48, far past the code's own ~30 bits): priming's hashes 160 -> 60 KB.
DIGEST_HEX = 32
WIRE_DIGEST_HEX = 12


def hash_code(code: str, salt: str, rounds: int = CODE_ROUNDS) -> str:
    """The salted hash a device keeps instead of the code (the salt: the job's id)."""
    return f"{CODE_SCHEME}${rounds}${salt}${_digest(code, salt, rounds)[:DIGEST_HEX]}"


def hash_for_wire(stored: str | None, job_id: str) -> str | None:
    """The hash as a compact stream carries it: its digest cut to WIRE_DIGEST_HEX, and
    without its salt where that is the job's own id, which the device has beside it
    (`hash_from_wire` puts it back)."""
    if stored and stored.count("$") == 3:
        scheme, rounds, salt, digest = stored.split("$")
        digest = digest[:WIRE_DIGEST_HEX]
        return f"{scheme}${rounds}${'' if salt == job_id else salt}${digest}"
    return stored


def hash_from_wire(sent: str | None, job_id: str) -> str | None:
    """The hash as the device keeps it: an empty salt is the job's id."""
    if sent and sent.count("$") == 3:
        scheme, rounds, salt, digest = sent.split("$")
        if not salt:
            return f"{scheme}${rounds}${job_id}${digest}"
    return sent


def _digest(code: str, salt: str, rounds: int) -> str:
    import hashlib

    return hashlib.pbkdf2_hmac("sha256", normal_code(code).encode(), salt.encode(), rounds).hex()


def code_matches(given: str | None, stored_hash: str | None) -> bool:
    """Whether `given` is the code `stored_hash` was made from (constant-time compare)."""
    import hmac

    if not given or not stored_hash:
        return False
    try:
        scheme, rounds, salt, digest = stored_hash.split("$", 3)
        n = int(rounds)
    except ValueError:
        return False
    if scheme != CODE_SCHEME or not 1 <= n <= 10_000_000 or len(digest) < WIRE_DIGEST_HEX:
        return False
    # A hash kept by an earlier release holds the whole digest: it still matches.
    mine = _digest(given, salt, n)[: len(digest)]
    return hmac.compare_digest(mine.encode(), digest.encode())


def with_code_hashed(job: dict[str, Any]) -> dict[str, Any]:
    """A job row as a device may keep it: its confirmation code replaced by the code's hash."""
    if "confirmation_code" not in job:
        return job
    row = dict(job)
    code = row.pop("confirmation_code")
    if not row.get("confirmation_hash"):  # none made yet (a row older than HQ's column)
        row["confirmation_hash"] = hash_code(code, str(row["id"])) if code else None
    return row


def code_and_hash(code: str | None, job_id: str) -> dict[str, str | None]:
    """A new job's confirmation code with its hash as devices keep it (HQ stores both)."""
    made = hash_code(code, job_id) if code else None
    return {"confirmation_code": code, "confirmation_hash": made}


def parse_rating(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        rating = int(str(value))
    except ValueError:
        raise BadInput(f"rating must be a whole number from 1 to 5, not {value!r}") from None
    if not 1 <= rating <= 5:
        raise BadInput(f"rating must be from 1 to 5, not {rating}")
    return rating


def sla_words(due_iso: str | None, now_iso: str) -> str:
    """'due in 3h 10m' / 'overdue 2d 4h': what a technician reads at a glance."""
    from datetime import datetime

    if not due_iso:
        return ""
    due = datetime.fromisoformat(due_iso.replace("Z", "+00:00"))
    now = datetime.fromisoformat(now_iso.replace("Z", "+00:00"))
    minutes = int((due - now).total_seconds() // 60)
    left = abs(minutes)
    days, rem = divmod(left, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        span = f"{days}d {hours}h"
    elif hours:
        span = f"{hours}h {mins:02d}m"
    else:
        span = f"{mins}m"
    return f"due in {span}" if minutes >= 0 else f"overdue {span}"


def age_words(iso: str | None, now: datetime) -> str:
    """'3 min ago', '2 h ago', 'never': how old the last sync is."""
    from datetime import datetime

    if not iso:
        return "never"
    then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    minutes = int((now - then).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"

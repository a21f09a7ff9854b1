"""What goes first when not everything can go: the order of a device's outbox under a byte
budget (a setting, `fieldtech sync --budget 50KB`) or a batch's size.

The order is fixed, most urgent first:

0. escalations, and any work on an emergency or VIP job;
1. status changes and closes (and assignments, new jobs, call-backs);
2. part requests and stock movements;
3. checklist readings;
4. notes;
5. the rest (bulk: attachments, history).

Within one job nothing is reordered: an operation goes only with every earlier operation
on the same job (or request, or part), so a close never reaches HQ before the readings it
needs, whatever their classes. An urgent operation brings its job's earlier ones with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fieldtech.domain import ops as O

CLASSES = (
    "escalations and emergencies",
    "status changes and closes",
    "part requests and stock",
    "readings",
    "notes",
    "bulk",
)
RANK = {
    O.ESCALATION_RAISE: 0,
    O.ESCALATION_ACK: 0,
    O.JOB_STATUS: 1,
    O.JOB_CLOSE: 1,
    O.JOB_ASSIGN: 1,
    O.JOB_CREATE: 1,
    O.CALLBACK_RECORD: 1,
    O.REQUEST_CREATE: 2,
    O.REQUEST_STEP: 2,
    O.STOCK_MOVE: 2,
    O.READING_ADD: 3,
    O.JOB_NOTE: 4,
    O.ATTACHMENT_ADD: 4,  # the reference, a note's size; the file's bytes go after all
}
BULK = 5
URGENT_PRIORITY = 1  # the outbox's priority for escalations (0) and urgent jobs' work (1)


@dataclass(frozen=True)
class Waiting:
    """One operation in the outbox, as the choice needs it; `size`: its cost in bytes."""

    op: str
    entity_id: str
    payload: Mapping[str, Any]
    priority: int
    size: int
    keys: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _keys(self))


def rank(w: Waiting) -> int:
    if w.priority <= URGENT_PRIORITY:
        return 0
    return RANK.get(w.op, BULK)


def _keys(w: Waiting) -> frozenset[str]:
    """What an operation must stay in order with: its entity (a job, a request, a part) and
    the job it is for."""
    keys = {f"{w.op.partition('.')[0]}:{w.entity_id}"}
    if w.op.startswith(("job.", "reading.", "escalation.", "callback.")):
        keys = {f"job:{w.entity_id}"}
    job = w.payload.get("job") if isinstance(w.payload, Mapping) else None
    if isinstance(job, str) and job:
        keys.add(f"job:{job}")
    return frozenset(keys)


def choose(waiting: Sequence[Waiting], budget: int) -> list[int]:
    """Which operations go (indices into `waiting`, which is in the order they were made),
    in that order, within `budget` bytes: by class, each with the earlier operations it
    must not overtake. One that does not fit waits, with everything after it on its job."""
    by_key: dict[str, list[int]] = {}
    place: list[dict[str, int]] = []
    for i, w in enumerate(waiting):
        place.append({})
        for k in w.keys:
            place[i][k] = len(by_key.setdefault(k, []))
            by_key[k].append(i)
    sent_of: dict[str, int] = dict.fromkeys(by_key, 0)  # per key, a prefix goes
    chosen: set[int] = set()
    used = 0
    for i in sorted(range(len(waiting)), key=lambda i: (rank(waiting[i]), i)):
        if i in chosen:
            continue
        need = _with_earlier(i, waiting, by_key, place, sent_of, chosen)
        cost = sum(waiting[j].size for j in need)
        if used + cost > budget:
            continue
        used += cost
        chosen |= need
        for j in need:
            for k in waiting[j].keys:
                sent_of[k] = max(sent_of[k], place[j][k] + 1)
    return sorted(chosen)


def _with_earlier(
    i: int,
    waiting: Sequence[Waiting],
    by_key: dict[str, list[int]],
    place: list[dict[str, int]],
    sent_of: dict[str, int],
    chosen: set[int],
) -> set[int]:
    """`i` and every operation made before it that it must not overtake, not yet chosen."""
    need = {i}
    todo = [i]
    while todo:
        j = todo.pop()
        for k in waiting[j].keys:
            for m in by_key[k][sent_of[k] : place[j][k]]:
                if m not in need and m not in chosen:
                    need.add(m)
                    todo.append(m)
    return need


UNITS = {"": 1, "B": 1, "KB": 1000, "K": 1000, "MB": 1000**2, "M": 1000**2, "KIB": 1024}
UNITS |= {"MIB": 1024**2}


def parse_budget(text: str, what: str = "a sync budget") -> int:
    """ "50KB", "1.5 MB", "20000" (bytes) → bytes; a clear refusal for anything else."""
    from fieldtech.domain.errors import BadInput

    raw = str(text).strip().upper().replace(" ", "")
    number = raw.rstrip("KMIB")
    unit = raw[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if unit not in UNITS or not (value >= 0) or value != value or value > 10**12:
        raise BadInput(f"{what} is a size such as 50KB or 2MB, not {text!r}")
    return int(value * UNITS[unit])

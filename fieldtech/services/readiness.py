"""Ready to leave coverage? What the jobs of the next few days need that this device lacks.

Asked before driving past the last signal: a technician who finds out at the site that the
customer file never came, the photo to compare with is still at HQ, or a requested part is
not on the van has lost the trip. Each gap is said in words, with what to do about it.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fieldtech.domain.attachments import size_words
from fieldtech.domain.errors import NotFound
from fieldtech.domain.parts import RequestStatus
from fieldtech.store import Store

LOW_DISK = 200 * 1024 * 1024  # bytes free below which a few days of photos may not fit
# Asked for and not yet on the van.
OPEN_REQUESTS = frozenset(
    s.value
    for s in (
        RequestStatus.DRAFT,
        RequestStatus.SUBMITTED,
        RequestStatus.APPROVED,
        RequestStatus.SHIPPED,
    )
)


@dataclass(frozen=True)
class Gap:
    what: str  # outbox | customer | site | appliance | checklist | part | file | disk | enrolled
    words: str
    job: str | None = None  # the job's ref, where the gap is one job's


@dataclass(frozen=True)
class Readiness:
    days: int
    jobs: int  # open jobs due in the period
    gaps: list[Gap]

    @property
    def ready(self) -> bool:
        return not self.gaps

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "days": self.days,
            "jobs": self.jobs,
            "gaps": [asdict(g) for g in self.gaps],
        }


def check(st: Store, days: int, *, enrolled: bool, now: datetime | None = None) -> Readiness:
    """What the open jobs due within `days` (overdue ones too) need that is not here."""
    now = now or datetime.now(UTC)
    horizon = (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    gaps: list[Gap] = []
    if not enrolled:
        gaps.append(Gap("enrolled", "this device is not enrolled with HQ: nothing can sync"))
    waiting = st.outbox("pending")
    if waiting:
        gaps.append(
            Gap("outbox", f"{len(waiting):,} change(s) not yet at HQ: sync before you leave")
        )
    ids = st.open_jobs_due(horizon)
    for job_id in ids:
        gaps += _job_gaps(st, job_id)
    free = shutil.disk_usage(st.path.parent if st.path else ".").free
    if free < LOW_DISK:
        gaps.append(Gap("disk", f"only {size_words(free)} free on this device: photos may not fit"))
    return Readiness(days, len(ids), gaps)


def _job_gaps(st: Store, job_id: str) -> list[Gap]:
    card = st.job_card(job_id)
    ref = card["ref"]
    out = []
    if not card.get("customer"):
        out.append(Gap("customer", "the customer's file is not on this device", ref))
    if not card.get("site"):
        out.append(Gap("site", "the site (address, hazards, access notes) is missing", ref))
    if card.get("appliance_id") and not card.get("appliance"):
        out.append(Gap("appliance", "the appliance's details are missing", ref))
    template = card.get("template_id")
    if template:
        try:
            st.template(template, card.get("template_version"))
        except NotFound:
            out.append(Gap("checklist", "its checklist has not come to this device", ref))
    for req in st.part_requests(job_id):
        if req["status"] in OPEN_REQUESTS and st.on_hand(req["sku"]) < int(req["qty"]):
            words = f"part {req['sku']} ({req['status']}) is not on the van"
            out.append(Gap("part", words, ref))
    for a in st.attachments(job_id):
        if not st.file_path(a["sha256"]).is_file() and not st.thumbnail_path(a["sha256"]).is_file():
            words = f"{a['name']} is at HQ only: fieldtech attachments {ref} --fetch files"
            out.append(Gap("file", words, ref))
    return out


def check_file(path: Path, days: int, *, enrolled: bool) -> Readiness:
    """`check` on a connection of its own to the device file (for a thread other than the
    one the screens' connection belongs to)."""
    from fieldtech.store import open_store

    store = open_store(path)
    try:
        return check(store, days, enrolled=enrolled)
    finally:
        store.close()

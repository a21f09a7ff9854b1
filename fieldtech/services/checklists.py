"""Recording checklist readings, saved the moment they are entered."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from fieldtech.domain import ops
from fieldtech.domain.checklists import Verdict, judge
from fieldtech.domain.errors import RuleBroken
from fieldtech.services.context import Device, reading_row
from fieldtech.services.jobs import _priority, begin_work_if_on_site, require_working
from fieldtech.store.rows import ReadingRow

if TYPE_CHECKING:
    from fieldtech.domain.checklists import Item, Template
    from fieldtech.store.rows import JobRow


class RecordedReading(ReadingRow):
    """A reading as recorded, with what the judgement said and whether it is a warning."""

    message: str | None
    warning: bool


class ChecklistItem(TypedDict):
    """A template's item with its current reading's value, verdict and comment (None when
    not read yet), whether a file is attached to it, and whether it is done."""

    item: Item
    value: str | None
    verdict: str | None
    comment: str | None
    done: bool
    attached: bool


class Checklist(TypedDict):
    """A job's checklist: its template's items with their current readings. A job without a
    checklist has no template and no items."""

    job: JobRow
    template: Template | None
    items: list[ChecklistItem]
    progress: tuple[int, int]  # (done, total) over the required items


def record_reading(
    dev: Device, job_id: str, item_key: str, value: object, comment: str | None = None
) -> RecordedReading:
    """Judge and record one reading. A value of the wrong type records nothing (BadInput)."""
    with dev.store.transaction():
        job = dev.store.job(job_id)
        if not job["template_id"]:
            raise RuleBroken("this job has no checklist")
        template = dev.store.template(job["template_id"], job["template_version"])
        item = template.item(item_key)
        judgement = judge(item, value, comment)
        require_working(job, "recording a reading")
        job = begin_work_if_on_site(dev, job)
        payload = {"key": item.key, "value": judgement.value, "verdict": judgement.verdict.value}
        if comment and comment.strip():
            payload["comment"] = comment.strip()
        exp = dev.apply(ops.READING_ADD, job["id"], payload, priority=_priority(job))
        return {
            **reading_row(exp, ops.READING_ADD),
            "message": judgement.message,
            "warning": judgement.verdict is not Verdict.OK,
        }


def checklist(dev: Device, job_id: str) -> Checklist:
    """The job's checklist: template items with their current readings and progress."""
    from fieldtech.domain.checklists import is_satisfied, progress

    job = dev.store.job(job_id)
    if not job["template_id"]:
        return {"job": job, "template": None, "items": [], "progress": (0, 0)}
    template = dev.store.template(job["template_id"], job["template_version"])
    readings = dev.store.current_readings(job["id"])
    attached = dev.store.attached_items(job["id"])
    items: list[ChecklistItem] = []
    for item in template.items:
        r = readings.get(item.key)
        has_file = item.key in attached
        items.append(
            {
                "item": item,
                "value": r.value if r else None,
                "verdict": r.verdict if r else None,
                "comment": r.comment if r else None,
                "done": is_satisfied(
                    item, r.value if r else None, r.verdict if r else None, attached=has_file
                ),
                "attached": has_file,
            }
        )
    return {
        "job": job,
        "template": template,
        "items": items,
        "progress": progress(template, readings, attached),
    }

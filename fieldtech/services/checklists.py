"""Recording checklist readings, saved the moment they are entered."""

from __future__ import annotations

from typing import Any

from fieldtech.domain import ops
from fieldtech.domain.checklists import Verdict, judge
from fieldtech.domain.errors import RuleBroken
from fieldtech.services.context import Device, written
from fieldtech.services.jobs import _priority, begin_work_if_on_site, require_working


def record_reading(
    dev: Device, job_id: str, item_key: str, value: object, comment: str | None = None
) -> dict[str, Any]:
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
            **written(exp.reading, ops.READING_ADD, "reading"),
            "message": judgement.message,
            "warning": judgement.verdict is not Verdict.OK,
        }


def checklist(dev: Device, job_id: str) -> dict[str, Any]:
    """The job's checklist: template items with their current readings and progress."""
    from fieldtech.domain.checklists import is_satisfied, progress

    job = dev.store.job(job_id)
    if not job["template_id"]:
        return {"job": job, "template": None, "items": [], "progress": (0, 0)}
    template = dev.store.template(job["template_id"], job["template_version"])
    readings = dev.store.current_readings(job["id"])
    items = []
    for item in template.items:
        r = readings.get(item.key)
        items.append(
            {
                "item": item,
                "value": r.value if r else None,
                "verdict": r.verdict if r else None,
                "comment": r.comment if r else None,
                "done": r is not None and is_satisfied(item, r.value, r.verdict),
            }
        )
    return {
        "job": job,
        "template": template,
        "items": items,
        "progress": progress(template, readings),
    }

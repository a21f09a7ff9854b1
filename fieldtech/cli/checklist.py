"""`fieldtech checklist show|set`: the job's checklist and its readings."""

from __future__ import annotations

import click

from fieldtech.cli.common import Context, emit_json, json_option, pass_ctx, say, table
from fieldtech.services import checklists as checklist_service


@click.group("checklist")
def checklist_group() -> None:
    """A job's install or service checklist."""


@checklist_group.command("show")
@click.argument("job_id")
@json_option
@pass_ctx
def show_cmd(ctx: Context, job_id: str, as_json: bool) -> None:
    """Every item with its range, its reading and what is still required."""
    cl = checklist_service.checklist(ctx.device, job_id)
    done, total = cl["progress"]
    if as_json:
        emit_json(
            {
                "job": cl["job"]["ref"],
                "template": cl["template"].id if cl["template"] else None,
                "progress": {"done": done, "required": total},
                "items": [
                    {
                        "key": e["item"].key,
                        "label": e["item"].label,
                        "section": e["item"].section,
                        "type": e["item"].type.value,
                        "required": e["item"].required,
                        "unit": e["item"].unit,
                        "min": e["item"].min,
                        "max": e["item"].max,
                        "choices": list(e["item"].choices),
                        "value": e["value"],
                        "verdict": e["verdict"],
                        "comment": e["comment"],
                        "done": e["done"],
                        "attached": e["attached"],
                    }
                    for e in cl["items"]
                ],
            }
        )
        return
    if cl["template"] is None:
        say("this job has no checklist")
        return
    table(
        f"{cl['template'].name} — {done}/{total} required done",
        [
            "",
            "key",
            ("item", {"squeeze": 3, "wrap": True, "least": 12}),
            ("section", {"squeeze": 1, "wrap": True, "least": 8}),
            ("range / choices", {"squeeze": 1, "wrap": True, "least": 8}),
            ("reading", {"squeeze": 2, "wrap": True, "least": 8}),
        ],
        [
            (
                "✓" if e["done"] else ("*" if e["item"].required else ""),
                e["item"].key,
                e["item"].label,
                e["item"].section,
                e["item"].range_words() or " / ".join(e["item"].choices) or e["item"].type.value,
                (e["value"] or ("file attached" if e["attached"] else ""))
                + (f" ({e['verdict']})" if e["verdict"] not in (None, "ok") else "")
                + (f" — {e['comment']}" if e["comment"] else ""),
            )
            for e in cl["items"]
        ],
    )


@checklist_group.command("set")
@click.argument("job_id")
@click.argument("item_key")
@click.argument("value")
@click.option("--comment", help="Why a reading is out of range, or any remark.")
@json_option
@pass_ctx
def set_cmd(ctx: Context, job_id, item_key, value, comment, as_json) -> None:
    """Record a reading: a tick (yes/no), a number, a choice, text or signature. A photo
    item takes a file: `fieldtech attach JOB FILE --item KEY`."""
    r = checklist_service.record_reading(ctx.device, job_id, item_key, value, comment)
    if as_json:
        emit_json(r)
    elif r["message"]:
        say(f"saved with a {r['verdict']}: {r['message']}")
    else:
        say(f"{item_key} = {r['value']} (saved)")


def register(cli: click.Group) -> None:
    cli.add_command(checklist_group)

"""`fieldtech attach JOB FILE` and `fieldtech attachments JOB`: photos and files as proof
of work, and whether HQ has them yet."""

from __future__ import annotations

from typing import Any

import click

from fieldtech.cli.common import Context, emit_json, json_option, pass_ctx, say, table
from fieldtech.domain.attachments import KIND_WORDS, size_words
from fieldtech.services import attachments as attachment_service
from fieldtech.store.rows import AttachmentRow


def state_words(a: AttachmentRow, here: bool = True) -> str:
    """Where the file is, as the technician asks it: is it at HQ yet? (`here`: its bytes
    are on this device; a file another device attached may be only at HQ.)"""
    if a["problem"]:
        return a["problem"]
    if a["at_hq"]:
        return "at HQ" if here else "at HQ, not on this device"
    if a["sent"]:
        return f"sending: {size_words(a['sent'])} of {size_words(a['size'])}"
    return "waiting to go"


def attachment_json(a: AttachmentRow) -> dict[str, Any]:
    return {
        "id": a["id"],
        "job_id": a["job_id"],
        "name": a["name"],
        "caption": a["caption"],
        "item": a["item_key"],
        "type": a["media_type"],
        "size": a["size"],
        "sha256": a["sha256"],
        "at": a["at"],
        "sent_bytes": a["sent"],
        "at_hq": bool(a["at_hq"]),
        "problem": a["problem"],
    }


@click.command("attach")
@click.argument("job_id")
@click.argument("file", type=click.Path(dir_okay=True))
@click.option("--item", "item", metavar="KEY", help="The photo or signature checklist item.")
@click.option("--caption", help="What the picture shows (at most 500 characters).")
@json_option
@pass_ctx
def attach_cmd(
    ctx: Context, job_id: str, file: str, item: str | None, caption: str | None, as_json: bool
) -> None:
    """Attach a JPEG or PNG photo or a PDF to a job (or one of its checklist items). It is
    kept on this device at once and goes to HQ at the next sync, after the job's work."""
    found = ctx.attachment_settings()
    found.pop("pictures_folder", None)  # the app's picker starts there
    a = attachment_service.attach(ctx.device, job_id, file, item=item, caption=caption, **found)
    if as_json:
        emit_json(attachment_json(a))
        return
    job = ctx.device.store.job(a["job_id"])
    where = f" ({a['item_key']})" if a["item_key"] else ""
    kind = KIND_WORDS[a["media_type"]]
    say(f"attached {kind} {a['name']!r}, {size_words(a['size'])}, to {job['ref']}{where}")
    say("it goes to HQ at the next sync")


@click.command("attachments")
@click.argument("job_id")
@click.option(
    "--fetch",
    type=click.Choice(["thumbnails", "files"]),
    help="Bring from HQ what this device lacks: small pictures first, or the files.",
)
@json_option
@pass_ctx
def attachments_cmd(ctx: Context, job_id: str, fetch: str | None, as_json: bool) -> None:
    """A job's photos and files, with their size and whether HQ has them."""
    store = ctx.device.store
    job = store.job(job_id)
    if fetch:
        _fetch(ctx, job["id"], whole=fetch == "files", as_json=as_json)
        return
    rows = store.attachments(job["id"])
    if as_json:
        emit_json({"job": job["ref"], "attachments": [attachment_json(a) for a in rows]})
        return
    table(
        f"{job['ref']} — {len(rows)} attached",
        [
            ("name", {"squeeze": 2, "least": 10}),
            "item",
            "size",
            ("caption", {"squeeze": 3, "wrap": True, "least": 10}),
            ("state", {"squeeze": 1, "wrap": True, "least": 10}),
        ],
        [
            [
                a["name"],
                a["item_key"] or "",
                size_words(a["size"]),
                a["caption"] or "",
                state_words(a),
            ]
            for a in rows
        ],
        empty="nothing attached to this job",
    )


def _fetch(ctx: Context, job_id: str, *, whole: bool, as_json: bool) -> None:
    from fieldtech.cli.device_sync import client_for
    from fieldtech.domain.errors import FieldtechError
    from fieldtech.sync import files

    client = client_for(ctx)
    try:
        done = files.fetch(ctx.device.store, client.http, job_id, whole=whole)
    except files.FilesUnreachable as exc:
        raise FieldtechError(f"{exc}; try again when the link is back") from None
    finally:
        client.close()
    if as_json:
        emit_json([{"name": n, "result": r} for n, r in done])
        return
    for name, result in done:
        say(f"{name}: {result}")
    if not done:
        say("nothing attached to this job")


def register(cli: click.Group) -> None:
    cli.add_command(attach_cmd)
    cli.add_command(attachments_cmd)

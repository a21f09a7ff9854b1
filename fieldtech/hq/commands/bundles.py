"""`fieldtech hq bundle import`: a device's bundle brought to HQ on a stick."""

from __future__ import annotations

from pathlib import Path

import click

from fieldtech import logs
from fieldtech.hq.bundle_import import import_bundle
from fieldtech.hq.commands.context import HQContext, pass_hq
from fieldtech.output import emit_json, json_option, say
from fieldtech.paths import read_whole, write_whole


@click.group("bundle")
def bundle_group() -> None:
    """Bundles: devices' syncs carried as files where there is no link."""


@bundle_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--reply",
    "reply_to",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write HQ's reply, for the device.",
)
@json_option
@pass_hq
def import_cmd(h: HQContext, file: Path, reply_to: Path, as_json: bool) -> None:
    """Apply a device's bundle (each change once, however often it is imported) and write
    HQ's signed reply to carry back to it."""
    logs.setup(h.locations.logs)  # HQ's log records each import, and each refusal
    done = import_bundle(h.hq(), read_whole(file), carrier=str(file))
    write_whole(reply_to, done.reply)
    if as_json:
        emit_json(
            {
                "device": done.device,
                "user": done.user,
                "operations": done.operations,
                "rejected": done.rejected,
                "pages": done.pages,
                "more": done.more,
                "reply": str(reply_to),
                "reply_bytes": len(done.reply),
            }
        )
        return
    refused = f" ({done.rejected} refused, with reasons, in the reply)" if done.rejected else ""
    say(
        f"bundle of device {done.device} ({done.user}) applied: {done.operations:,} change(s)"
        f"{refused}; reply for the device in {reply_to}"
        + ("; more follows with its next bundle or sync" if done.more else "")
    )


COMMANDS = (bundle_group,)

"""`fieldtech bundle …`: a sync carried as a file where there is no link at all."""

from __future__ import annotations

from pathlib import Path

import click

from fieldtech import logs
from fieldtech.cli.common import Context, emit_json, json_option, pass_ctx, say
from fieldtech.domain.attachments import size_words
from fieldtech.domain.sending import parse_budget
from fieldtech.paths import read_whole
from fieldtech.sync import offline


@click.group("bundle")
def bundle_group() -> None:
    """Sync by file: export your changes for HQ, import HQ's reply."""


@bundle_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--max-size", help="At most this large, e.g. 2MB: what matters most goes first.")
@json_option
@pass_ctx
def export_cmd(ctx: Context, file: Path, max_size: str | None, as_json: bool) -> None:
    """Write what the next sync would send into FILE, signed by this device, for anyone to
    carry to HQ. Your changes stay on this device until HQ acknowledges them."""
    logs.setup(ctx.locations.logs)
    cap = parse_budget(max_size, "a bundle's size") if max_size else None
    done = offline.export_bundle(ctx.device, ctx.locations.credential, file, cap)
    if as_json:
        emit_json(
            {
                "file": str(done.path),
                "operations": done.operations,
                "waiting": done.waiting,
                "bytes": done.size,
                "cursor": done.cursor,
            }
        )
        return
    say(done.words())


@bundle_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_ctx
def import_cmd(ctx: Context, file: Path, as_json: bool) -> None:
    """Apply HQ's reply in FILE: what HQ acknowledged leaves the outbox, new work arrives."""
    logs.setup(ctx.locations.logs)
    got = offline.import_reply(ctx.device, ctx.locations.credential, read_whole(file))
    if as_json:
        emit_json(got.__dict__)
        return
    say(got.words())


@bundle_group.command("carry")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_ctx
def carry_cmd(ctx: Context, file: Path, as_json: bool) -> None:
    """Take a colleague's bundle in FILE to HQ with this device's next sync (it stays sealed:
    this device cannot read it), and bring HQ's reply back for the hand-over."""
    done = offline.carry(ctx.device, read_whole(file))
    if as_json:
        emit_json(done.__dict__)
        return
    say(done.words())


@bundle_group.command("carried")
@json_option
@pass_ctx
def carried_cmd(ctx: Context, as_json: bool) -> None:
    """The colleagues' bundles this device carries, and which replies are ready to hand over."""
    rows = ctx.store.carried()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("this device carries no one else's bundle")
        return
    for r in rows:
        if r["problem"]:
            state = f"refused by HQ: {r['problem']}"
        elif r["reply_size"]:
            state = "HQ's reply ready: fieldtech bundle hand-over " + r["device"] + " FILE"
        else:
            state = "goes to HQ with the next sync"
        say(
            f"device {r['device']}: {r['operations']:,} change(s), {size_words(r['size'])}; {state}"
        )


@bundle_group.command("hand-over")
@click.argument("device")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
def hand_over_cmd(ctx: Context, device: str, file: Path) -> None:
    """Write HQ's reply for DEVICE, carried back here, into FILE for that device to import."""
    size = offline.hand_over(ctx.device, device, file)
    say(f"HQ's reply for device {device} in {file} ({size_words(size)}): import it there")


@bundle_group.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def show_cmd(file: Path, as_json: bool) -> None:
    """What a bundle or a reply says it holds (its signature is checked where it is imported)."""
    about = offline.describe(read_whole(file))
    if as_json:
        emit_json(about)
        return
    kind = "HQ's reply to" if about["kind"] == "reply" else "changes of"
    say(
        f"{file}: {kind} device {about['device']}, {about.get('operations', 0):,} operation(s), "
        f"{size_words(about['bytes'])}, made {about.get('made_at', '?')}"
    )


def register(cli: click.Group) -> None:
    cli.add_command(bundle_group)

"""`fieldtech enroll` and `fieldtech sync`: connecting this device to HQ."""

from __future__ import annotations

import click
from rich.progress import BarColumn, Progress, TextColumn

from fieldtech import logs
from fieldtech.cli.common import Context, console, emit_json, json_option, pass_ctx, say
from fieldtech.domain.ops import OP_WORDS
from fieldtech.domain.sending import CLASSES, parse_budget
from fieldtech.sync import credentials
from fieldtech.sync.client import SyncClient
from fieldtech.sync.enroll import enroll


@click.command("enroll")
@click.argument("url")
@click.argument("code")
@json_option
@pass_ctx
def enroll_cmd(ctx: Context, url: str, code: str, as_json: bool) -> None:
    """Connect this device to HQ at URL with the one-time CODE HQ gave you."""
    user = enroll(ctx.device, ctx.locations.credential, url, code)
    if as_json:
        emit_json(user)
    else:
        say(
            f"enrolled as {user['name']} ({user['role']}"
            + (f", team {user['team']}" if user.get("team") else "")
            + ")"
        )


def client_for(ctx: Context, budget: str | None = None) -> SyncClient:
    cred = credentials.load(ctx.locations.credential)
    cap = parse_budget(budget) if budget else setting_budget(ctx)
    return SyncClient(
        ctx.device, cred["hq_url"], cred["token"], budget=cap, credential=ctx.locations.credential
    )


def setting_budget(ctx: Context) -> int | None:
    """`sync_budget = "50KB"` in settings.toml: every sync of this device stays within it."""
    value = ctx.settings().get("sync_budget")
    return None if value is None else parse_budget(str(value))


@click.command("sync")
@click.option("--dry-run", is_flag=True, help="Show what would be sent, send nothing.")
@click.option(
    "--budget",
    metavar="SIZE",
    help="At most this much on the wire, both ways (e.g. 50KB); the most urgent goes first.",
)
@json_option
@pass_ctx
def sync_cmd(ctx: Context, dry_run: bool, budget: str | None, as_json: bool) -> None:
    """Send what waits in the outbox and receive what HQ has for this device."""
    ctx.check_home()
    logs.setup(ctx.locations.logs)
    client = client_for(ctx, budget)
    try:
        if dry_run:
            waiting, size = ctx.device.store.uploads_waiting()
            plan = {
                **client.dry_run(),
                **client.plan(),
                "files": {"waiting": waiting, "bytes": size},
            }
            if as_json:
                emit_json(plan)
            else:
                _say_plan(plan)
            return
        out = console()
        with Progress(
            TextColumn("syncing"),
            BarColumn(),
            TextColumn("{task.description}"),
            console=out,
            transient=True,
            disable=as_json or not out.is_terminal,  # a pipe would get its empty line
        ) as bar:
            task = bar.add_task("", total=None)

            def progress(r):
                bar.update(task, description=f"{r.acknowledged:,} sent · {r.pulled:,} received")

            try:
                report = client.sync(progress=progress)
            except Exception as exc:
                logs.sync_outcome({"ok": False, "error": str(exc)})
                raise
    finally:
        client.close()
    logs.sync_outcome({"ok": True, **report.as_dict()})
    if as_json:
        emit_json(report.as_dict())
        return
    say(
        f"synced: {report.acknowledged:,} sent, {report.pulled:,} received in "
        f"{report.requests} request(s); {report.pending} still waiting"
        + (" (the budget was spent: the rest goes next time)" if report.budget_spent else "")
    )
    if report.files_sent or report.files_waiting:
        from fieldtech.domain.attachments import size_words

        say(
            f"files: {report.files_sent} now at HQ ({size_words(report.file_bytes)} sent), "
            f"{report.files_waiting} waiting"
        )
    for problem in report.file_problems:
        say(("file not sent", "red"), f" {problem}")
    if report.carried:
        say(
            f"carried {report.carried} colleague's bundle(s) to HQ: "
            "`fieldtech bundle carried` says which replies to hand over"
        )
    for rej in report.rejected:
        say(("refused by HQ", "red"), f" {rej['id'][-8:]}: {rej['reason']}")
    for moved in report.reassigned:
        from fieldtech.domain.timefmt import local_time

        kept = "; your unsent work on it was kept and sent (a conflict is on record)"
        say(
            ("reassigned", "yellow"),
            f" {moved['ref']} to {moved['to']}, {local_time(moved['at'])}",
            kept if moved["work_kept"] else "",
        )


def _say_plan(plan: dict) -> None:
    cap = f" within {plan['budget']:,} bytes" if plan.get("budget") is not None else ""
    fits = sum(plan["fits"].values())
    say(f"would send {fits:,} of {plan['ops']:,} waiting operations{cap} to {plan['url']}")
    for name in CLASSES:  # in the order they go
        n, w = plan["fits"].get(name, 0), plan["waits"].get(name, 0)
        if n or w:
            say(f"  {n:>6} go" + (f", {w:,} wait" if w else "") + f"  {name}")
    for op, n in plan["by_kind"].items():
        say(f"  {n:>6}  {OP_WORDS.get(op, op)}")
    files = plan.get("files") or {}
    if files.get("waiting"):
        from fieldtech.domain.attachments import size_words

        within = " (within what the budget leaves)" if plan.get("budget") is not None else ""
        say(
            f"then {files['waiting']} file(s), {size_words(files['bytes'])}, "
            f"in 64 KB chunks{within}"
        )


def register(cli: click.Group) -> None:
    cli.add_command(enroll_cmd)
    cli.add_command(sync_cmd)

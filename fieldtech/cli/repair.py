"""`fieldtech repair`: rebuild a damaged or lost data file from HQ, keeping unsent changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.text import Text

from fieldtech.cli.common import Context, emit_json, fail, json_option, line, pass_ctx, say
from fieldtech.domain.errors import FieldtechError
from fieldtech.sync import credentials
from fieldtech.sync.repair import RepairReport, diagnose, rebuild, sync_into


@click.command("repair")
@click.option("--check", "check_only", is_flag=True, help="Only say whether the file is sound.")
@click.option("--force", is_flag=True, help="Rebuild even when the file looks sound.")
@json_option
@pass_ctx
def repair_cmd(ctx: Context, check_only: bool, force: bool, as_json: bool) -> None:
    """Check this device's data file; if it is damaged or missing, set it aside, start a
    fresh one with the changes not yet sent, and receive everything else from HQ."""
    ctx.check_home()
    path = ctx.locations.device_db
    if check_only:
        _check(path, as_json)
        return
    cred = _credential(ctx)
    fill = sync_into(cred["hq_url"], cred["token"]) if cred else None
    report = rebuild(
        path, device_id=cred.get("device_id") if cred else None, force=force, fill=fill
    )
    out = {"file": str(path), **report.as_dict(), "received": 0, "sent": 0, "synced": False}
    if report.problem is None:
        if as_json:
            emit_json(out)
        else:
            say(f"{path}: sound, nothing to repair (--force rebuilds it anyway)")
        return
    said = _what_was_kept(path, report)
    # HQ's answer counts only when the device is enrolled and the sync was not held up.
    filled = report.filled if cred is not None and not report.waiting else None
    if filled is not None:
        out.update(received=filled.pulled, sent=filled.acknowledged, synced=True)
        said.append(
            f"received {filled.pulled:,} record(s) from HQ; sent {filled.acknowledged} change(s)"
        )
    short_words, problem = _what_is_short(report, enrolled=cred is not None)
    said += short_words
    if as_json:
        emit_json({**out, "waiting": problem})
    else:
        for words in said:
            say(words)
    if problem:
        fail(problem)


def _check(path: Path, as_json: bool) -> None:
    """`--check`: say whether the file is sound; a damaged one fails with what to do."""
    problem = diagnose(path)
    if as_json:
        emit_json({"file": str(path), "problem": problem})
    elif problem is None:
        say(f"{path}: sound")
    if problem is not None:
        fail(f"{path}: {problem}; `fieldtech repair` rebuilds it from HQ")


def _credential(ctx: Context) -> dict[str, Any] | None:
    """This device's HQ credential, or None where it is not enrolled (or the file is bad)."""
    try:
        return credentials.load(ctx.locations.credential)
    except FieldtechError:
        return None


def _what_was_kept(path: Path, report: RepairReport) -> list[str | Text]:
    """What was wrong, where the old file went, and which unsent changes came across."""
    said: list[str | Text] = [f"{path}: {report.problem}"]
    if report.set_aside:
        which = "rebuilt" if report.kept_old else "old"
        said.append(f"the {which} file is kept as {report.set_aside.name}")
    said.append(
        f"kept {report.kept_pending} change(s) not yet sent"
        + (f" and {report.kept_rejected} refused by HQ" if report.kept_rejected else "")
    )
    if report.unreadable or report.outbox_lost:
        said.append(
            line(
                (
                    "some changes could not be read from the damaged file"
                    + (f" ({report.unreadable})" if report.unreadable else ""),
                    "bold red",
                )
            )
        )
    return said


def _what_is_short(report: RepairReport, *, enrolled: bool) -> tuple[list[str | Text], str | None]:
    """What has not come back from HQ, and why the rebuild is not complete (None: it is)."""
    problem = None
    if not enrolled:
        problem = "not enrolled with HQ: enroll to receive this device's jobs"
    elif report.waiting:
        problem = f"{report.waiting}; the rebuild completes at the next `fieldtech sync`"
    short = ", ".join(f"{t} {o:,} → {n:,}" for t, (o, n) in report.short.items())
    if report.kept_old:
        problem = "nothing was replaced: the rebuilt file held less than the old one" + (
            f" ({report.waiting})" if report.waiting else ""
        )
        return [f"the rebuilt file held less ({short}): the old file stays in use"], problem
    if report.short:
        return [f"not yet back from HQ: {short}"], problem
    return [], problem


def register(cli: click.Group) -> None:
    cli.add_command(repair_cmd)

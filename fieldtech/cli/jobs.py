"""`fieldtech jobs` and `fieldtech job ...`: the queue and a job's day."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fieldtech.cli.common import Context, emit_json, json_option, pass_ctx, say, table
from fieldtech.cli.job_card import show_card, status_words
from fieldtech.domain.errors import BadInput, CloseRefused
from fieldtech.domain.jobs import (
    OUTCOMES,
    HoldFor,
    Kind,
    Priority,
    Status,
    parse_outcome,
    parse_rating,
    sla_words,
)
from fieldtech.domain.parts import Movement
from fieldtech.domain.text import plain
from fieldtech.services import jobs as job_service
from fieldtech.store.jobs import QueueFilter
from fieldtech.store.rows import QueueRow

if TYPE_CHECKING:
    from fieldtech.services.jobs import ClosedJob
    from fieldtech.store.rows import JobRow

PRIORITY_STYLE = {
    "emergency": "bold red",
    "vip": "bold magenta",
    "high": "yellow",
    "normal": "",
    "low": "dim",
}


class ListedJob(QueueRow):
    """A line of `fieldtech jobs`: the queue's row and its time left in words (empty once
    the job is closed)."""

    sla: str


class Words(click.Choice):
    """One of a fixed set, typed as stored (`on_hold`) or as read (`on hold`, `On-Hold`)."""

    def __init__(self, choices: list[str]):
        super().__init__(choices, case_sensitive=False)

    def normalize_choice(self, choice, ctx):  # type: ignore[no-untyped-def]
        return super().normalize_choice(choice, ctx).strip().replace(" ", "_").replace("-", "_")


@click.command("jobs")
@click.option("-q", "--text", help="Search customer, address, appliance, job id.")
@click.option("--status", type=Words([s.value for s in Status]), help="Only this status.")
@click.option("--kind", type=Words([k.value for k in Kind]), help="Only this kind.")
@click.option("--priority", type=Words([p.value for p in Priority]), help="Only this priority.")
@click.option("--all", "show_all", is_flag=True, help="Include closed jobs.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@json_option
@pass_ctx
def jobs_cmd(ctx: Context, text, status, kind, priority, show_all, limit, as_json) -> None:
    """The job queue: emergency and VIP first, then by SLA and appointment.

    JSON: {"total": jobs matching, "jobs": the first LIMIT of them}."""
    flt = QueueFilter(
        text=text,
        status=status,
        kind=kind,
        priority=priority,
        open_only=not show_all and not status,
        technician_id=ctx.store.meta("user_id") if ctx.store.meta("role") == "technician" else None,
    )
    now = ctx.device.at()
    rows: list[ListedJob] = [
        {**r, "sla": sla_words(r["sla_due"], now) if Status(r["status"]).is_open else ""}
        for r in ctx.store.queue(flt, limit=limit)
    ]
    total = ctx.store.count_jobs(flt) if rows else 0
    if as_json:
        emit_json({"total": total, "jobs": rows})
        return
    counted = f"{total} job" + ("" if total == 1 else "s")
    shown = counted if total <= len(rows) else f"{counted}, the first {len(rows)}"
    table(
        shown if rows else None,
        [
            "job",
            "priority",
            "status",
            ("customer", {"squeeze": 2, "least": 10}),
            ("where", {"squeeze": 1, "least": 8}),
            "SLA",
            ("summary", {"squeeze": 3, "least": 8}),
        ],
        [
            (
                r["ref"],
                (r["priority"], PRIORITY_STYLE[r["priority"]]),
                status_words(r["status"]),
                r["customer"],
                r["city"],
                r["sla"],
                r["summary"],
            )
            for r in rows
        ],
        empty="no jobs match",
    )


@click.group("job")
def job_group() -> None:
    """Look at one job and move it through its day."""


@job_group.command("show")
@click.argument("job_id")
@json_option
@pass_ctx
def show_cmd(ctx: Context, job_id: str, as_json: bool) -> None:
    """The job with its customer file, site hazards, appliance and history.

    Times are this device's local time; JSON keeps them in UTC."""
    card = ctx.store.job_card(job_id)
    history = ctx.store.job_events(card["id"])
    customer_file = ctx.store.customer_history(card["customer_id"], card["id"])
    conflicts = ctx.store.conflicts(card["id"])
    # A seeded demo profile shows the code its customer's phone would; a real one never can.
    demo_code = job_service.seeded_demo_code(ctx.store, card)
    if as_json:
        # Not the stamps (sync's own), nor the code's hash: the customer gives the code.
        shown = {k: v for k, v in card.items() if k not in ("stamps", "confirmation_hash")}
        used = [m for m in ctx.store.ledger(job_id=card["id"]) if m["kind"] == Movement.USED.value]
        emit_json(
            {
                **shown,
                "history": history,
                "customer_file": customer_file,
                "parts_used": used,
                "conflicts": conflicts,
            }
        )
        return
    show_card(ctx, card, customer_file, history, conflicts, demo_code)


def _done(ctx: Context, job: JobRow, as_json: bool) -> None:
    if as_json:
        # The stamps are sync's own; the confirmation hash is not for printing (as job show).
        emit_json({k: v for k, v in job.items() if k not in ("stamps", "confirmation_hash")})
    else:
        say(f"{job['ref']}: ", (status_words(job["status"]), "bold"), " (saved)")


@job_group.command("start")
@click.argument("job_id")
@json_option
@pass_ctx
def start_cmd(ctx: Context, job_id: str, as_json: bool) -> None:
    """Set off for the site (en route)."""
    _done(ctx, job_service.start(ctx.device, job_id), as_json)


@job_group.command("arrive")
@click.argument("job_id")
@json_option
@pass_ctx
def arrive_cmd(ctx: Context, job_id: str, as_json: bool) -> None:
    """Arrived at the site (on site)."""
    _done(ctx, job_service.arrive(ctx.device, job_id), as_json)


@job_group.command("hold")
@click.argument("job_id")
@click.option(
    "--for",
    "waits_for",
    type=click.Choice([h.value for h in HoldFor]),
    help="What the job waits for (what the team board counts).",
)
@click.option("--reason", help="In words: which part, when the customer is back, ...")
@json_option
@pass_ctx
def hold_cmd(
    ctx: Context, job_id: str, waits_for: str | None, reason: str | None, as_json: bool
) -> None:
    """Put the job on hold: what it waits for (parts, customer, other) and why."""
    if not waits_for and not (reason or "").strip():
        raise click.UsageError("say what the job waits for: --for parts|customer|other")
    _done(ctx, job_service.hold(ctx.device, job_id, reason, waits_for=waits_for), as_json)


@job_group.command("resume")
@click.argument("job_id")
@json_option
@pass_ctx
def resume_cmd(ctx: Context, job_id: str, as_json: bool) -> None:
    """Take a job off hold."""
    _done(ctx, job_service.resume(ctx.device, job_id), as_json)


@job_group.command("note")
@click.argument("job_id")
@click.argument("text")
@json_option
@pass_ctx
def note_cmd(ctx: Context, job_id: str, text: str, as_json: bool) -> None:
    """Add a note to the job's history."""
    event = job_service.note(ctx.device, job_id, text)
    if as_json:
        emit_json(event)
    else:
        say("note saved")


@job_group.command("escalate")
@click.argument("job_id")
@click.option("--note", required=True, help="What help you need from HQ.")
@json_option
@pass_ctx
def escalate_cmd(ctx: Context, job_id: str, note: str, as_json: bool) -> None:
    """Ask HQ for help; it goes out first at the next sync."""
    from fieldtech.services.escalations import escalate

    event = escalate(ctx.device, job_id, note)
    if as_json:
        emit_json(event)
    else:
        say("escalation saved; it goes to HQ first at the next sync")


@job_group.command("close")
@click.argument("job_id")
@click.option("--outcome", type=click.Choice(list(OUTCOMES)), help="What was done.")
@click.option("--name", "signoff_name", help="The customer's name, as they type it.")
@click.option("--code", help="The customer's confirmation code.")
@click.option("--rating", help="The customer's rating, 1 to 5.")
@click.option("--spawn-install", is_flag=True, help="Survey only: create the install job.")
@json_option
@pass_ctx
def close_cmd(
    ctx: Context, job_id, outcome, signoff_name, code, rating, spawn_install, as_json
) -> None:
    """Close the job with the customer's sign-off. Lists everything still missing."""
    try:
        job = _close(ctx, job_id, outcome, signoff_name, code, rating, spawn_install)
    except CloseRefused as refused:
        if as_json:
            emit_json({"closed": False, "missing": refused.missing})
        else:
            if len(refused.missing) == 1:  # one reason: one line, like every refusal
                click.echo(f"fieldtech: cannot close yet: {plain(refused.missing[0])}", err=True)
            else:
                click.echo("fieldtech: cannot close yet:", err=True)
                for missing in refused.missing:
                    click.echo(f"  {plain(missing)}", err=True)
        raise SystemExit(1) from None
    spawned = job.pop("spawned", None)
    _done(ctx, job, as_json)
    if spawned and not as_json:
        say(f"install job {spawned['ref']} created")


def _close(ctx: Context, job_id, outcome, signoff_name, code, rating, spawn_install) -> ClosedJob:
    """The service's close; a rating out of range is refused with everything else missing."""
    try:
        parse_rating(rating)
    except BadInput as bad:
        job = ctx.store.job(job_id)
        missing = job_service.close_blockers(
            ctx.device,
            job,
            outcome=parse_outcome(outcome),
            signoff_name=signoff_name,
            code=code,
            rating=None,
        )
        rating_words = [m for m in missing if "rating" in m]
        raise CloseRefused(
            [bad.message if m in rating_words else m for m in missing]
            + ([] if rating_words else [bad.message])
        ) from None
    return job_service.close(
        ctx.device,
        job_id,
        outcome=outcome,
        signoff_name=signoff_name,
        code=code,
        rating=rating,
        spawn_install=spawn_install,
    )


@job_group.command("cannot-complete")
@click.argument("job_id")
@click.option("--reason", required=True, help="Why the job cannot be completed.")
@click.option("--follow-up", is_flag=True, help="Create a follow-up job for the same customer.")
@json_option
@pass_ctx
def cannot_complete_cmd(ctx: Context, job_id, reason, follow_up, as_json) -> None:
    """Close the job without finishing it, with a reason."""
    job = job_service.cannot_complete(ctx.device, job_id, reason, follow_up=follow_up)
    spawned = job.pop("spawned", None)
    _done(ctx, job, as_json)
    if spawned and not as_json:
        say(f"follow-up job {spawned['ref']} created")


def register(cli: click.Group) -> None:
    cli.add_command(jobs_cmd)
    cli.add_command(job_group)

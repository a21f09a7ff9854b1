"""`fieldtech team ...`: a supervisor's decisions from the terminal, made on this device and
synced like any change: part requests, reassignment, escalations, call-backs."""

from __future__ import annotations

from collections.abc import Mapping

import click

from fieldtech.cli.common import Context, emit_json, json_option, pass_ctx, say, table
from fieldtech.domain.escalation import LEVEL_WORDS
from fieldtech.domain.jobs import STATUS_WORDS, Status
from fieldtech.services import supervision


@click.group("team")
def team_group() -> None:
    """A supervisor's work on the team: requests to decide, escalations, call-backs."""


@team_group.command("requests")
@click.option(
    "--all", "everything", is_flag=True, help="Every request, not only those waiting for you."
)
@json_option
@pass_ctx
def requests_cmd(ctx: Context, everything: bool, as_json: bool) -> None:
    """Part requests of the team; by default those waiting for a decision."""
    rows = ctx.store.team_requests(None if everything else "submitted")
    if as_json:
        emit_json(rows)
        return
    table(
        "Part requests" if everything else "Part requests waiting for a decision",
        [
            ("request", {"min_width": 8}),
            ("technician", {"min_width": 12}),
            ("part", {"ratio": 1, "min_width": 10}),
            ("qty", {"justify": "right", "min_width": 3}),
            ("job", {"min_width": 8}),
            ("status", {"min_width": 9}),
            ("note", {"ratio": 1}),
        ],
        [
            (
                r["id"][-8:],
                r["technician"],
                r["part"],
                r["qty"],
                r["job_ref"],
                r["status"],
                r["note"],
            )
            for r in rows
        ],
        empty="no part request is waiting",
    )


@team_group.command("approve")
@click.argument("request_id")
@click.option("--note", help="A word for the technician.")
@json_option
@pass_ctx
def approve_cmd(ctx: Context, request_id: str, note: str | None, as_json: bool) -> None:
    """Approve a part request (the warehouse ships it)."""
    req = supervision.approve(ctx.device, request_id, note)
    _done(as_json, req, f"approved request {req['id'][-8:]}: saved, goes to HQ with the next sync")


@team_group.command("reject")
@click.argument("request_id")
@click.option("--reason", required=True, help="Why (the technician reads it).")
@json_option
@pass_ctx
def reject_cmd(ctx: Context, request_id: str, reason: str, as_json: bool) -> None:
    """Reject a part request, saying why."""
    req = supervision.reject(ctx.device, request_id, reason)
    _done(as_json, req, f"rejected request {req['id'][-8:]}: saved, goes to HQ with the next sync")


@team_group.command("reassign")
@click.argument("job_id")
@click.argument("technician")
@json_option
@pass_ctx
def reassign_cmd(ctx: Context, job_id: str, technician: str, as_json: bool) -> None:
    """Give a job to another technician of the team (by id or name)."""
    job = supervision.reassign(ctx.device, job_id, technician)
    who = ctx.store.person(job["technician_id"])
    _done(as_json, job, f"{job['ref']} now with {who}: saved, goes to HQ with the next sync")


@team_group.command("escalations")
@click.option("--open", "unacknowledged", is_flag=True, help="Only those not acknowledged yet.")
@json_option
@pass_ctx
def escalations_cmd(ctx: Context, unacknowledged: bool, as_json: bool) -> None:
    """Escalated open jobs, highest level first."""
    rows = ctx.store.escalations(unacknowledged_only=unacknowledged)
    if as_json:
        emit_json(rows)
        return
    table(
        "Escalations",
        [
            ("job", {"min_width": 8}),
            ("level", {"min_width": 12}),
            ("seen", {"min_width": 4}),
            ("technician", {"min_width": 12}),
            ("status", {"min_width": 11}),
            ("note", {"ratio": 1}),
        ],
        [
            (
                r["ref"],
                f"{r['escalation_level']} {LEVEL_WORDS.get(r['escalation_level'], '')}",
                "yes" if r["escalation_ack_level"] >= r["escalation_level"] else "no",
                r["technician"],
                STATUS_WORDS[Status(r["status"])],
                r["note"],
            )
            for r in rows
        ],
        empty="nothing is escalated",
    )


@team_group.command("ack")
@click.argument("job_id")
@click.option("--note", help="What you are doing about it.")
@json_option
@pass_ctx
def ack_cmd(ctx: Context, job_id: str, note: str | None, as_json: bool) -> None:
    """Acknowledge a job's escalation: you own it now."""
    job = supervision.acknowledge(ctx.device, job_id, note)
    _done(
        as_json,
        job,
        f"{job['ref']}: escalation level {job['escalation_level']} acknowledged; "
        "goes to HQ with the next sync",
    )


@team_group.command("callback")
@click.argument("job_id")
@click.option("--skill", required=True, help="Technical skill, 1–5.")
@click.option("--attitude", required=True, help="Attitude, 1–5.")
@click.option("--adherence", required=True, help="Adherence to the service standard, 1–5.")
@click.option("--comment", help="What the customer said.")
@json_option
@pass_ctx
def callback_cmd(ctx: Context, job_id, skill, attitude, adherence, comment, as_json) -> None:
    """Record the customer's call-back for a closed job."""
    row = supervision.record_callback(
        ctx.device, job_id, skill=skill, attitude=attitude, adherence=adherence, comment=comment
    )
    _done(as_json, row, f"call-back for {row['job']} saved; goes to HQ with the next sync")


def _done(as_json: bool, data: Mapping[str, object], message: str) -> None:
    if as_json:
        emit_json(data)
    else:
        say(message)


def register(cli: click.Group) -> None:
    cli.add_command(team_group)

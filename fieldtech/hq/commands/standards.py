"""`fieldtech hq escalate|callback|kpis|report|plan|day`: running the service standards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click

from fieldtech.hq import callbacks, dispatch, plan, reports
from fieldtech.hq.commands.context import HQContext, pass_hq
from fieldtech.hq.commands.jobs import code_words, open_code
from fieldtech.hq.commands.main import hq_group
from fieldtech.hq.escalation import run_escalations
from fieldtech.output import emit_json, json_option, say, table, when


@hq_group.command("escalate")
@click.option(
    "--at",
    "at",
    type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d"]),
    help="Judge lateness as of this time (UTC; default now).",
)
@json_option
@pass_hq
def escalate_cmd(h: HQContext, at: datetime | None, as_json: bool) -> None:
    """Escalate every open job that is late, level by level (run it every few minutes)."""
    now = at.replace(tzinfo=UTC) if at else datetime.now(UTC)
    changed = run_escalations(h.hq(), now)
    if as_json:
        emit_json(changed)
        return
    table(
        f"{len(changed)} job(s) escalated",
        ["job", "from", "to"],
        [(c["job"], c["from"], c["to"]) for c in changed],
        empty="nothing to escalate",
    )


@hq_group.command("callback")
@click.argument("job_id")
@click.option("--skill", required=True, help="Technical skill, 1–5.")
@click.option("--attitude", required=True, help="Attitude, 1–5.")
@click.option("--adherence", required=True, help="Adherence to the service standard, 1–5.")
@click.option("--comment")
@json_option
@pass_hq
def callback_cmd(
    h: HQContext,
    job_id: str,
    skill: str,
    attitude: str,
    adherence: str,
    comment: str | None,
    as_json: bool,
) -> None:
    """Record the customer call-back for a closed job."""
    row = callbacks.record_callback(
        h.hq(),
        h.console_admin(),
        job_id,
        skill=skill,
        attitude=attitude,
        adherence=adherence,
        comment=comment,
    )
    if as_json:
        emit_json(row)
    else:
        say(f"call-back for {row['job']} saved")


@hq_group.command("kpis")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Also write them as CSV to this file ('-' for standard output).",
)
@json_option
@pass_hq
def kpis_cmd(h: HQContext, csv_path: str | None, as_json: bool) -> None:
    """Per-technician KPIs: completed, first-time fix, SLA hit rate, ratings, call-backs."""
    rows = reports.kpis(h.hq(), h.console_admin())
    if csv_path == "-":
        click.echo(reports.kpis_csv(rows), nl=False)
        return
    if csv_path:
        Path(csv_path).write_text(reports.kpis_csv(rows))
    if as_json:
        emit_json(rows)
        return

    def pct(x: float | None) -> str:
        return "" if x is None else f"{x:.0%}"

    table(
        "Technician KPIs",
        [
            "technician",
            "closed",
            "first-time fix",
            "SLA hit",
            "rating",
            "skill",
            "attitude",
            "adherence",
            "",
        ],
        [
            (
                r["name"],
                r["closed"],
                pct(r["first_time_fix_rate"]),
                pct(r["sla_hit_rate"]),
                r["avg_rating"],
                r["avg_skill"],
                r["avg_attitude"],
                r["avg_adherence"],
                (r["warning"], "red"),
            )
            for r in rows
        ],
        empty="no closed jobs yet",
    )


@hq_group.command("report")
@click.argument("job_id")
@click.option("--html", "as_html", is_flag=True, help="HTML instead of Markdown.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True))
@pass_hq
def report_cmd(h: HQContext, job_id: str, as_html: bool, output: str | None) -> None:
    """The service report for one job, to give to the customer."""
    render = reports.service_report_html if as_html else reports.service_report_markdown
    hq, admin = h.hq(), h.console_admin()
    text = render(hq, admin, job_id)
    if output:
        Path(output).write_text(text)
        say(f"written {output}")
    else:
        click.echo(text, nl=False)
    # Not in the report (it goes to the customer): said to the HQ staff who ran it.
    code = open_code(dispatch.get_job(hq, admin, job_id))
    if code:
        click.echo(code_words(code).plain, err=not output)


@hq_group.command("plan")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Today (default: today).")
@click.option(
    "--days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 366),
    help="Plan maintenance falling due within this many days.",
)
@json_option
@pass_hq
def plan_cmd(h: HQContext, day: datetime | None, days: int, as_json: bool) -> None:
    """Generate planned maintenance jobs ahead of time (safe to run every day)."""
    today = day.date() if day else date.today()
    created = plan.plan_maintenance(h.hq(), h.console_admin(), today, days)
    if as_json:
        emit_json(created)
        return
    table(
        f"{len(created)} maintenance job(s) planned",
        ["job", "due", "technician"],
        [(c["ref"], c["due"], c["technician"] or "unassigned") for c in created],
        empty="nothing falls due",
    )


@hq_group.command("day")
@click.argument("technician")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Default: today.")
@json_option
@pass_hq
def day_cmd(h: HQContext, technician: str, day: datetime | None, as_json: bool) -> None:
    """A technician's day as an ordered task list."""
    rows = plan.day_plan(h.hq(), h.console_admin(), technician, day.date() if day else date.today())
    if as_json:
        emit_json(rows)
        return
    table(
        f"{technician}: {len(rows)} task(s)",
        ["#", "job", "priority", "kind", "summary", "SLA"],
        [
            (r["position"], r["ref"], r["priority"], r["kind"], r["summary"], when(r["sla_due"]))
            for r in rows
        ],
        empty="a free day",
    )


def register(cli: click.Group) -> None:
    """Commands attach to `fieldtech hq` when this module is imported."""

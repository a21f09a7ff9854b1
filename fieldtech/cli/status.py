"""`fieldtech status`: the team picture from the last pulled state, for a terminal or a script."""

from __future__ import annotations

import csv
import io
from typing import Literal, get_args

import click

from fieldtech.cli.common import Context, emit_json, pass_ctx, say, table, when
from fieldtech.domain.jobs import Status, age_words

# The team picture's columns, as store.rows.TeamStatusRow names them: CSV and the table
# read each row by them.
Column = Literal[
    "technician",
    "name",
    "open",
    "in_progress",
    "on_hold_for_parts",
    "completed_today",
    "overdue",
    "escalated",
    "avg_rating",
    "avg_callback",
]
COLUMNS: tuple[Column, ...] = get_args(Column)


NUMBER = {"justify": "right", "min_width": 4}
LEGEND = (
    "busy: on site or working · parts: on hold for parts · done: completed today · "
    "late: past the promised time · esc: escalated · call-back: average score 1–5"
)


@click.command("status")
@click.option("--technician", help="Only this technician (user id or name).")
@click.option(
    "--status",
    "job_status",
    type=click.Choice([s.value for s in Status]),
    help="Only technicians with a job in this status.",
)
@click.option("--overdue", is_flag=True, help="Only technicians with overdue jobs.")
@click.option("--escalated", is_flag=True, help="Only technicians with escalated jobs.")
@click.option("--rating-below", type=float, help="Only average ratings below this.")
@click.option("--callback-below", type=float, help="Only average call-back scores below this.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
@pass_ctx
def status_cmd(
    ctx: Context,
    technician,
    job_status,
    overdue,
    escalated,
    rating_below,
    callback_below,
    as_json,
    as_csv,
) -> None:
    """Per technician: open, in progress, on hold for parts, completed today, overdue,
    escalated, average customer rating, average call-back score."""
    rows = everyone = ctx.store.team_status(
        ctx.device.at(), technician=technician, status=job_status
    )
    if overdue:
        rows = [r for r in rows if r["overdue"]]
    if escalated:
        rows = [r for r in rows if r["escalated"]]
    if rating_below is not None:
        rows = [r for r in rows if r["avg_rating"] is not None and r["avg_rating"] < rating_below]
    if callback_below is not None:
        rows = [
            r for r in rows if r["avg_callback"] is not None and r["avg_callback"] < callback_below
        ]
    if as_json:
        emit_json(rows)
    elif as_csv:
        buf = io.StringIO()
        w: csv.DictWriter[str] = csv.DictWriter(
            buf, fieldnames=COLUMNS, lineterminator="\n", extrasaction="ignore"
        )
        w.writeheader()
        w.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
    else:
        pulled = ctx.store.meta("last_sync_ok")
        age = age_words(pulled, ctx.device.now())
        since = f"pulled from HQ {age}, {when(pulled)}" if pulled else "not pulled from HQ yet"
        table(
            f"Team status ({since})",
            [("technician", {"min_width": 12, "ratio": 1})]
            + [(h, NUMBER) for h in ("open", "busy", "parts", "done", "late", "esc")]
            + [("rating", NUMBER), ("call-back", NUMBER)],
            [[r[c] if r[c] is not None else "" for c in COLUMNS[1:]] for r in rows],
            empty=_nobody(
                pulled is not None,
                age,
                bool(everyone or (rows == [] and ctx.store.team_status(ctx.device.at()))),
            ),
        )
        if rows:
            say((LEGEND, "dim"))


def _nobody(pulled: bool, age: str, any_jobs: bool) -> str:
    """Why the table is empty, in words that do not mislead."""
    if any_jobs:
        return "no technician matches these filters" + (
            f" (team state pulled {age})" if pulled else " (the team state is not pulled yet)"
        )
    if not pulled:
        return "the team state has not been pulled from HQ yet: run `fieldtech sync`"
    return f"no jobs in the team state pulled {age}"


def register(cli: click.Group) -> None:
    cli.add_command(status_cmd)

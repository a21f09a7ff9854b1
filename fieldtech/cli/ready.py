"""`fieldtech ready`: before leaving coverage, what the next days' jobs still lack here."""

from __future__ import annotations

import click

from fieldtech.cli.common import Context, emit_json, json_option, pass_ctx, say
from fieldtech.services.readiness import check


@click.command("ready")
@click.option(
    "--days",
    type=click.IntRange(1, 60),
    default=2,
    show_default=True,
    help="The jobs due within this many days (overdue ones too).",
)
@json_option
@pass_ctx
def ready_cmd(ctx: Context, days: int, as_json: bool) -> None:
    """Ready to leave coverage? Exits 1, with what is missing in words, when not."""
    got = check(ctx.store, days, enrolled=ctx.locations.credential.is_file())
    if as_json:
        emit_json(got.as_dict())
    elif got.ready:
        say(f"ready: the {got.jobs} open job(s) of the next {days} day(s) have all they need here")
    else:
        say(
            (f"not ready: {len(got.gaps)} thing(s) missing", "yellow"),
            f" for the {got.jobs} open job(s) of the next {days} day(s)",
        )
        for gap in got.gaps:
            say(f"  • {gap.job + ': ' if gap.job else ''}{gap.words}")
    if not got.ready:
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(ready_cmd)

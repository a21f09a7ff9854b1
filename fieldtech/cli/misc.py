"""`fieldtech locate`, `outbox` and `seed`."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from fieldtech.cli.common import Context, console, emit_json, json_option, pass_ctx, table
from fieldtech.services.seed import seed


@click.command("locate")
@json_option
@pass_ctx
def locate_cmd(ctx: Context, as_json: bool) -> None:
    """Where this profile keeps its data, config and logs."""
    where = ctx.locations.as_dict()
    if as_json:
        emit_json(where)
        return
    for key, value in where.items():
        click.echo(f"{key:<11} {value}")


@click.command("outbox")
@click.option("--state", type=click.Choice(["pending", "rejected"]))
@json_option
@pass_ctx
def outbox_cmd(ctx: Context, state, as_json) -> None:
    """Changes made here that HQ has not acknowledged yet, in the order they will go."""
    rows = ctx.store.outbox(state)
    if as_json:
        emit_json(rows)
        return
    table(
        f"Outbox: {len(rows)} waiting for HQ" if rows else None,
        ["#", "operation", "entity", "when", "state", "reason"],
        [
            (
                i,
                r["op"],
                f"{r['entity']} {r['entity_id'][-8:]}",
                r["created_at"],
                r["state"],
                r["reason"] or "",
            )
            for i, r in enumerate(rows, 1)
        ],
        empty="outbox empty: everything is at HQ",
    )


@click.command("seed")
@click.option(
    "--jobs",
    "count",
    type=click.IntRange(1, 1_000_000),
    default=60,
    show_default=True,
    help="How many jobs to generate.",
)
@click.option("--seed", "rng_seed", type=int, default=7, show_default=True)
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The day the data is built around (default: today).",
)
@json_option
@pass_ctx
def seed_cmd(ctx: Context, count, rng_seed, day, as_json) -> None:
    """Fill this device with realistic demo data (deterministic for a seed and day)."""
    now = (day or datetime.now(UTC)).replace(hour=8, minute=0, second=0, microsecond=0, tzinfo=UTC)
    counts = seed(ctx.store, count, now=now, seed=rng_seed)
    if as_json:
        emit_json(counts)
    else:
        console().print(
            "seeded "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items())
            + f" into {ctx.locations.device_db}"
        )


def register(cli: click.Group) -> None:
    for c in (locate_cmd, outbox_cmd, seed_cmd):
        cli.add_command(c)

"""`fieldtech locate`, `outbox` and `seed`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import click

from fieldtech.cli.common import Context, console, emit_json, json_option, pass_ctx, table, when
from fieldtech.domain import ops
from fieldtech.domain.errors import NotFound
from fieldtech.domain.jobs import STATUS_WORDS, Status
from fieldtech.services.seed import seed

if TYPE_CHECKING:
    from fieldtech.store.rows import OutboxRow


@click.command("locate")
@json_option
@pass_ctx
def locate_cmd(ctx: Context, as_json: bool) -> None:
    """Where this profile keeps its data, config and logs."""
    where = ctx.locations.as_dict()
    if as_json:
        emit_json(where)
    else:
        for key, value in where.items():
            click.echo(f"{key:<11} {value}")
    ctx.check_home()  # the paths are printed either way; a profile that cannot be kept fails


@click.command("outbox")
@click.option(
    "--state",
    type=click.Choice(["pending", "rejected"]),
    help="pending: waiting to send; rejected: refused by HQ, kept here with the reason.",
)
@json_option
@pass_ctx
def outbox_cmd(ctx: Context, state, as_json) -> None:
    """Changes made here that HQ has not acknowledged yet, in the order they will go.

    Times are this device's local time; JSON keeps them in UTC with the wire names."""
    # The outbox table's rows: store.outbox hands them to the sync client as plain dicts.
    rows = cast("list[OutboxRow]", ctx.store.outbox(state))
    if as_json:
        emit_json(rows)
        return
    counts = ctx.store.outbox_counts()
    waiting, refused = counts.get("pending", 0), counts.get("rejected", 0)
    refs: dict[str, str] = {}
    table(
        _outbox_title(state, waiting, refused) if rows else None,
        [
            "#",
            ("change", {"squeeze": 1, "wrap": True, "least": 14}),
            "on",
            "when",
            "state",
            ("reason", {"fold": True}),
        ],
        [
            (
                i,
                ops.OP_WORDS.get(r["op"], r["op"]) + _change_detail(r),
                _entity_words(ctx, r, refs),
                when(r["created_at"]),
                STATE_WORDS.get(r["state"], r["state"]),
                r["reason"] or "",
            )
            for i, r in enumerate(rows, 1)
        ],
        empty=_outbox_empty(state, waiting, refused),
    )


STATE_WORDS = {"pending": "waiting", "rejected": "refused by HQ"}


def _outbox_title(state: str | None, waiting: int, refused: int) -> str:
    if state == "rejected":
        return f"Refused by HQ: {refused} (kept here with the reason); {waiting} waiting to send"
    if state == "pending":
        return f"Outbox: {waiting} waiting to send"
    return f"Outbox: {waiting} waiting to send, {refused} refused by HQ"


def _outbox_empty(state: str | None, waiting: int, refused: int) -> str:
    if state == "rejected":
        return "no refused changes; " + (
            f"{waiting} waiting to send" if waiting else "nothing waits to send"
        )
    if state == "pending":
        return "nothing waits to send" + (
            f"; {refused} refused by HQ (fieldtech outbox --state rejected)" if refused else ""
        )
    return "outbox empty: nothing waits to go to HQ"


def _change_detail(row: OutboxRow) -> str:
    p = row["payload"] if isinstance(row["payload"], dict) else {}
    try:
        if row["op"] in (ops.JOB_STATUS, ops.JOB_CLOSE) and p.get("to"):
            return f" → {STATUS_WORDS[Status(p['to'])]}"
        if row["op"] == ops.STOCK_MOVE and p.get("kind"):
            return f": {p['kind']} {p.get('qty', '')}"
        if row["op"] == ops.READING_ADD and p.get("key"):
            return f": {p['key']}"
    except (ValueError, KeyError):
        pass
    return ""


def _entity_words(ctx: Context, row: OutboxRow, refs: dict[str, str]) -> str:
    entity, eid = row["entity"], row["entity_id"] or ""
    if entity == "job":
        if eid not in refs:
            try:
                refs[eid] = ctx.store.job(eid)["ref"]
            except NotFound:
                refs[eid] = eid[-8:]
        return f"job {refs[eid]}"
    if entity == "stock":
        return f"part {eid}"
    if entity == "part_request":
        return f"part request {eid[-8:]}"
    if entity == "callback":
        return "call-back"
    return f"{entity} {eid[-8:]}"


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
    from fieldtech.progress import progress_bar

    with progress_bar("seeding") as progress:
        counts = seed(ctx.store, count, now=now, seed=rng_seed, progress=progress)
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

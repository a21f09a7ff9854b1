"""`fieldtech parts ...`: van stock, the catalogue, using, requesting and returning parts."""

from __future__ import annotations

import click

from fieldtech.cli.common import Context, emit_json, json_option, pass_ctx, say, table, when
from fieldtech.domain.parts import RETURN_REASONS, RequestStatus
from fieldtech.services import parts as part_service


@click.group("parts")
def parts_group() -> None:
    """Spare parts: what the van holds, what was used where, what is on order."""


@parts_group.command("stock")
@json_option
@pass_ctx
def stock_cmd(ctx: Context, as_json: bool) -> None:
    """Van stock, derived from the ledger."""
    rows = ctx.store.van_stock()
    if as_json:
        emit_json(rows)
        return
    table(
        "Van stock",
        ["sku", "part", "on hand", "unit"],
        [(r["sku"], r["name"], r["on_hand"], r["unit"]) for r in rows],
        empty="the van is empty",
    )


@parts_group.command("catalog")
@click.option("-q", "--text", help="Search SKU, name, category, barcode.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@json_option
@pass_ctx
def catalog_cmd(ctx: Context, text, limit, as_json) -> None:
    """The parts catalogue."""
    rows = ctx.store.catalog(text, limit)
    if as_json:
        emit_json(rows)
        return
    table(
        "Catalogue",
        ["sku", "part", "category", "unit", "barcode"],
        [(r["sku"], r["name"], r["category"], r["unit"], r["barcode"]) for r in rows],
        empty="no parts match",
    )


@parts_group.command("use")
@click.argument("job_id")
@click.argument("code")
@click.option("--qty", default="1", show_default=True, help="How many.")
@click.option(
    "--override", "override_reason", help="Use more than the van holds, saying why (recorded)."
)
@json_option
@pass_ctx
def use_cmd(ctx: Context, job_id, code, qty, override_reason, as_json) -> None:
    """Fit a part on a job. CODE is a SKU or a scanned barcode."""
    r = part_service.use_part(ctx.device, job_id, code, qty, override_reason)
    if as_json:
        emit_json(r)
    else:
        say(f"used {r['qty']} × {r['name']} ({r['on_hand']} left in the van)")


@parts_group.command("request")
@click.argument("code")
@click.option("--qty", default="1", show_default=True)
@click.option("--job", "job_id", help="The job the part is for.")
@click.option("--note", help="Anything the warehouse should know.")
@click.option("--draft", is_flag=True, help="Keep as a draft; submit later.")
@json_option
@pass_ctx
def request_cmd(ctx: Context, code, qty, job_id, note, draft, as_json) -> None:
    """Ask for a part the van does not hold."""
    r = part_service.request_part(ctx.device, code, qty, job_id=job_id, note=note, draft=draft)
    if as_json:
        emit_json(r)
    else:
        say(f"request {r['id'][-8:]} for {r['qty']} × {r['name']}: {r['status']}")


@parts_group.command("requests")
@click.option("--job", "job_id", help="Only requests for this job.")
@json_option
@pass_ctx
def requests_cmd(ctx: Context, job_id, as_json) -> None:
    """Every part request and where it stands."""
    if job_id:
        job_id = ctx.store.job(job_id)["id"]
    rows = ctx.store.part_requests(job_id)
    if as_json:
        emit_json(rows)
        return
    table(
        "Part requests",
        ["request", "part", "qty", "status", "job", "updated"],
        [
            (
                r["id"][-8:],
                r["name"],
                r["qty"],
                r["status"],
                r["job_id"][-8:] if r["job_id"] else "",
                when(r["updated_at"]),
            )
            for r in rows
        ],
        empty="no part requests",
    )


def _step(target: RequestStatus, help_text: str):
    @click.argument("request_id")
    @json_option
    @pass_ctx
    def command(ctx: Context, request_id: str, as_json: bool) -> None:
        r = part_service.step_request(ctx.device, request_id, target)
        if as_json:
            emit_json(r)
        else:
            say(f"request {r['id'][-8:]}: {r['status']}")

    command.__doc__ = help_text
    return command


parts_group.command("submit")(_step(RequestStatus.SUBMITTED, "Submit a draft request."))
parts_group.command("cancel")(_step(RequestStatus.CANCELLED, "Cancel a request."))
parts_group.command("receive")(
    _step(RequestStatus.RECEIVED, "A shipped request arrived: it goes into van stock.")
)


@parts_group.command("return")
@click.argument("code")
@click.option("--qty", default="1", show_default=True)
@click.option("--reason", type=click.Choice(RETURN_REASONS), required=True)
@click.option("--job", "job_id", help="The job a defective part came off.")
@json_option
@pass_ctx
def return_cmd(ctx: Context, code, qty, reason, job_id, as_json) -> None:
    """Send a part back: defective or excess."""
    r = part_service.return_part(ctx.device, code, qty, reason, job_id)
    if as_json:
        emit_json(r)
    else:
        say(f"returned {r['qty']} × {r['name']} ({reason}); {r['on_hand']} left")


@parts_group.command("adjust")
@click.argument("code")
@click.argument("counted")
@click.option("--reason", required=True, help="Why the count changed (stock take, found, lost).")
@json_option
@pass_ctx
def adjust_cmd(ctx: Context, code, counted, reason, as_json) -> None:
    """Set the van's count of a part after a stock take: COUNTED is how many you counted.
    The difference from the ledger's figure goes on the ledger, with the reason."""
    r = part_service.count_stock(ctx.device, code, counted, reason)
    if as_json:
        emit_json(r)
    elif r["qty"] == 0:
        say(f"{r['name']}: {r['on_hand']} on hand, as counted; nothing to adjust")
    else:
        say(f"{r['name']}: {r['on_hand']} on hand ({r['qty']:+d} on the ledger)")


def register(cli: click.Group) -> None:
    cli.add_command(parts_group)

"""`fieldtech hq ...`: run and administer headquarters.

HQ's own commands: `fieldtech.cli` loads this module by name, only when `fieldtech hq` runs,
so a device without the server stack never imports it (fieldtech.cli.COMMANDS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

import click

from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.parts import RequestStatus
from fieldtech.hq import auth, catalog, requests
from fieldtech.hq.auth import Principal
from fieldtech.hq.commands import bundles, jobs
from fieldtech.hq.commands.context import ENV_DB, HQContext, pass_hq
from fieldtech.hq.db import HQ
from fieldtech.output import emit_json, json_option, say, table, when
from fieldtech.paths import locate


@click.group("hq")
@click.option(
    "--db",
    help=f"Database URL (postgresql://… or sqlite:///…); or ${ENV_DB}. "
    "Default: hq.sqlite in this profile's data folder.",
)
@click.pass_context
def hq_group(click_ctx: click.Context, db: str | None) -> None:
    """Headquarters: dispatch, users and devices, catalogue, the sync server."""
    # The profile comes from `fieldtech --home`; the device's Context (and its store) is
    # not HQ's business.
    home = click_ctx.find_root().params.get("home")
    click_ctx.obj = HQContext(locate(home), db)
    click_ctx.call_on_close(click_ctx.obj.close)


@hq_group.command("init")
@click.option("--admin", "admin_name", default="HQ admin", show_default=True)
@json_option
@pass_hq
def init_cmd(h: HQContext, admin_name: str, as_json: bool) -> None:
    """Create the HQ database, default checklist templates, and an admin credential."""
    hq = h.hq(create=True)
    if any(u["role"] == "admin" for u in auth.users(hq)):
        raise FieldtechError("this HQ is already set up; use `fieldtech hq user add`")
    catalog.install_defaults(hq)
    from fieldtech.domain.demo_data import parts_catalog

    catalog.put_parts(hq, parts_catalog())
    user, _code = auth.add_user(hq, name=admin_name, role="admin", user_id="admin")
    token = auth.admin_token(hq, user["id"])
    if as_json:
        emit_json({"admin": user, "admin_token": token, "db": h.url})
        return
    say(f"HQ created at {h.url}")
    say("admin API token (shown once, keep it safe): ", (token, "bold"))


@hq_group.command("seed")
@click.option("--jobs", "count", type=click.IntRange(1, 1_000_000), default=60, show_default=True)
@click.option("--technician", required=True, help="User id of the technician to assign them to.")
@click.option("--seed", "rng_seed", type=int, default=7, show_default=True)
@click.option("--prefix", default="J-", show_default=True, help="Job reference prefix.")
@pass_hq
def seed_cmd(h: HQContext, count: int, technician: str, rng_seed: int, prefix: str) -> None:
    """Load realistic demo jobs for one technician (deterministic for a seed and day)."""
    from datetime import UTC, datetime

    from fieldtech.hq.dispatch import technician as find_technician
    from fieldtech.hq.seed import seed_hq

    hq = h.hq()
    with hq.engine.connect() as conn:
        tech = find_technician(conn, technician)
    now = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    counts = seed_hq(
        hq,
        count,
        technician_id=tech["id"],
        team=tech["team"],
        now=now,
        seed=rng_seed,
        ref_prefix=prefix,
    )
    say(f"seeded {counts['jobs']:,} jobs for {tech['name']}")


@hq_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--prepare-every",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="Seconds between looks for enrollment codes waiting, whose technicians' first syncs "
    "are prepared ahead (0: never).",
)
@pass_hq
def serve_cmd(h: HQContext, host: str, port: int, prepare_every: float) -> None:
    """Run the HQ API server (the database is created if it does not exist)."""
    from fieldtech.hq.server import serve

    hq = h.hq(create=True)
    click.echo(f"fieldtech HQ on http://{host}:{port} (database {h.url})", err=True)
    serve(hq, host, port, prepare_every=prepare_every)


@hq_group.group("user")
def user_group() -> None:
    """Users: technicians, supervisors, HQ staff."""


@user_group.command("add")
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice(auth.ROLES))
@click.option("--team")
@json_option
@pass_hq
def user_add_cmd(h: HQContext, name: str, role: str, team: str | None, as_json: bool) -> None:
    """Add a user and print their one-time enrollment code."""
    hq = h.hq()
    user, code = auth.add_user(hq, name=name, role=role, team=team)
    if as_json:
        emit_json({"user": user, "enrollment_code": code})
        return
    wanted = auth.slug(name)
    other = next((u for u in auth.users(hq) if u["id"] == wanted != user["id"]), None)
    if other is not None:
        say(
            ("note: ", "yellow"),
            f"another user is already named {other['name']} ({other['id']}); "
            f"this one is {user['id']}",
        )
    say(
        f"user {user['id']} ({role}) added; enrollment code: ",
        (code, "bold"),
        f" (one use, {auth.ENROLL_DAYS} days)",
    )


@user_group.command("list")
@json_option
@pass_hq
def user_list_cmd(h: HQContext, as_json: bool) -> None:
    """Every user with role and team."""
    rows = auth.users(h.hq())
    if as_json:
        emit_json(rows)
    else:
        table(
            "Users",
            ["id", "name", "role", "team", "active"],
            [(u["id"], u["name"], u["role"], u["team"], u["active"]) for u in rows],
        )


@user_group.command("enrollment")
@click.argument("user_id")
@pass_hq
def user_enrollment_cmd(h: HQContext, user_id: str) -> None:
    """A fresh one-time enrollment code (new or replaced device)."""
    say(auth.new_enrollment(h.hq(), user_id))


@user_group.command("prepare")
@click.argument("user_id")
@json_option
@pass_hq
def user_prepare_cmd(h: HQContext, user_id: str, as_json: bool) -> None:
    """Prepare a technician's first sync now (the server does it by itself while their
    enrollment code waits), so their new device's priming is streamed without waiting."""
    from fieldtech.hq import priming
    from fieldtech.hq.dispatch import technician as find_technician

    hq = h.hq()
    with hq.engine.connect() as conn:
        tech = find_technician(conn, user_id)
    made = priming.prepare(hq, tech["id"])
    if made is None:
        raise click.ClickException(f"{tech['name']} is not an active technician")
    if as_json:
        emit_json(
            {
                "user": tech["id"],
                "pages": made.pages,
                "bytes": len(made.body),
                "cursor": made.cursor,
            }
        )
        return
    say(
        f"first sync of {tech['name']} prepared: {made.pages:,} pages, "
        f"{len(made.body) / 1024:,.0f} KB, through change {made.cursor:,}"
    )


@hq_group.command("devices")
@json_option
@pass_hq
def devices_cmd(h: HQContext, as_json: bool) -> None:
    """Enrolled devices and credentials, with when each last synced."""
    rows = auth.devices(h.hq())
    if as_json:
        emit_json(rows)
    else:
        table(
            "Devices and credentials",
            ["id", "user", "kind", "device", "last seen", "revoked"],
            [
                (
                    d["id"][-8:],
                    d["user_id"],
                    d["kind"],
                    d["device_name"],
                    when(d["last_seen"]),
                    when(d["revoked_at"]),
                )
                for d in rows
            ],
        )


@hq_group.command("revoke")
@click.argument("device_id")
@pass_hq
def revoke_cmd(h: HQContext, device_id: str) -> None:
    """Revoke a device's credential (by device id or credential id)."""
    n = auth.revoke(h.hq(), device_id)
    say(f"revoked {n} credential(s)")


@hq_group.command("parts")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@pass_hq
def parts_cmd(h: HQContext, file: TextIO) -> None:
    """Upload the parts catalogue (CSV with a header, or a JSON list)."""
    n = catalog.put_parts(h.hq(), catalog.parse_parts(file.read()))
    say(f"{n} parts saved")


@hq_group.command("template")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@pass_hq
def template_cmd(h: HQContext, file: TextIO) -> None:
    """Upload a checklist template (JSON)."""
    import json

    try:
        data = json.load(file)
    except json.JSONDecodeError as exc:
        raise FieldtechError(
            f"the template is not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    t = catalog.template_from_json(data)
    say(f"template {t.id} saved as version {catalog.put_template(h.hq(), t)}")


@hq_group.command("requests")
@click.option("--status")
@json_option
@pass_hq
def requests_cmd(h: HQContext, status: str | None, as_json: bool) -> None:
    """Part requests from the field and where each stands."""
    rows = requests.list_requests(h.hq(), h.console_admin(), status)
    if as_json:
        emit_json(rows)
    else:
        table(
            "Part requests",
            ["request", "technician", "sku", "qty", "status", "updated"],
            [
                (
                    r["id"][-8:],
                    r["technician_id"],
                    r["sku"],
                    r["qty"],
                    r["status"],
                    when(r["updated_at"]),
                )
                for r in rows
            ],
            empty="no part requests",
        )


def _request_step(target: RequestStatus, needs_reason: bool) -> Callable[..., None]:
    @click.argument("request_id")
    @click.option("--reason", required=needs_reason)
    @pass_hq
    def command(h: HQContext, request_id: str, reason: str | None) -> None:
        hq = h.hq()
        full = _request_id(hq, request_id)
        r = requests.step(hq, h.console_admin(), full, target, reason)
        say(f"request {r['id'][-8:]}: {r['status']}")

    command.__doc__ = f"Mark a part request {target.value}."
    return command


def _request_id(hq: HQ, given: str) -> str:
    rows = [
        r["id"]
        for r in requests.list_requests(
            hq, Principal("console", "console", "admin", None, None, "console")
        )
        if r["id"] == given or r["id"].replace("-", "").endswith(given.replace("-", ""))
    ]
    if len(rows) != 1:
        raise FieldtechError(f"no single part request matches {given!r}")
    return str(rows[0])


hq_group.command("approve")(_request_step(RequestStatus.APPROVED, False))
hq_group.command("reject")(_request_step(RequestStatus.REJECTED, True))
hq_group.command("ship")(_request_step(RequestStatus.SHIPPED, False))


# Jobs at HQ (dispatch, assign, cancel, the list, imports) and bundles have their own modules.
for command in (*jobs.COMMANDS, *bundles.COMMANDS):
    hq_group.add_command(command)


def register(cli: click.Group) -> None:
    cli.add_command(hq_group)

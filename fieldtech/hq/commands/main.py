"""`fieldtech hq ...`: run and administer headquarters.

HQ's own commands: `fieldtech.cli` loads this module by name, only when `fieldtech hq` runs,
so a device without the server stack never imports it (fieldtech.cli.COMMANDS)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click
from rich.text import Text

from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.jobs import Status
from fieldtech.domain.parts import RequestStatus
from fieldtech.hq import auth, catalog, dispatch, importer, requests
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, sqlite_url
from fieldtech.output import console, emit_json, json_option, line, say, table, when
from fieldtech.paths import Locations, locate

ENV_DB = "FIELDTECH_HQ_DB"


class HQContext:
    def __init__(self, locations: Locations, db: str | None):
        self.locations = locations
        self.url = db or os.environ.get(ENV_DB) or sqlite_url(locations.hq_db)
        self._hq: HQ | None = None

    def hq(self, *, create: bool = False) -> HQ:
        if self._hq is None:
            if self.url.startswith("sqlite") and not create:
                path = Path(self.url.split("///", 1)[-1])
                if not path.exists():
                    raise FieldtechError(f"no HQ at {path}: run `fieldtech hq init` first")
            self._hq = HQ.open(self.url, create=True)
            if self.url.startswith("sqlite"):
                path = Path(self.url.split("///", 1)[-1])
                if path.exists():
                    os.chmod(path, 0o600)
        return self._hq

    def console_admin(self) -> Principal:
        """HQ commands run on the HQ machine itself, as its first admin."""
        admins = [u for u in auth.users(self.hq()) if u["role"] == "admin" and u["active"]]
        if not admins:
            raise FieldtechError("this HQ has no admin: run `fieldtech hq init` first")
        a = admins[0]
        return Principal(a["id"], a["name"], "admin", a["team"], None, "console")

    def close(self) -> None:
        if self._hq is not None:
            self._hq.dispose()


pass_hq = click.make_pass_decorator(HQContext)


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
@pass_hq
def serve_cmd(h: HQContext, host: str, port: int) -> None:
    """Run the HQ API server (the database is created if it does not exist)."""
    from fieldtech.hq.server import serve

    hq = h.hq(create=True)
    click.echo(f"fieldtech HQ on http://{host}:{port} (database {h.url})", err=True)
    serve(hq, host, port)


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


@hq_group.command("dispatch")
@click.option("--kind", required=True)
@click.option("--summary", required=True)
@click.option("--customer", "customer_name", required=True)
@click.option("--phone", "customer_phone")
@click.option("--address", required=True)
@click.option("--city")
@click.option("--priority", default="normal", show_default=True)
@click.option("--technician", help="User id or name of the technician.")
@click.option("--appliance", "appliance_category", help="Appliance category.")
@click.option("--model", "appliance_model")
@click.option("--serial", "appliance_serial")
@click.option("--hazards", help="Separated by ';' (e.g. 'crane needed;altitude 3,800 m').")
@click.option("--access", "access_notes")
@click.option("--window-start")
@click.option("--sla-due")
@click.option("--ref")
@json_option
@pass_hq
def dispatch_cmd(h: HQContext, /, as_json: bool, **spec: str | None) -> None:
    """Create a job (and its customer, site and appliance) and assign it."""
    job = dispatch.create_job(h.hq(), h.console_admin(), {k: v for k, v in spec.items() if v})
    if as_json:
        emit_json(job)
    else:
        say(
            f"job {job['ref']} created"
            + (f", assigned to {job['technician_id']}" if job["technician_id"] else "")
        )
        say(code_words(job["confirmation_code"]))


def code_words(code: str) -> Text:
    """The code HQ gives the customer; the device keeps only its hash, so this is where
    HQ staff read it."""
    return line(
        "confirmation code for the customer: ", (code, "bold"), " — give it with the appointment"
    )


def open_code(job: dict[str, Any]) -> str:
    """An open job's confirmation code, for HQ staff; a closed job's is spent."""
    return str(job.get("confirmation_code") or "") if Status(job["status"]).is_open else ""


@hq_group.command("assign")
@click.argument("job_id")
@click.argument("technician")
@pass_hq
def assign_cmd(h: HQContext, job_id: str, technician: str) -> None:
    """Assign or reassign a job."""
    job = dispatch.assign(h.hq(), h.console_admin(), job_id, technician)
    say(f"job {job['ref']} assigned to {job['technician_id']}")


@hq_group.command("cancel")
@click.argument("job_id")
@click.option("--reason", required=True)
@pass_hq
def cancel_cmd(h: HQContext, job_id: str, reason: str) -> None:
    """Cancel a job, with a reason."""
    job = dispatch.cancel(h.hq(), h.console_admin(), job_id, reason)
    say(f"job {job['ref']} cancelled")


@hq_group.command("jobs")
@click.option("--status")
@click.option("--technician")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
@json_option
@pass_hq
def jobs_cmd(
    h: HQContext, status: str | None, technician: str | None, limit: int, as_json: bool
) -> None:
    """Jobs at HQ, most urgent first."""
    rows = dispatch.list_jobs(
        h.hq(), h.console_admin(), status=status, technician=technician, limit=limit
    )
    if as_json:
        emit_json(rows)
    else:
        table(
            f"{len(rows)} job" + ("" if len(rows) == 1 else "s"),
            [
                "job",
                "priority",
                "status",
                ("technician", {"squeeze": 1, "least": 10}),
                "code",
                ("summary", {"squeeze": 3, "least": 8}),
            ],
            [
                (
                    j["ref"],
                    j["priority"],
                    j["status"],
                    j["technician_id"],
                    open_code(j),
                    j["summary"],
                )
                for j in rows
            ],
        )


IMPORT_HELP = f"""Import jobs from a CSV file. Every row is checked: the good ones are imported,
and each bad row is reported on one line, with its line number and all its problems.

\b
{(importer.__doc__ or "").split(chr(10) * 2)[1]}

Each row follows the same rules as `fieldtech hq dispatch` and HQ's API. A job is known by
its ref: importing the same file again creates nothing new, and a ref that comes twice in
one file is reported on its second line."""


@hq_group.command("import", help=IMPORT_HELP)
@click.argument("csv_file", type=click.File("rb"))
@json_option
@pass_hq
def import_cmd(h: HQContext, csv_file: BinaryIO, as_json: bool) -> None:
    from rich.text import Text

    from fieldtech.domain.text import plain

    text = importer.decode(csv_file.read(), f"file {csv_file.name}")
    hq, admin = h.hq(), h.console_admin()
    from fieldtech.progress import progress_bar

    with progress_bar("importing") as progress:
        report = importer.import_jobs(hq, admin, text, progress)
    if as_json:
        emit_json(report.as_dict())
    else:
        c = console()
        c.print(
            f"{len(report.created)} created, {len(report.already_there)} already there, "
            f"{len(report.rejected)} rejected"
        )
        for r in report.as_dict()["rejected"]:
            ref = f" ({r['ref']})" if r["ref"] else ""
            c.print(Text(plain(f"  line {r['line']}{ref}: {r['reason']}")))
    if report.rejected:
        sys.exit(1)


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


def register(cli: click.Group) -> None:
    cli.add_command(hq_group)

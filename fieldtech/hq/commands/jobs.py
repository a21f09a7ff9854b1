"""`fieldtech hq dispatch|assign|cancel|jobs|import`: jobs at HQ, one or a file of them."""

from __future__ import annotations

import sys
from typing import Any, BinaryIO

import click
from rich.text import Text

from fieldtech.domain.jobs import Status
from fieldtech.hq import dispatch, importer
from fieldtech.hq.commands.context import HQContext, pass_hq
from fieldtech.output import console, emit_json, json_option, line, say, table


@click.command("dispatch")
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


@click.command("assign")
@click.argument("job_id")
@click.argument("technician")
@pass_hq
def assign_cmd(h: HQContext, job_id: str, technician: str) -> None:
    """Assign or reassign a job."""
    job = dispatch.assign(h.hq(), h.console_admin(), job_id, technician)
    say(f"job {job['ref']} assigned to {job['technician_id']}")


@click.command("cancel")
@click.argument("job_id")
@click.option("--reason", required=True)
@pass_hq
def cancel_cmd(h: HQContext, job_id: str, reason: str) -> None:
    """Cancel a job, with a reason."""
    job = dispatch.cancel(h.hq(), h.console_admin(), job_id, reason)
    say(f"job {job['ref']} cancelled")


@click.command("jobs")
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


@click.command("import", help=IMPORT_HELP)
@click.argument("csv_file", type=click.File("rb"))
@json_option
@pass_hq
def import_cmd(h: HQContext, csv_file: BinaryIO, as_json: bool) -> None:
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


# main adds them to the `fieldtech hq` group.
COMMANDS = (dispatch_cmd, assign_cmd, cancel_cmd, jobs_cmd, import_cmd)

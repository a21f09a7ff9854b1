"""`fieldtech demo`: an HQ in this process, a seeded day of work, and the app, in one command."""

from __future__ import annotations

import sys

import click

from fieldtech.cli.common import Context, pass_ctx

# Imported with the command, not when it runs, so a device without HQ's server stack hears
# how to install it before anything starts (fieldtech.cli.LazyGroup).
from fieldtech.demo.world import build_demo


@click.command("demo")
@click.option("--jobs", "count", default=40, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--as",
    "role",
    type=click.Choice(["technician", "supervisor"]),
    default="technician",
    show_default=True,
    help="Whose device: a technician's queue, or the supervisor's team board.",
)
@pass_ctx
def demo_cmd(ctx: Context, count: int, role: str) -> None:
    """Try fieldtech: HQ on 127.0.0.1, a demo technician (or their supervisor) and the app.
    F5 cuts the signal."""
    from fieldtech.app import build_app
    from fieldtech.paths import Locations
    from fieldtech.sync.agent import SyncAgent

    root = ctx.locations.data / "demo"
    click.echo(f"starting the demo HQ and seeding {count} jobs…", err=True)
    world = build_demo(root, jobs=count, role=role)
    token = world.client.http.headers["Authorization"].removeprefix("Bearer ")
    db = world.device.store.path
    assert db is not None  # the demo's device keeps a file, never an in-memory store
    agent = SyncAgent(db, world.server.url, token, link=world.link)
    loc = ctx.locations
    app = build_app(
        Locations(root / "device", loc.config, loc.logs, "demo"),
        store=world.device.store,
        device=world.device,
        sync_agent=agent,
    )
    # The customer's phone, played by the demo's HQ: the job screen shows its code.
    app.customer_phone = world.customer_code
    try:
        code = app.run_for_shell()
    finally:
        world.close()
    click.echo(f"demo data left in {root}; the next demo starts afresh", err=True)
    if code:
        sys.exit(code)


def register(cli: click.Group) -> None:
    cli.add_command(demo_cmd)

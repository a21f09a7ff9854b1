"""The `fieldtech` command. Thin: parses, calls services and queries, prints."""

from __future__ import annotations

import gc
import importlib
import sqlite3
import sys

import click

from fieldtech.cli.common import Context, fail
from fieldtech.domain.errors import FieldtechError

# Each command and the modules that define it, by name. They are imported only when the
# command runs: `fieldtech` alone opens the app without loading HQ's server, SQLAlchemy or
# httpx. HQ's commands live in HQ's package and the demo in its own; nothing here imports
# them but by these names, so the device's CLI never needs the server stack.
COMMANDS: dict[str, tuple[str, ...]] = {
    "jobs": ("fieldtech.cli.jobs",),
    "job": ("fieldtech.cli.jobs",),
    "checklist": ("fieldtech.cli.checklist",),
    "attach": ("fieldtech.cli.attach",),
    "attachments": ("fieldtech.cli.attach",),
    "parts": ("fieldtech.cli.parts",),
    "locate": ("fieldtech.cli.misc",),
    "outbox": ("fieldtech.cli.misc",),
    "seed": ("fieldtech.cli.misc",),
    "enroll": ("fieldtech.cli.device_sync",),
    "sync": ("fieldtech.cli.device_sync",),
    "bundle": ("fieldtech.cli.bundle",),
    "ready": ("fieldtech.cli.ready",),
    # standards adds `hq escalate`, `hq kpis` and friends to the group
    "hq": ("fieldtech.hq.commands.main", "fieldtech.hq.commands.standards"),
    "demo": ("fieldtech.demo.command",),
    "status": ("fieldtech.cli.status",),
    "team": ("fieldtech.cli.team",),
    "repair": ("fieldtech.cli.repair",),
}

# The commands that need more than the device's install: the extra that brings what they
# need, and what to say when it is not there.
EXTRAS: dict[str, tuple[str, str]] = {
    "hq": ("hq", "HQ is not installed here"),
    "demo": ("demo", "the demo runs an HQ, which is not installed here"),
}
# The server stack those extras bring (starlette comes with fastapi; pydantic checks what
# HQ receives: a device speaks the protocol in plain JSON).
SERVER_STACK = frozenset(
    {"fastapi", "starlette", "sqlalchemy", "uvicorn", "pydantic", "pydantic_core"}
)


def missing_server_stack(exc: ImportError) -> str | None:
    """The missing module's name when `exc` is the server stack not being installed."""
    name = (exc.name or "").partition(".")[0]
    return name if name in SERVER_STACK else None


def install_hint(cmd_name: str) -> str:
    extra, words = EXTRAS[cmd_name]
    return f"{words}: pip install 'fieldtech[{extra}]'"


def _not_installed(cmd_name: str) -> click.Command:
    """Stands in for a command whose extra is missing: listed by --help with the hint, and
    whatever follows it on the command line, --help too, gets the hint and exit 1."""
    hint = install_hint(cmd_name)

    def refuse(args: tuple[str, ...]) -> None:
        raise FieldtechError(hint)

    return click.Command(
        cmd_name,
        callback=refuse,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        help=f"Not installed here: pip install 'fieldtech[{EXTRAS[cmd_name][0]}]'.",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            try:
                for module in COMMANDS.get(cmd_name, ()):
                    importlib.import_module(module).register(self)
            except ImportError as exc:
                if cmd_name not in EXTRAS or missing_server_stack(exc) is None:
                    raise
                return _not_installed(cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
@click.option(
    "--home",
    type=click.Path(file_okay=False),
    help="Keep this profile's data, config and logs under DIR (or $FIELDTECH_HOME).",
)
@click.version_option(package_name="fieldtech")
@click.pass_context
def cli(ctx: click.Context, home: str | None) -> None:
    """fieldtech: the field technician's job queue, checklists and parts, offline first.

    With no command, opens the app for this profile."""
    ctx.obj = Context(home)
    ctx.call_on_close(ctx.obj.close)
    if ctx.invoked_subcommand is not None:
        gc.enable()  # off while starting (fieldtech.launch); only the app waits longer
    else:
        from fieldtech.app import build_app

        code = build_app(ctx.obj.locations, store=ctx.obj.store).run_for_shell()
        if code:
            sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one clear line and a non-zero exit for every mistake, never a traceback."""
    try:
        cli.main(args=argv, prog_name="fieldtech", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except click.UsageError as exc:
        hint = f" (try: {exc.ctx.command_path} --help)" if exc.ctx else ""
        fail(f"{exc.format_message()}{hint}", code=2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        fail("stopped", code=130)
    except FieldtechError as exc:
        fail(exc.message)
    except ImportError as exc:  # the server stack, where an HQ command loads it as it runs
        command = _command_name(argv)
        if command not in EXTRAS or missing_server_stack(exc) is None:
            fail(_logged_unexpected(exc, argv), code=70)
        fail(install_hint(command))
    except sqlite3.DatabaseError as exc:
        from fieldtech.store.db import plain_words

        words = plain_words(exc)
        if words is None:
            fail(_logged_unexpected(exc, argv), code=70)
        fail(words.message)
    except click.ClickException as exc:
        fail(exc.format_message(), code=exc.exit_code)
    except BrokenPipeError:
        sys.exit(0)
    except UnicodeDecodeError as exc:  # a file given to read: a person's mistake, not a bug
        fail(
            f"the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position "
            f"{exc.start:,}); save it as UTF-8 and try again"
        )
    except (FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        where = f": {exc.filename}" if exc.filename else ""
        fail(f"{exc.strerror or exc}{where}")
    except Exception as exc:  # a bug, not a mistake: one line here, the traceback in the log
        fail(_logged_unexpected(exc, argv), code=70)
    sys.exit(0)


def _command_name(argv: list[str] | None) -> str | None:
    """The command the line names (its first word that is not the root's option)."""
    args = iter(sys.argv[1:] if argv is None else argv)
    for arg in args:
        if arg == "--home":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _logged_unexpected(exc: Exception, argv: list[str] | None) -> str:
    from fieldtech import logs
    from fieldtech.domain.text import plain
    from fieldtech.paths import locate

    args = list(sys.argv[1:] if argv is None else argv)
    home = None
    for i, arg in enumerate(args):
        if arg == "--home" and i + 1 < len(args):
            home = args[i + 1]
        elif arg.startswith("--home="):
            home = arg.partition("=")[2]
    where = ""
    try:
        path = logs.setup(locate(home).logs)
    except Exception:  # the profile itself may be what is broken
        path = None
    if path is not None:
        logs.log.error("fieldtech %s failed unexpectedly", " ".join(args), exc_info=exc)
        where = f"; the details are in {path}"
    return f"unexpected error ({type(exc).__name__}: {plain(exc)[:200]}){where}"

"""`pip install fieldtech` is the device; HQ's server stack is the [hq] extra.

Each check runs the command in a fresh interpreter, as a person's shell would. With the stack
installed (as it is here) the device's commands must not load it; with it made unimportable
(a finder in front of the import system that refuses it, as a device-only install would),
the device's commands still work and HQ's say in one line how to install it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldtech.cli import COMMANDS, EXTRAS
from fieldtech.sync import credentials

SERVER_STACK = ("fastapi", "starlette", "sqlalchemy", "uvicorn", "pydantic", "pydantic_core")

# Runs before anything of fieldtech: records what of the server stack is loaded by the end,
# and refuses to import what $REFUSE names (a module and its submodules), as if it were not
# installed.
PRELUDE = """
import atexit, importlib.abc, json, os, sys

STACK = @STACK@
REFUSE = os.environ.get("REFUSE", "").split()
refused = []

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == r or name.startswith(r + ".") for r in REFUSE):
            refused.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())

def report():
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in STACK)
    with open(os.environ["STACK_REPORT"], "w") as f:
        json.dump({"loaded": loaded, "refused": refused}, f)

atexit.register(report)
""".replace("@STACK@", repr(SERVER_STACK))

COMMAND = (
    PRELUDE + "sys.argv = ['fieldtech', *sys.argv[1:]]\nfrom fieldtech.launch import main\nmain()\n"
)


def fieldtech(
    tmp_path: Path, *args: str, refuse: tuple[str, ...] = SERVER_STACK
) -> tuple[subprocess.CompletedProcess, dict]:
    """`fieldtech ARGS` in its own interpreter, unable to import `refuse`: its result, and
    what of the server stack it loaded or tried to."""
    report = tmp_path / f"stack-{os.urandom(4).hex()}.json"
    env = {k: v for k, v in os.environ.items() if k not in ("FIELDTECH_HOME", "COLUMNS")}
    env.update(STACK_REPORT=str(report), REFUSE=" ".join(refuse))
    proc = subprocess.run(
        [sys.executable, "-c", COMMAND, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return proc, json.loads(report.read_text())


def device_commands(home: Path) -> list[list[str]]:
    return [
        ["--home", str(home), "seed", "--jobs", "12"],
        ["--home", str(home), "jobs"],
        ["--home", str(home), "jobs", "--json"],
        ["--home", str(home), "outbox"],
        ["--home", str(home), "locate"],
        ["--home", str(home), "sync", "--dry-run"],
    ]


def enrolled_profile(tmp_path: Path) -> Path:
    home = tmp_path / "tech"
    credentials.save(
        home / "config" / "credential.json", {"hq_url": "http://127.0.0.1:9", "token": "t"}
    )
    return home


@pytest.mark.parametrize("refuse", [(), SERVER_STACK], ids=["stack-installed", "device-only"])
def test_the_devices_commands_never_load_the_server_stack(tmp_path, refuse):
    home = enrolled_profile(tmp_path)
    for args in device_commands(home):
        proc, stack = fieldtech(tmp_path, *args, refuse=refuse)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert stack == {"loaded": [], "refused": []}, args
    jobs = json.loads(fieldtech(tmp_path, "--home", str(home), "jobs", "--json")[0].stdout)
    assert jobs["total"] > 0


def test_the_devices_import_path_loads_none_of_the_server_stack(tmp_path):
    """The app, its screens, every device command module, the sync client and agent."""
    device_modules = sorted(
        {m for name, modules in COMMANDS.items() if name not in EXTRAS for m in modules}
    )
    screens = sorted(
        f"fieldtech.screens.{p.stem}"
        for p in (Path(__file__).parents[1] / "fieldtech" / "screens").glob("*.py")
    )
    code = PRELUDE + "\n".join(
        f"import {m}"
        for m in [
            "fieldtech.launch",
            "fieldtech.cli",
            "fieldtech.app",
            *device_modules,
            *screens,
            "fieldtech.services",
            "fieldtech.sync.agent",
            "fieldtech.sync.client",
            "fieldtech.sync.enroll",
            "fieldtech.sync.repair",
        ]
    )
    report = tmp_path / "stack.json"
    env = {**os.environ, "STACK_REPORT": str(report)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(report.read_text()) == {"loaded": [], "refused": []}


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["hq", "jobs"], "hq"),
        (["hq", "init"], "hq"),
        (["hq", "serve", "--port", "8765"], "hq"),
        (["hq", "--help"], "hq"),
        (["hq"], "hq"),
        (["demo"], "demo"),
    ],
)
def test_without_the_server_stack_hq_says_how_to_install_it(tmp_path, args, extra):
    proc, _ = fieldtech(tmp_path, "--home", str(tmp_path / "p"), *args)
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("fieldtech: ")
    assert f"pip install 'fieldtech[{extra}]'" in lines[0]
    assert proc.stdout == ""


def test_without_the_server_stack_help_lists_hq_with_the_hint(tmp_path):
    proc, _ = fieldtech(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    listed = {ln.split()[0]: ln for ln in proc.stdout.splitlines() if ln.startswith("  ")}
    assert "fieldtech[hq]" in listed["hq"]
    assert "fieldtech[demo]" in listed["demo"]


def test_another_missing_module_is_not_taken_for_a_missing_extra(tmp_path):
    """Only the server stack's absence earns the hint: a module of HQ itself that cannot be
    imported is a bug, reported as one."""
    home = str(tmp_path / "p")
    proc, _ = fieldtech(tmp_path, "--home", home, "hq", "jobs", refuse=("fieldtech.hq.importer",))
    assert proc.returncode == 70, proc.stderr
    assert "fieldtech[hq]" not in proc.stderr
    assert "unexpected error (" in proc.stderr and "importer" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.integration
def test_a_device_only_install_enrolls_and_syncs_with_a_real_hq(tmp_path):
    """HQ runs with its stack (its own process); the device, without it, enrolls, pulls its
    work and the templates, and pushes what it did."""
    from tests.integration.conftest import run, start_hq

    hq_home = tmp_path / "hq"
    hq_home.mkdir()
    server = start_hq(hq_home)
    try:
        user = json.loads(
            run(
                hq_home,
                "hq",
                "user",
                "add",
                "--name",
                "Tenzin",
                "--role",
                "technician",
                "--team",
                "north",
                "--json",
            ).stdout
        )
        run(
            hq_home,
            "hq",
            "dispatch",
            "--kind",
            "repair",
            "--summary",
            "Leaking unit",
            "--customer",
            "Maria Santos",
            "--address",
            "12 Pine Ave",
            "--technician",
            user["user"]["id"],
            "--ref",
            "SPLIT-1",
        )
        home = tmp_path / "tech"
        steps = [
            ["enroll", server.url, user["enrollment_code"]],
            ["sync"],
            ["job", "note", "SPLIT-1", "on my way"],
            ["sync"],
        ]
        for args in steps:
            proc, stack = fieldtech(tmp_path, "--home", str(home), *args)
            assert proc.returncode == 0, (args, proc.stderr)
            assert stack == {"loaded": [], "refused": []}, args
        proc, _ = fieldtech(tmp_path, "--home", str(home), "jobs", "--json")
        assert [j["ref"] for j in json.loads(proc.stdout)["jobs"]] == ["SPLIT-1"]
        proc, _ = fieldtech(tmp_path, "--home", str(home), "outbox", "--json")
        assert json.loads(proc.stdout) == []  # HQ acknowledged the note
        at_hq = json.loads(run(hq_home, "hq", "jobs", "--json").stdout)
        assert [j["ref"] for j in at_hq] == ["SPLIT-1"]
    finally:
        server.stop()

"""Running the installed `fieldtech` command as a person would: its own process, a profile
given with --home, no $FIELDTECH_HOME or $COLUMNS from the test's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FIELDTECH = str(Path(sys.executable).with_name("fieldtech"))


def ft(home: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("FIELDTECH_HOME", "COLUMNS")}
    full_env.update(env or {})
    return subprocess.run(
        [FIELDTECH, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def ok(home: Path, *args: str, env: dict | None = None) -> str:
    r = ft(home, *args, env=env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    return r.stdout

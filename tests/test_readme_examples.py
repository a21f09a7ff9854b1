"""The README is a test: its command-line examples run, in order, as a newcomer would type
them, so the README cannot drift from the product again.

The technician's block runs for real on a fresh profile (`$FIELDTECH_HOME` in a temporary
folder), each line in bash with the installed `fieldtech` first on PATH: every line exits 0,
except a line whose comment says it `refuses`, which must fail with one clear line. The
supervisor's block needs an enrolled supervisor and its team's ids, so there every line must
at least be a command line `fieldtech` accepts (no usage error), answered in one line.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SECTION = "## Using it from the command line"


def cli_blocks() -> list[list[str]]:
    """The ```sh blocks of the README's command-line section, as logical lines."""
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end != -1 else None]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [
        [ln for ln in block.replace("\\\n", " ").splitlines() if ln.strip() and ln[0] != "#"]
        for block in blocks
    ]


def comment_of(line: str) -> str:
    """The shell comment at the end of a line (a `#` after a space, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i + 1 :].strip()
    return ""


def run(home: Path, line: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update(FIELDTECH_HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", line],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=300,
    )


def test_the_readme_has_the_blocks_this_test_runs():
    device, supervisor = cli_blocks()
    assert device[0].startswith("fieldtech locate") and len(device) > 20
    assert any("seed" in line for line in device)
    assert all(line.startswith("fieldtech ") for line in supervisor)


def camera_picture() -> Path:
    """The photo the README attaches, where a phone's camera leaves it (the test's HOME)."""
    from PIL import Image

    folder = Path.home() / "DCIM"
    folder.mkdir(parents=True, exist_ok=True)
    Image.effect_noise((2400, 1800), 20).convert("RGB").save(folder / "IMG_0412.jpg")
    return folder / "IMG_0412.jpg"


def test_the_technicians_examples_run_in_order_on_a_fresh_seeded_profile(tmp_path):
    device, _ = cli_blocks()
    camera_picture()
    for line in device:
        r = run(tmp_path, line)
        said = f"README: {line}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stdout + r.stderr, said
        if "refuses" in comment_of(line):
            assert r.returncode == 1, said
            lines = r.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("fieldtech: "), said
        else:
            assert r.returncode == 0, said
    shown = run(tmp_path, "fieldtech job show J-000012").stdout
    assert "completed" in shown.splitlines()[0]
    listed = run(tmp_path, "fieldtech attachments J-000012").stdout
    assert "IMG_0412.jpg" in listed and "waiting to go" in listed


@pytest.mark.parametrize("line", cli_blocks()[1])
def test_the_supervisors_examples_are_command_lines_fieldtech_accepts(tmp_path, line):
    run(tmp_path, "fieldtech seed --jobs 20")
    r = run(tmp_path, line)
    assert "Traceback" not in r.stdout + r.stderr
    assert r.returncode != 2, f"README: {line}\n{r.stderr}"  # 2: a usage error
    if r.returncode:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr

"""The README's "Headquarters and sync" walkthrough, run as a newcomer types it: its lines in
order, in bash, with the installed `fieldtech` on PATH and a real `hq serve` on 127.0.0.1.

Only what a newcomer fills in themselves is filled in here: a free port for 8765 (so the
suite can run beside a real HQ), the enrollment code `user add` printed for the README's
placeholder, and a small jobs.csv for `hq import jobs.csv`. Every line must exit 0."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECTION = "## Headquarters and sync"
CSV = (
    "ref,kind,summary,customer_name,address,city,technician\n"
    "IMP-1,repair,No cooling,Kofi Mensah,3 Hill Rd,Lhasa,tenzin-dorje\n"
)


def hq_blocks() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    blocks = re.findall(r"```sh\n(.*?)```", text[start:end], flags=re.S)
    return [
        [ln.strip() for ln in b.replace("\\\n", " ").splitlines() if ln.strip()[:1] not in "#"]
        for b in blocks
    ]


def bash(cwd: Path, line: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FIELDTECH_HOME")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", line],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def wait_for_hq(url: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/v1/me", timeout=1)
            return  # it answers (401 without a credential): it is up
        except httpx.TransportError:
            if server.poll() is not None:
                raise AssertionError("hq serve stopped at once") from None
            time.sleep(0.1)
    raise AssertionError("hq serve did not answer within 30 s")


def completed_job(cwd: Path) -> str:
    listed = json.loads(bash(cwd, "fieldtech --home hq hq jobs --status completed --json").stdout)
    rows = listed["jobs"] if isinstance(listed, dict) else listed
    return next(j["ref"] for j in rows if j["status"] == "completed")


def test_the_hq_walkthrough_runs_in_order_against_a_real_server(tmp_path):
    blocks = hq_blocks()
    assert len(blocks) == 3  # the walkthrough, a sync carried as a file, the standards
    (tmp_path / "jobs.csv").write_text(CSV)
    port = str(free_port())
    code = None
    server: subprocess.Popen | None = None
    try:
        for typed in [line for block in blocks for line in block]:
            line = typed.split("  #")[0].strip().replace("8765", port)  # the comment goes
            if code is not None:
                line = line.replace("ABCD-EFGH-JKLM", code)
            if "any completed job" in typed:  # the README's J-000003 stands for one
                line = line.replace("J-000003", completed_job(tmp_path))
            if line.endswith("&"):  # the server, in the background as the README has it
                server = subprocess.Popen(
                    ["bash", "-c", f"exec {line.rstrip('&').strip()}"],
                    cwd=tmp_path,
                    env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
                wait_for_hq(f"http://127.0.0.1:{port}", server)
                continue
            r = bash(tmp_path, line)
            said = f"README: {typed}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
            assert r.returncode == 0 and "Traceback" not in r.stderr, said
            if "user add" in line:
                found = re.search(r"enrollment code: (\S+)", r.stdout)
                assert found, said
                code = found.group(1)
        assert code is not None and server is not None
        jobs = bash(tmp_path, "fieldtech --home tenzin jobs --json").stdout
        assert "Install split AC" in jobs and "No cooling" in jobs  # dispatched and imported
        # The bundle went there and back: HQ's reply, sealed, beside the device's bundle.
        assert (tmp_path / "stick" / "tenzin-reply.ftb").read_bytes().startswith(b"FTBUNDLE1")
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)

"""What every benchmark shares: a result table, JSON output, a real HQ process."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"
FIELDTECH = [sys.executable, "-m", "fieldtech"]


def write(name: str, rows: list[dict], meta: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": name,
                "meta": {
                    **meta,
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                    "cpus": os.cpu_count(),
                    "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
                "rows": rows,
            },
            indent=2,
        )
    )
    return out


def show(title: str, rows: list[dict]) -> None:
    t = Table(title=title, title_justify="left")
    for col in rows[0]:
        t.add_column(col, justify="right" if isinstance(rows[0][col], int | float) else "left")
    for r in rows:
        t.add_row(
            *(
                f"{v:,.3f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
                for v in r.values()
            )
        )
    Console(width=160).print(t)


def cli(home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "FIELDTECH_HOME"}
    return subprocess.run(
        [*FIELDTECH, "--home", str(home), *args],
        check=True,
        text=True,
        capture_output=True,
        env=env,
    ).stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HQServer:
    """`fieldtech hq serve` in its own process. `prepare_every`: its preparer of first syncs
    (fieldtech.hq.priming), off unless asked, so a benchmark says what it prepares and when."""

    def __init__(self, home: Path, db: str | None = None, prepare_every: float = 0):
        self.home = home
        self.prepare_every = prepare_every
        self.db = ["--db", db] if db else []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def hq(self, *args: str) -> str:
        return cli(self.home, "hq", *self.db, *args)

    def start(self, token: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "FIELDTECH_HOME"}
        self.proc = subprocess.Popen(
            [
                *FIELDTECH,
                "--home",
                str(self.home),
                "hq",
                *self.db,
                "serve",
                "--port",
                str(self.port),
                "--prepare-every",
                str(self.prepare_every),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(200):
            try:
                if (
                    httpx.get(
                        self.url + "/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=1
                    ).status_code
                    == 200
                ):
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("HQ did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)

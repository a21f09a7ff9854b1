"""Running HQ: uvicorn in the foreground, or in a background thread (demo and tests)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from fieldtech.hq.api import create_app
from fieldtech.hq.db import HQ
from fieldtech.hq.priming import PREPARE_EVERY, Preparer


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        # An AF_INET address is (host, port); the socket stubs leave it untyped.
        return int(s.getsockname()[1])


def serve(
    hq: HQ,
    host: str = "127.0.0.1",
    port: int = 8765,
    log_level: str = "info",
    prepare_every: float = PREPARE_EVERY,
) -> None:
    # New devices' first syncs, made while their enrollment codes wait (0: never).
    preparer = Preparer(hq, prepare_every).start() if prepare_every > 0 else None
    try:
        # A device's held /v1/wait lasts up to 30 s: stopping HQ does not wait that long.
        uvicorn.run(
            create_app(hq),
            host=host,
            port=port,
            log_level=log_level,
            access_log=False,
            timeout_graceful_shutdown=3,
            server_header=False,  # 17 bytes on every answer over 2G, and no banner for scanners
        )
    finally:
        if preparer is not None:
            preparer.stop()


class BackgroundHQ:
    """An HQ server on a thread of this process, stopped cleanly by `stop()`. `prepare`:
    with the Preparer of a served HQ (fieldtech.hq.priming); off by default, so a test's
    HQ does only what the test asks."""

    def __init__(
        self, hq: HQ, host: str = "127.0.0.1", port: int | None = None, prepare: bool = False
    ):
        self.hq = hq
        self.preparer = Preparer(hq) if prepare else None
        self.host = host
        self.port = port or free_port(host)
        config = uvicorn.Config(
            create_app(hq),
            host=host,
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            server_header=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="hq", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundHQ:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("HQ did not start")
            time.sleep(0.02)
        if self.preparer is not None:
            self.preparer.start()
        return self

    def stop(self) -> None:
        if self.preparer is not None:
            self.preparer.stop()
        self.server.should_exit = True
        self.thread.join(timeout=10)

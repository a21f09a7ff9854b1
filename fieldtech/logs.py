"""The profile's log: sync attempts, their outcome, and unexpected errors with traceback.

It lives where `fieldtech locate` says logs live, rotates at 1 MB keeping three old files,
and is opened only by what writes to it (the app after its first frame, sync, a failing
command), so start-up does not pay for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LOG_NAME = "fieldtech.log"
MAX_BYTES = 1_000_000
BACKUPS = 3

log = logging.getLogger("fieldtech")
# Until setup() names a file, nothing goes anywhere: above all not to the app's terminal,
# where Python's last-resort handler would otherwise print warnings over the screen.
log.addHandler(logging.NullHandler())


def setup(logs_dir: Path) -> Path | None:
    """Send fieldtech's log to `logs_dir/fieldtech.log` (once per folder). None when the
    folder cannot be written: logging must never stop the work it records."""
    from logging.handlers import RotatingFileHandler

    path = logs_dir / LOG_NAME
    for handler in log.handlers:
        if getattr(handler, "baseFilename", None) == str(path):
            return path
    try:
        logs_dir.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S%z")
    )
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


def sync_outcome(summary: Mapping[str, Any]) -> None:
    """One line per sync attempt: what went, what came, what HQ refused, or why it failed."""
    if summary.get("ok"):
        log.info(
            "sync ok: pushed %s, pulled %s, refused %s",
            summary.get("pushed", 0),
            summary.get("pulled", 0),
            len(summary.get("rejected") or ()),
        )
    else:
        log.warning("sync failed: %s", summary.get("error"))

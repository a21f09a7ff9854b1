"""The device credential file: HQ's address and this device's token, readable by the owner only."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fieldtech.domain.errors import FieldtechError


class NotEnrolled(FieldtechError):
    pass


def save(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    os.chmod(path, 0o600)


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotEnrolled(
            "this device is not enrolled with HQ: run `fieldtech enroll URL CODE` with the code "
            "HQ gave you"
        ) from None
    except (json.JSONDecodeError, OSError) as exc:
        raise NotEnrolled(
            f"the credential file {path} is unreadable ({exc}); enroll again"
        ) from None
    if not isinstance(data, dict) or not data.get("token") or not data.get("hq_url"):
        raise NotEnrolled(f"the credential file {path} is incomplete; enroll again")
    return data

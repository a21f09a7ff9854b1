"""Where a profile keeps its data, config and logs.

`--home DIR` or FIELDTECH_HOME puts all three under one folder, so several profiles (two
technicians, a supervisor, an HQ) can live on one machine. Otherwise the platform's places.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "fieldtech"
ENV_HOME = "FIELDTECH_HOME"


@dataclass(frozen=True)
class Locations:
    data: Path
    config: Path
    logs: Path
    source: str  # how they were chosen, for `fieldtech locate`

    @property
    def device_db(self) -> Path:
        return self.data / "device.sqlite"

    @property
    def hq_db(self) -> Path:
        return self.data / "hq.sqlite"

    @property
    def credential(self) -> Path:
        return self.config / "credential.json"

    @property
    def settings(self) -> Path:
        return self.config / "settings.toml"

    @property
    def keymap(self) -> Path:
        return self.config / "keymap.toml"

    def as_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "data": str(self.data),
            "config": str(self.config),
            "logs": str(self.logs),
            "device_db": str(self.device_db),
            "hq_db": str(self.hq_db),
            "credential": str(self.credential),
            "settings": str(self.settings),
        }


def locate(home: str | os.PathLike | None = None) -> Locations:
    if home is None and os.environ.get(ENV_HOME):
        home, source = os.environ[ENV_HOME], f"${ENV_HOME}"
    else:
        source = "--home" if home is not None else "platform defaults"
    if home is not None:
        root = Path(home).expanduser().resolve()
        return Locations(root / "data", root / "config", root / "logs", source)
    return Locations(
        Path(platformdirs.user_data_dir(APP)),
        Path(platformdirs.user_config_dir(APP)),
        Path(platformdirs.user_log_dir(APP)),
        source,
    )


def sync_folder(path: Path) -> None:
    """Make a rename into `path` durable: the folder's entry is synced too (a file's own
    fsync does not cover its name)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_whole(out: Path, data: bytes) -> None:
    """The whole file or none of it: a stick pulled out mid-write leaves no half file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    with open(part, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, out)


def read_whole(path: Path) -> bytes:
    """A file a person named, or why it cannot be read in words (FieldtechError)."""
    from fieldtech.domain.errors import FieldtechError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise FieldtechError(f"cannot read {path}: {exc.strerror or exc}") from None

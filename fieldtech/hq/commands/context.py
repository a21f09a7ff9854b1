"""The HQ a `fieldtech hq …` command works on: its database, opened once, and the admin
the office's commands run as."""

from __future__ import annotations

import os
from pathlib import Path

import click

from fieldtech.domain.errors import FieldtechError
from fieldtech.hq import auth
from fieldtech.hq.auth import Principal
from fieldtech.hq.db import HQ, files_beside, sqlite_url
from fieldtech.paths import Locations

ENV_DB = "FIELDTECH_HQ_DB"
ENV_FILES = "FIELDTECH_HQ_FILES"  # where attachments' bytes go (default: beside the database)


class HQContext:
    def __init__(self, locations: Locations, db: str | None):
        self.locations = locations
        self.url = db or os.environ.get(ENV_DB) or sqlite_url(locations.hq_db)
        self._hq: HQ | None = None

    def hq(self, *, create: bool = False) -> HQ:
        if self._hq is None:
            if self.url.startswith("sqlite") and not create:
                path = Path(self.url.split("///", 1)[-1])
                if not path.exists():
                    raise FieldtechError(f"no HQ at {path}: run `fieldtech hq init` first")
            files = os.environ.get(ENV_FILES)
            self._hq = HQ.open(
                self.url, create=True, files=Path(files) if files else self.files_folder()
            )
            if self.url.startswith("sqlite"):
                path = Path(self.url.split("///", 1)[-1])
                if path.exists():
                    os.chmod(path, 0o600)
        return self._hq

    def files_folder(self) -> Path:
        """Beside a SQLite database; in this profile's data folder for a PostgreSQL one."""
        return files_beside(self.url) or self.locations.data / "hq-files"

    def console_admin(self) -> Principal:
        """HQ commands run on the HQ machine itself, as its first admin."""
        admins = [u for u in auth.users(self.hq()) if u["role"] == "admin" and u["active"]]
        if not admins:
            raise FieldtechError("this HQ has no admin: run `fieldtech hq init` first")
        a = admins[0]
        return Principal(a["id"], a["name"], "admin", a["team"], None, "console")

    def close(self) -> None:
        if self._hq is not None:
            self._hq.dispose()


pass_hq = click.make_pass_decorator(HQContext)

"""Attaching a file to a job: its bytes kept on the device, its reference sent to HQ.

The bytes are copied into the profile first (durably, under their hash), then the reference
and its operation are written in one transaction: when the person hears "attached", both
are on disk. HQ receives the bytes after the operation, at a sync (fieldtech.sync.files).
"""

from __future__ import annotations

import contextlib
import errno
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldtech.domain import attachments as A
from fieldtech.domain import ops
from fieldtech.domain.errors import BadInput, NotFound
from fieldtech.services import pictures
from fieldtech.services.context import Device
from fieldtech.services.jobs import _priority, require_working
from fieldtech.store import Store
from fieldtech.store.attachments import KeptFile
from fieldtech.store.rows import AttachmentRow, JobRow


@dataclass(frozen=True)
class Kept:
    """A file copied into the profile, ready to be recorded: what travels, and the
    original it was downscaled from (None when it travels as taken)."""

    name: str
    media_type: str
    file: KeptFile
    original: KeptFile | None


class KeepRefused(BadInput):
    """The copy was made but refused (too large once downscaled, not a picture that
    opens): `orphans` are its bytes, for the caller to remove (keep touches no rows)."""

    def __init__(self, message: str, orphans: list[str]):
        super().__init__(message)
        self.orphans = orphans


def attach(
    dev: Device,
    job_id: str,
    path: str | Path,
    *,
    item: str | None = None,
    caption: str | None = None,
    limit: int = A.MAX_BYTES,
    long_edge: int = pictures.LONG_EDGE,
) -> AttachmentRow:
    """Attach the file at `path` to the job (optionally to one of its checklist items):
    `check`, `keep`, `record` in turn (the app runs `keep`, the slow part, in a worker).

    `limit` bounds what travels (settings.toml: attachment_max_size). A picture larger than
    `long_edge` px (attachment_long_edge; 0: as taken) travels downscaled, and the original
    stays on the device until the small copy has reached HQ; a picture that does not open
    (damaged, cut short) is refused: it would prove nothing."""
    caption = check(dev, job_id, item=item, caption=caption)
    try:
        kept = keep(dev.store, path, limit=limit, long_edge=long_edge)
    except KeepRefused as exc:
        forget(dev, exc.orphans)
        raise
    return record(dev, job_id, kept, item=item, caption=caption)


def check(dev: Device, job_id: str, *, item: str | None, caption: str | None) -> str | None:
    """What can be refused before any copy is made: the job, the item, the caption.
    Returns the caption as it will be kept."""
    job = dev.store.job(job_id)
    if item is not None:
        _check_item(dev, job, item)
        require_working(job, "attaching to a checklist item")
    return A.clean_caption(caption)


def keep(
    store: Store, path: str | Path, *, limit: int = A.MAX_BYTES, long_edge: int = pictures.LONG_EDGE
) -> Kept:
    """Copy the file into the profile (and its downscaled copy): file work only, no rows,
    so any thread may do it."""
    source = Path(path).expanduser()
    with _reading(source):
        if source.is_dir():
            raise BadInput(f"{source} is a folder, not a file")
        with source.open("rb") as f:
            media_type = A.kind_of(f.read(A.SNIFF))
            # A camera's original may be larger than what travels: the limit is the copy's.
            cap = max(limit, A.MAX_ORIGINAL) if media_type in A.PICTURES else limit
            A.check_size(source.stat().st_size, cap)
            f.seek(0)
            original = store.keep_file(f, cap)
    kept = original
    try:
        A.check_size(original.size, cap)
        if media_type in A.PICTURES:
            small = pictures.prepared(store.file_path(original.sha256), media_type, long_edge)
            if small is not None and len(small) < original.size:
                with _reading(source):
                    kept = store.keep_file(io.BytesIO(small), limit)
        A.check_size(kept.size, limit)
    except BadInput as exc:
        raise KeepRefused(exc.message, [original.sha256, kept.sha256]) from None
    return Kept(A.clean_name(source.name), media_type, kept, None if kept is original else original)


def forget(dev: Device, orphans: list[str]) -> None:
    """Remove the bytes of a refused copy at once (those nothing names)."""
    for sha in dict.fromkeys(orphans):
        dev.store.forget_unnamed(sha)


def record(
    dev: Device, job_id: str, kept: Kept, *, item: str | None, caption: str | None
) -> AttachmentRow:
    """The reference and its operation, in one transaction."""
    payload: dict[str, Any] = {
        "sha256": kept.file.sha256,
        "size": kept.file.size,
        "type": kept.media_type,
        "name": kept.name,
    }
    if caption:
        payload["caption"] = caption
    if item:
        payload["item"] = item
    with dev.store.transaction():
        job = dev.store.job(job_id)
        if item:
            require_working(job, "attaching to a checklist item")
        exp = dev.apply(ops.ATTACHMENT_ADD, job["id"], payload, priority=_priority(job))
        assert exp.attachment is not None
        if kept.original is not None:
            dev.store.keep_original(exp.attachment["id"], kept.original.sha256, kept.original.size)
    return next(a for a in dev.store.attachments(job["id"]) if a["id"] == exp.attachment["id"])


@contextlib.contextmanager
def _reading(source: Path) -> Iterator[None]:
    """A file that cannot be read or kept, in words."""
    try:
        yield
    except FileNotFoundError:
        raise NotFound(f"no file {str(source)!r}") from None
    except PermissionError:
        raise BadInput(f"{source} cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise BadInput(f"{source} is a folder, not a file") from None
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise BadInput(
                "this device's disk is full: free some space and attach it again"
            ) from None
        raise BadInput(f"{source} cannot be read ({exc.strerror or exc})") from None


def _check_item(dev: Device, job: JobRow, item: str) -> None:
    """A file goes on a photo or signature item of the job's own checklist."""
    from fieldtech.domain.checklists import ItemType

    if not job["template_id"]:
        raise BadInput("the job has no checklist")
    template = dev.store.template(job["template_id"], job["template_version"])
    found = next((i for i in template.items if i.key == item), None)
    if found is None:
        raise BadInput(f"the job's checklist has no item {item!r}")
    if found.type not in (ItemType.PHOTO, ItemType.SIGNATURE):
        raise BadInput(f"{found.label!r} is not a photo or signature item")

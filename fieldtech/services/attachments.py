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
from pathlib import Path
from typing import Any

from fieldtech.domain import attachments as A
from fieldtech.domain import ops
from fieldtech.domain.errors import BadInput, NotFound
from fieldtech.services import pictures
from fieldtech.services.context import Device
from fieldtech.services.jobs import _priority, require_working
from fieldtech.store.rows import AttachmentRow, JobRow


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
    """Attach the file at `path` to the job (optionally to one of its checklist items).

    `limit` bounds what travels (settings.toml: attachment_max_size). A picture larger than
    `long_edge` px (attachment_long_edge; 0: as taken) travels downscaled, and the original
    stays on the device until the small copy has reached HQ; a picture that does not open
    (damaged, cut short) is refused: it would prove nothing."""
    job = dev.store.job(job_id)
    caption = A.clean_caption(caption)
    if item is not None:
        _check_item(dev, job, item)
        require_working(job, "attaching to a checklist item")
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
            original = dev.store.keep_file(f, cap)
    kept = original
    try:
        A.check_size(original.size, cap)
        if media_type in A.PICTURES:
            small = pictures.prepared(dev.store.file_path(original.sha256), media_type, long_edge)
            if small is not None and len(small) < original.size:
                with _reading(source):
                    kept = dev.store.keep_file(io.BytesIO(small), limit)
        A.check_size(kept.size, limit)
    except BadInput:
        dev.store.forget_unnamed(original.sha256)  # nothing half-kept: the copy goes now
        raise
    payload: dict[str, Any] = {
        "sha256": kept.sha256,
        "size": kept.size,
        "type": media_type,
        "name": A.clean_name(source.name),
    }
    if caption:
        payload["caption"] = caption
    if item:
        payload["item"] = item
    with dev.store.transaction():
        job = dev.store.job(job["id"])
        if item:
            require_working(job, "attaching to a checklist item")
        exp = dev.apply(ops.ATTACHMENT_ADD, job["id"], payload, priority=_priority(job))
        assert exp.attachment is not None
        if kept is not original:
            dev.store.keep_original(exp.attachment["id"], original.sha256, original.size)
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

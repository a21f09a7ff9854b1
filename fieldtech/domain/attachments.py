"""Attachments: a photo, a scanned signature or a PDF kept as proof of work on a job.

A file is known by the SHA-256 of its bytes. Its type is read from its first bytes, not its
name (a camera's "IMG_0412" has no extension; a renamed file lies), and only the kinds a
warranty claim or a damage report can use are taken. Pure: no I/O here.
"""

from __future__ import annotations

import re
from typing import Any

from fieldtech.domain.errors import BadInput

MAX_BYTES = 15_000_000  # what one file may be as it travels (settings: attachment_max_size)
MAX_ORIGINAL = 64_000_000  # a camera's largest original, kept until its small copy is sent
PICTURES = ("image/jpeg", "image/png")
MAX_AT_HQ = 100_000_000  # what HQ takes for one file, whatever a device's setting says
MAX_CAPTION = 500
MAX_NAME = 200

# What the first bytes of each kept kind are.
KINDS = (
    ("image/jpeg", b"\xff\xd8\xff"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("application/pdf", b"%PDF-"),
)
KIND_WORDS = {"image/jpeg": "JPEG photo", "image/png": "PNG image", "application/pdf": "PDF"}
SNIFF = 8  # bytes enough to tell the kinds apart

_HASH = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def kind_of(head: bytes) -> str:
    """The media type of a file from its first bytes; BadInput for any other kind."""
    for media_type, magic in KINDS:
        if head.startswith(magic):
            return media_type
    raise BadInput("only JPEG and PNG pictures and PDF files can be attached")


def check_size(size: int, limit: int = MAX_BYTES) -> int:
    if size <= 0:
        raise BadInput("the file is empty")
    if size > limit:
        said, most = size_words(size), size_words(limit)
        if said == most:  # 10,001 and 10,000 bytes both read "10 KB": say the bytes
            said, most = f"{size:,} bytes", f"{limit:,} bytes"
        raise BadInput(f"the file is {said}; an attachment can be at most {most}")
    return size


def check_hash(value: object) -> str:
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise BadInput("an attachment's sha256 must be 64 lower-case hex digits")
    return value


def clean_name(name: str) -> str:
    """The file's own name as shown beside it: its last path part, without control
    characters, at most MAX_NAME characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _CONTROL.sub("", base).strip() or "file"
    return base[:MAX_NAME]


def clean_caption(caption: str | None) -> str | None:
    text = _CONTROL.sub(" ", caption or "").strip()
    if len(text) > MAX_CAPTION:
        raise BadInput(f"a caption can be at most {MAX_CAPTION} characters")
    return text or None


def size_words(size: int) -> str:
    """1.2 MB, 340 KB, 12 B: decimal units, as phones and cameras show sizes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    if size >= 1000:
        return f"{size / 1000:.0f} KB"
    return f"{size} B"


LONG_EDGE = 1600  # px a picture's long edge is cut to before it travels


def from_settings(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The attachment settings of settings.toml: `attachment_max_size` ("15MB"),
    `attachment_long_edge` (px; 0 sends pictures as taken) and `pictures_folder`. Returns
    what `services.attachments.attach` and the picker take, and each bad value in words
    (one bad setting does not drop the others)."""
    from fieldtech.domain.sending import parse_budget

    out: dict[str, Any] = {}
    problems: list[str] = []
    size = data.get("attachment_max_size")
    if size is not None:
        try:
            out["limit"] = parse_budget(str(size), what="attachment_max_size")
            if out["limit"] < 1000:
                raise BadInput("attachment_max_size must be at least 1KB")
        except BadInput as exc:
            out.pop("limit", None)
            problems.append(exc.message)
    edge = data.get("attachment_long_edge")
    if edge is not None:
        if isinstance(edge, int) and not isinstance(edge, bool) and 0 <= edge <= 20_000:
            out["long_edge"] = edge
        else:
            problems.append(f"attachment_long_edge is a number of pixels (0-20000), not {edge!r}")
    folder = data.get("pictures_folder")
    if folder is not None:
        if isinstance(folder, str) and folder.strip():
            out["pictures_folder"] = folder
        else:
            problems.append("pictures_folder is a folder's path")
    return out, problems

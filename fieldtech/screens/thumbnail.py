"""A photo in a terminal: half-block cells, two pixels each (the upper one the cell's
foreground, the lower its background), which every colour terminal draws; a terminal
without colour gets the text line the job screen shows beside it anyway.

Pillow is imported only when a job with a picture on this device is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.color import Color
from rich.style import Style
from rich.text import Text

if TYPE_CHECKING:
    from fieldtech.store import Store
    from fieldtech.store.rows import AttachmentRow

WIDTH = 24  # cells: a recognisable unit or serial plate, and the text still beside it


def halfblocks(path: Path, width: int = WIDTH) -> Text | None:
    """The picture at `path` as `width` cells across; None when it cannot be read."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as im:
            im.draft("RGB", (width * 4, width * 4))  # a JPEG decodes small: little memory
            rgb = im.convert("RGB")
            height = max(2, round(rgb.height * width / rgb.width / 2) * 2)
            small = rgb.resize((width, height))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    pixels = small.load()
    assert pixels is not None
    out = Text(end="")
    for y in range(0, height, 2):
        for x in range(width):
            top, bottom = pixels[x, y], pixels[x, y + 1]
            out.append(
                "▀",
                Style(
                    color=Color.from_rgb(*top[:3]),  # type: ignore[index]
                    bgcolor=Color.from_rgb(*bottom[:3]),  # type: ignore[index]
                ),
            )
        if y + 2 < height:
            out.append("\n")
    return out


def latest_picture(
    store: Store, attached: Sequence[AttachmentRow], cache: dict[str, Text | str]
) -> Text | str:
    """The latest of these pictures with its bytes (or HQ's thumbnail) on this device,
    drawn; "" when there is none. `cache`: drawings by hash, so a screen that refreshes
    every tick of its clock decodes each picture once."""
    for a in reversed(attached):
        if a["media_type"] not in ("image/jpeg", "image/png"):
            continue
        for path in (store.file_path(a["sha256"]), store.thumbnail_path(a["sha256"])):
            if path.is_file():
                if a["sha256"] not in cache:
                    cache[a["sha256"]] = halfblocks(path) or ""
                return cache[a["sha256"]]
    return ""

"""Photos made small enough for a 2G link before they travel: the long edge to a setting
(default 1600 px, enough to read a serial plate), the rest as the camera took it.

Pillow is imported here only, when a picture is attached: the app's start never pays for
it. A picture Pillow cannot read, or one too large to decode safely, travels as it is: it
is the technician's evidence, and the size limit already bounds it.
"""

from __future__ import annotations

import io
from pathlib import Path

LONG_EDGE = 1600
LONG_EDGE_SETTING = "attachment_long_edge"
MAX_PIXELS = 60_000_000  # beyond a 60-megapixel camera: a decompression bomb, not a photo
PICTURES = {"image/jpeg": "JPEG", "image/png": "PNG"}


def downscaled(source: Path, media_type: str, long_edge: int = LONG_EDGE) -> bytes | None:
    """The picture at `source` with its long edge cut to `long_edge`; None when it needs no
    cut (already small, not a picture) or cannot be read."""
    kind = PICTURES.get(media_type)
    if kind is None or long_edge <= 0:
        return None
    try:
        from PIL import Image, ImageOps
    except ImportError:  # an install without Pillow sends pictures as taken
        return None
    try:
        with Image.open(source) as im:
            width, height = im.size
            if max(width, height) <= long_edge or width * height > MAX_PIXELS:
                return None
            if kind == "JPEG":
                im.draft("RGB", (long_edge, long_edge))  # decode at 1/2, 1/4, 1/8: less memory
            upright = ImageOps.exif_transpose(im)  # the way up the camera knew
            upright.thumbnail((long_edge, long_edge), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if kind == "JPEG":
                upright.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
            else:
                upright.save(out, "PNG", optimize=True)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None

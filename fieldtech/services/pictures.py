"""Photos made small enough for a 2G link before they travel: the long edge to a setting
(default 1600 px, enough to read a serial plate), the rest as the camera took it.

Pillow is imported here only, when a picture is attached: the app's start never pays for
it. A picture that does not open is refused (it proves nothing); one too large to decode
safely travels as it is, bounded by the size limit.
"""

from __future__ import annotations

import io
from pathlib import Path

from fieldtech.domain.attachments import LONG_EDGE
from fieldtech.domain.errors import BadInput

__all__ = ["LONG_EDGE", "MAX_PIXELS", "prepared"]
MAX_PIXELS = 60_000_000  # beyond a 60-megapixel camera: a decompression bomb, not a photo
PICTURES = {"image/jpeg": "JPEG", "image/png": "PNG"}


def prepared(source: Path, media_type: str, long_edge: int = LONG_EDGE) -> bytes | None:
    """The picture at `source` as it should travel: its long edge cut to `long_edge`, or
    None to send it as taken (already small enough, or `long_edge` 0). BadInput for a
    picture that does not open: a damaged or cut-short file proves nothing."""
    kind = PICTURES.get(media_type)
    if kind is None:
        return None
    try:
        from PIL import Image, ImageOps
    except ImportError:  # an install without Pillow sends pictures as taken
        return None
    try:
        with Image.open(source) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:  # too large to decode safely: as taken
                return None
            if long_edge <= 0 or max(width, height) <= long_edge:
                im.load()  # it opens whole: proof that it is a picture
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
        raise BadInput("the picture does not open: it may be damaged or cut short") from None

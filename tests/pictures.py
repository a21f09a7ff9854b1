"""Pictures for tests: real JPEG and PNG files (they open in Pillow, as the device checks)
of an exact size, their bytes decided by a seed."""

from __future__ import annotations

import hashlib
import io


def _tiny(kind: str, seed: str) -> bytes:
    from PIL import Image

    shade = hashlib.sha256(seed.encode()).digest()[:3]
    out = io.BytesIO()
    Image.new("RGB", (8, 8), tuple(shade)).save(out, kind)
    return out.getvalue()


def picture(size: int, seed: object = 0, kind: str = "JPEG") -> bytes:
    """A small real picture, then filler to `size` bytes (decoders stop at the picture's
    end, as they do for the data some cameras append)."""
    head = _tiny(kind, f"{kind}{seed}")
    if size < len(head):
        raise ValueError(f"a {kind} here is at least {len(head)} bytes")
    return head + hashlib.shake_256(f"{seed}".encode()).digest(size - len(head))

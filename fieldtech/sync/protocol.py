"""The sync wire protocol: one request carries the outbox batch and the cursor.

Request  {"v": 2, "device": id, "node": clock name, "cursor": n, "limit": rows,
          "page_bytes": n, "stream": bool, "clock": hlc, "check": request key,
          "ops": [{"i": op id, "h": hlc, "o": operation, "e": entity id, "p": payload}]}
         (a device's credential names the device, and "node" checks it; left-out limits
         are HQ's defaults)

Version 2 answers (what devices of this release speak):
- the push's outcome as a watermark: {"through": the last op id of the request, all of
  whose ops HQ has settled, "rejected": [{"id", "reason"}] (the exceptions), "clock": hlc};
  every other op up to `through` was applied (or had been before). ~40 bytes, however many
  operations went up, where version 1 echoed every id back.
- the changes since the cursor in pages of at most `page_bytes` of JSON each, {"changes":
  {table: {"cols", "rows"}}, "cursor": n, "more": bool}. With "stream": true the answer is a
  stream of frames (FRAMES_TYPE): the push's outcome, then page after page, each frame a
  4-byte big-endian length and that many bytes of one compressed stream, flushed at the end
  of every frame (FrameWriter), so each is readable on arrival: zstd (FRAMES_TYPE + "+zstd")
  for a device that asks with `Accept-Encoding: zstd` and sets no byte budget, else gzip.
  A request that pushed nothing gets no outcome frame: HQ's clock comes in the first page.
  The device applies each page in its own transaction as it arrives, so a link that drops
  at 90% keeps 90%; HQ stops after about STREAM_BYTES and says "more" for the device to ask
  again.
  Without "stream", one page comes in one JSON body, with the outcome's keys beside it.

Version 1 (devices of earlier releases) gets {"acks": [op id], "rejected", "changes",
"cursor", "more", "clock"} in one body, as it always did.

An op leaves out "h" when its id gives the stamp back (fieldtech.domain.ids.stamp_of, on
the clock of the request's device): the ids of a device's operations are made from their
stamps, so a stamp beside its id would cost a week's upload another quarter.

Bodies are gzip'd both ways. Keys are one letter in the op list because there are many ops.
The device speaks it with plain JSON; HQ checks what it receives against the models in
fieldtech.sync.wire_models (pydantic, which a device's sync never needs to load).
"""

from __future__ import annotations

import gzip
import json
import math
import zlib
from typing import Any

from fieldtech.domain.hlc import node_of
from fieldtech.domain.ids import stamp_of

PROTOCOL = 2
MAX_OPS = 10000  # per request; what bounds a request is its size (MAX_BODY, MAX_INFLATED)
DEFAULT_PAGE = 2000
MAX_PAGE = 20000
# JSON bytes of changes in one page: ~8 KB on the wire, a few seconds at 2G rates, so a cut
# costs at most that much. A stream carries pages up to STREAM_BYTES (on the wire) at once.
PAGE_BYTES = 64 * 1024
MIN_PAGE_BYTES = 4 * 1024
MAX_PAGE_BYTES = 4 * 1024 * 1024
STREAM_BYTES = 4 * 1024 * 1024
FRAMES_TYPE = "application/vnd.fieldtech.frames"
ZSTD = "zstd"
# A stream's frames are zstd'd cheaply (level 3) while they are few; from a page that says
# more follow, or past BULK_AFTER bytes of JSON (priming, catching up), the rest go in a
# second zstd frame with an 8 MiB window, where a job's references find the customer, site
# and appliance rows sent pages before: gzip's 32 KiB window finds none of them (10,000
# jobs: 1.71 MB gzip'd, ~0.97 MB so). A routine sync never pays for the bulk compressor's
# ~11 MiB.
ZSTD_WINDOW_LOG = 23
ZSTD_BULK_LEVEL = 9
BULK_AFTER = PAGE_BYTES
# What a device sends in one request: operations up to this much JSON (~60 KB gzip'd).
BATCH_BYTES = 512 * 1024
MAX_BODY = 8 * 1024 * 1024  # compressed bytes HQ accepts in one request
# What a gzip'd body may inflate to: the same order as the cap on the wire, so memory per
# request stays bounded once decompressed too (a sync batch of 2,000 long notes fits).
MAX_INFLATED = 2 * MAX_BODY
# Attachments' bytes go apart from the sync, by the core of the tus protocol (1.0.0) keyed
# by hash: HEAD /v1/files/{sha256} says how much HQ has (Upload-Offset), each PATCH carries
# the next chunk at that offset. A cut costs at most the chunk in flight.
FILES_PATH = "/v1/files/"
TUS_VERSION = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"
FILE_CHUNK = 64 * 1024  # what a device sends in one PATCH
MAX_FILE_CHUNK = 1024 * 1024  # what HQ takes in one
MAX_INT = 2**63 - 1  # the stores keep whole numbers in 64 bits


def fits_the_store(value: Any) -> bool:
    """Every number in a JSON value is finite and fits a 64-bit column, as a whole number
    (HQ may read a count from a float): walked without recursion."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, int) and not isinstance(v, bool):
            if not -MAX_INT - 1 <= v <= MAX_INT:
                return False
        elif isinstance(v, float):
            if not (math.isfinite(v) and -(2.0**63) <= v < 2.0**63):
                return False
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return True


def to_wire(outbox_row: dict[str, Any], node: str | None = None) -> dict[str, Any]:
    """An outbox row as the sending device, whose clock is `node`, puts it on the wire."""
    op = {"i": outbox_row["id"], "h": outbox_row["hlc"]}
    if node is not None and stamp_of(op["i"], node) == op["h"]:
        del op["h"]
    return {**op, "o": outbox_row["op"], "e": outbox_row["entity_id"], "p": outbox_row["payload"]}


def request_key(op_ids: list[str]) -> str:
    """A push's key, made from its op ids in order on both sides: HQ keeps each device's
    latest outcome under it, and a device that lost the answer asks by it (`check`)."""
    import hashlib

    return hashlib.sha256("\n".join(op_ids).encode()).hexdigest()[:32]


def stamp_of_op(op_id: str, device_id: str) -> str | None:
    """The stamp of an op that came without one: what its id gives back on the clock of
    the device that sent it (None for an id that is not a UUID: that op is refused)."""
    try:
        return stamp_of(op_id, node_of(device_id))
    except ValueError:
        return None


def encode(obj: Any) -> bytes:
    return gzip.compress(json.dumps(obj, separators=(",", ":")).encode(), compresslevel=6)


# A device's request body in zstd, once it has seen HQ answer in zstd frames (HQ of this
# release reads both): a week offline 29 KB gzip'd, 19 KB so, ~70 ms of the device's time.
BODY_ZSTD_LEVEL = 17


def encode_zstd(obj: Any) -> bytes:
    import zstandard

    text = json.dumps(obj, separators=(",", ":")).encode()
    return bytes(zstandard.ZstdCompressor(level=BODY_ZSTD_LEVEL).compress(text))


def decode(body: bytes, encoding: str | None) -> Any:
    """The JSON of a request body; ValueError (with the reason) if it is not readable JSON."""
    if encoding and "zstd" in encoding:
        body = inflate_zstd(body)
    elif encoding and "gzip" in encoding:
        body = inflate(body)
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class TooLargeInflated(ValueError):
    """A compressed body that inflates past the ceiling."""


def inflate_zstd(body: bytes, limit: int = MAX_INFLATED) -> bytes:
    """Un-zstd with a ceiling. A cut body inflates to JSON cut short, which `decode` refuses."""
    import zstandard

    reader = zstandard.ZstdDecompressor(max_window_size=1 << ZSTD_WINDOW_LOG)
    try:
        return unzstd(reader.decompressobj(read_across_frames=True), body, limit)
    except TooLargeInflated:
        raise TooLargeInflated(f"more than {limit // (1024 * 1024)} MB once decompressed") from None


ZSTD_PIECE = 256  # bytes of input at a time: what one piece can inflate to is ~8 MB at most


def unzstd(d: Any, data: bytes, limit: int) -> bytes:
    """`data` through the zstd decompressor `d`, refused past `limit` bytes of output. Fed a
    small piece at a time: a decompressor returns everything a piece inflates to, and a few
    bytes can stand for megabytes."""
    import zstandard

    out: list[bytes] = []
    size = 0
    try:
        for at in range(0, len(data), ZSTD_PIECE):
            part = d.decompress(data[at : at + ZSTD_PIECE])
            size += len(part)
            if size > limit:
                raise TooLargeInflated(f"a frame of more than {limit} bytes inflated")
            out.append(part)
    except zstandard.ZstdError as exc:
        raise ValueError(f"not a zstd stream ({exc})") from None
    return b"".join(out)


def inflate(body: bytes, limit: int = MAX_INFLATED) -> bytes:
    """Gunzip with a ceiling, so a small body cannot expand into gigabytes."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not a gzip body ({exc})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise TooLargeInflated(f"more than {limit // (1024 * 1024)} MB once decompressed")
    if not d.eof:
        raise ValueError("truncated gzip body")
    return out


def accepted_codings(header: str) -> set[str]:
    """The codings an Accept-Encoding header accepts (one with q=0 it refuses)."""
    out = set()
    for item in header.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        q = next((v for k, _, v in (x.partition("=") for x in params) if k.strip() == "q"), "1")
        try:
            if float(q) <= 0:
                continue
        except ValueError:
            continue
        out.add(name.lower())
    return out


class FrameWriter:
    """Writes a streamed answer: one compressed stream over all its frames, flushed at the
    end of each (so each frame can be read as soon as it arrives, and later pages still
    compress against earlier ones); each frame is its length, then its bytes of that stream.
    `coding`: "gzip", or ZSTD (not for a budgeted stream: a zstd stream can't be tried and
    taken back, so `within` needs gzip)."""

    def __init__(self, coding: str = "gzip") -> None:
        self.coding = coding
        self.z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        self._zstd: Any = None  # the zstd compressor in use
        self._bulk = False  # it is the bulk one
        self._fed = 0  # JSON bytes the stream has carried

    def frame(
        self, obj: Any, *, within: int | None = None, bulk: bool = False, last: bool = False
    ) -> bytes | None:
        """The next frame; None (and the stream as it was) if it would take more than
        `within` bytes, so a budget can end the stream cleanly before it. `bulk`: more
        pages follow this one (zstd: the bulk compressor from this frame on). `last` (zstd):
        the frame ends its zstd frame, so bytes another writer made can follow it (a
        prepared priming, fieldtech.hq.priming: the reader reads across zstd frames)."""
        text = json.dumps(obj, separators=(",", ":")).encode()
        if self.coding == ZSTD:
            if within is not None:
                raise ValueError("a stream on a byte budget is gzip'd")
            data = self._zstd_frame(text, bulk, last)
        elif last:
            raise ValueError("only a zstd stream can be joined to another")
        else:
            z = self.z.copy()
            data = z.compress(text) + z.flush(zlib.Z_SYNC_FLUSH)
            if within is not None and 4 + len(data) > within:
                return None
            self.z = z
        return len(data).to_bytes(4, "big") + data

    def _zstd_frame(self, text: bytes, bulk: bool, last: bool = False) -> bytes:
        import zstandard

        data = b""
        if not self._bulk and (bulk or self._fed >= BULK_AFTER):
            if self._zstd is not None:
                data = self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)  # the light one ends
            params = zstandard.ZstdCompressionParameters.from_level(
                ZSTD_BULK_LEVEL, window_log=ZSTD_WINDOW_LOG, search_log=6
            )
            self._zstd = zstandard.ZstdCompressor(compression_params=params).compressobj()
            self._bulk = True
        elif self._zstd is None:
            self._zstd = zstandard.ZstdCompressor(level=3).compressobj()
        self._fed += len(text)
        data += self._zstd.compress(text)
        if last:
            data += self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)
            self._zstd, self._bulk, self._fed = None, False, 0
            return bytes(data)
        return bytes(data + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Frames:
    """Reads frames out of a streamed answer as it arrives: feed chunks, take whole frames
    (gzip or zstd, as the first frame's bytes say). Bytes of a frame not yet complete are
    kept; a frame larger than `limit`, on the wire or once inflated, is refused."""

    def __init__(self, limit: int = MAX_BODY) -> None:
        self.buffer = bytearray()
        self.limit = limit
        self.coding: str | None = None  # told by the first frame's first bytes
        self.z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._zstd: Any = None

    def feed(self, chunk: bytes) -> list[Any]:
        self.buffer += chunk
        out = []
        while len(self.buffer) >= 4:
            size = int.from_bytes(self.buffer[:4], "big")
            if size > self.limit:
                raise ValueError(f"a frame of {size} bytes is larger than {self.limit}")
            if len(self.buffer) < 4 + size:
                break
            data = bytes(self.buffer[4 : 4 + size])
            del self.buffer[: 4 + size]
            out.append(json.loads(self._inflate(data)))
        return out

    def _inflate(self, data: bytes) -> bytes:
        if self.coding is None:
            self.coding = ZSTD if data.startswith(_ZSTD_MAGIC) else "gzip"
            if self.coding == ZSTD:
                import zstandard

                reader = zstandard.ZstdDecompressor(max_window_size=1 << ZSTD_WINDOW_LOG)
                self._zstd = reader.decompressobj(read_across_frames=True)
        if self.coding == ZSTD:
            return unzstd(self._zstd, data, self.limit)
        try:
            text = self.z.decompress(data, self.limit + 1)
        except zlib.error as exc:
            raise ValueError(f"not a gzip stream ({exc})") from None
        if len(text) > self.limit or self.z.unconsumed_tail:
            raise TooLargeInflated(f"a frame of more than {self.limit} bytes inflated")
        return text

    @property
    def partial(self) -> bool:
        """Bytes of an unfinished frame are waiting: the stream was cut inside it."""
        return bool(self.buffer)

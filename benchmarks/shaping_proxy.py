"""A slow, unreliable link on loopback: a TCP proxy between a device and HQ (stdlib only).

    python -m benchmarks.shaping_proxy --listen 8081 --to 127.0.0.1:8080 \\
        --rate-kbit 50 --delay-ms 300 [--drop-answer 1] [--cut-down-after 30000]

Shaping, each way:
- rate: a token bucket in bits/s (1 kbit = 1,000 bits), shared by every connection going
  the same way, as one link is; bytes are let through in slices of ~20 ms of link time, so
  the burst is one slice.
- delay: each slice is delivered `delay` after it passed the rate limit (after it was read
  when there is none), in order. A new connection first waits one round trip (2 × delay)
  before its first byte goes up, as a TCP handshake would on such a link.

Faults, each armed once and spent when it fires:
- drop_answer(n): the n-th request from now is forwarded, HQ answers it in full (so HQ has
  committed), and the client's connection is closed instead of being handed that answer.
  The lost answer still takes its time on the link.
- cut_after(up=n | down=n): the connection carrying the n-th byte from now, that way, is
  closed once exactly n bytes have been delivered.
- sever() / down_after(seconds): the link goes down until restore(): open connections
  are closed, new ones are accepted and reset at once.

Counts: bytes delivered each way (TCP payload: HTTP heads and bodies, not IP overhead),
connections accepted, and HTTP requests, counted from request heads parsed on the way up
(HTTP/1.1 framing: Content-Length and chunked bodies, so keep-alive connections count right).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

UP, DOWN = "up", "down"
READ = 65536
MAX_HEAD = 65536
T = TypeVar("T")


@dataclass
class Counts:
    connections: int = 0
    requests: int = 0  # HTTP request heads seen on the way up
    bytes_up: int = 0  # delivered to HQ
    bytes_down: int = 0  # delivered to the device
    answers_dropped: int = 0
    bytes_dropped: int = 0  # answer bytes HQ sent that the device never got
    cuts: int = 0
    refused: int = 0  # connections reset because the link was down

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class Framer:
    """Follows the HTTP/1.1 messages of one way of a connection: which message each byte
    belongs to and where each ends. Bytes that are not HTTP leave it unframed (message -1)."""

    def __init__(self, answers: bool, methods: list[str]):
        self.answers = answers
        self.methods = methods  # the connection's request methods, in order (HEAD has no body)
        self.index = 0  # the message the next byte belongs to
        self.heads = 0  # request heads parsed so far
        self.targets: list[str] = []  # each request's method and path, in order
        self.state = "head"
        self.buf = bytearray()
        self.left = 0
        self.opaque = False

    def feed(self, data: bytes) -> list[tuple[int, bytes, bool]]:
        """`data` as (message index, bytes, whether that message ends with them)."""
        out: list[tuple[int, bytes, bool]] = []
        pos = start = 0
        while pos < len(data) and not self.opaque:
            try:
                pos, ended = self._step(data, pos)
            except ValueError:
                self.opaque = True
                break
            if ended:
                out.append((self.index, data[start:pos], True))
                self.index += 1
                start = pos
        if start < len(data):
            out.append((-1 if self.opaque else self.index, data[start:], False))
        return out

    def _step(self, data: bytes, pos: int) -> tuple[int, bool]:
        """Consume some of `data` from `pos`: the new position and whether a message ended."""
        if self.state in ("length", "chunk", "crlf"):
            take = min(self.left, len(data) - pos)
            self.left -= take
            if self.left:
                return pos + take, False
            if self.state == "length":
                self.state = "head"
                return pos + take, True
            if self.state == "chunk":
                self.state, self.left = "crlf", 2
            else:
                self.state = "size"
            return pos + take, False
        if self.state == "until-close":
            return len(data), False
        if self.state == "head":
            return self._head(data, pos)
        line, pos = self._line(data, pos)
        if line is None:
            return pos, False
        if self.state == "size":
            size = int(line.split(b";")[0].strip() or b"x", 16)
            self.state, self.left = ("trailer", 0) if size == 0 else ("chunk", size)
            return pos, False
        if line.strip():  # a trailer field; an empty line ends the message
            return pos, False
        self.state = "head"
        return pos, True

    def _line(self, data: bytes, pos: int) -> tuple[bytes | None, int]:
        end = data.find(b"\n", pos)
        if end < 0:
            self.buf += data[pos:]
            if len(self.buf) > MAX_HEAD:
                raise ValueError("line too long")
            return None, len(data)
        line = bytes(self.buf + data[pos:end])
        self.buf.clear()
        return line, end + 1

    def _head(self, data: bytes, pos: int) -> tuple[int, bool]:
        seen = len(self.buf)
        self.buf += data[pos:]
        first = bytes(self.buf[:8]).lstrip(b"\r\n")
        starts = b"HTTP/1." if self.answers else b""
        if len(first) >= 7 and not (
            first.startswith(starts) and (self.answers or first.split(b" ")[0].isupper())
        ):
            raise ValueError("not HTTP")
        end = self.buf.find(b"\r\n\r\n", max(0, seen - 3))
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                raise ValueError("head too long")
            return len(data), False
        head = bytes(self.buf[:end]).lstrip(b"\r\n")
        pos += end + 4 - seen
        self.buf.clear()
        return pos, self._body_after(head)

    def _body_after(self, head: bytes) -> bool:
        """Set up for the body `head` announces; True when the message has none."""
        lines = head.decode("latin-1").split("\r\n")
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip().lower()
        if self.answers:
            status = int(lines[0].split(" ")[1])
            if 100 <= status < 200:
                if status == 101:
                    raise ValueError("switched protocols")
                return False  # an interim answer: the final one follows in the same message
            asked = self.methods[self.index] if self.index < len(self.methods) else "GET"
            if asked == "HEAD" or status in (204, 304):
                return True
        else:
            self.methods.append(lines[0].split(" ")[0])
            self.targets.append(" ".join(lines[0].split(" ")[:2]))
            self.heads += 1
        if "chunked" in fields.get("transfer-encoding", ""):
            self.state = "size"
        elif int(fields.get("content-length", "0")) > 0:
            self.state, self.left = "length", int(fields["content-length"])
        elif self.answers and "content-length" not in fields:
            self.state = "until-close"
        else:
            return True
        return False


class Bucket:
    """A token bucket over bytes; its burst is one slice (~20 ms of link time)."""

    def __init__(self, bits_per_s: float):
        self.rate = bits_per_s / 8
        self.slice = max(1, min(16384, int(self.rate / 50)))
        self.tokens = float(self.slice)
        self.stamp = time.monotonic()

    async def take(self, n: int) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(float(self.slice), self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= n:
                self.tokens -= n
                return
            await asyncio.sleep((n - self.tokens) / self.rate)


_EOF, _CLOSE = object(), object()


class Connection:
    """One device connection and its connection to HQ: two ways, each a reader that frames,
    shapes and queues slices, and a writer that delivers them when they are due."""

    def __init__(self, proxy: ShapingProxy, device: Any, hq: Any, accepted: float):
        self.proxy = proxy
        self.readers = {UP: device[0], DOWN: hq[0]}
        self.writers = {UP: hq[1], DOWN: device[1]}
        self.accepted = accepted
        methods: list[str] = []
        self.framers = {UP: Framer(False, methods), DOWN: Framer(True, methods)}
        self.counted = 0  # request heads of this connection counted so far
        self.dropping: set[int] = set()  # indexes of answers on this connection to lose
        self.queues: dict[str, asyncio.Queue[Any]] = {UP: asyncio.Queue(), DOWN: asyncio.Queue()}
        self.tasks: list[asyncio.Task[None]] = []

    async def run(self) -> None:
        self.tasks = [
            asyncio.ensure_future(coro)
            for way in (UP, DOWN)
            for coro in (self._read(way), self._write(way))
        ]
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.tasks)
        self.close()

    def close(self) -> None:
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        for writer in self.writers.values():
            writer.close()

    async def _read(self, way: str) -> None:
        p = self.proxy
        if way == UP and p.delay:
            await asyncio.sleep(max(0.0, self.accepted + 2 * p.delay - time.monotonic()))
        while True:
            try:
                data = await self.readers[way].read(READ)
            except OSError:
                data = b""
            if not data:
                # HQ closed while its answer was being lost (an answer without a length).
                lost = way == DOWN and self.framers[DOWN].index in self.dropping
                if lost:
                    p._answer_lost(self)
                await self.queues[way].put(_CLOSE if lost else _EOF)
                return
            pieces = self.framers[way].feed(data)
            if way == UP:
                p._requests_seen(self)
            for index, part, ends in pieces:
                if not await self._pass(way, index, part, ends):
                    return

    async def _pass(self, way: str, index: int, data: bytes, ends: bool) -> bool:
        """Shape one framed piece into the queue; False once this way is finished."""
        p = self.proxy
        lost = way == DOWN and index in self.dropping
        bucket = p.buckets[way]
        step = bucket.slice if bucket else len(data) or 1
        for at in range(0, len(data), step):
            piece = data[at : at + step]
            if bucket:
                await bucket.take(len(piece))
            if lost:
                p.counts.bytes_dropped += len(piece)
                continue
            piece, cut = p._through(way, piece)
            await self.queues[way].put((time.monotonic() + p.delay, piece))
            if cut:
                await self.queues[way].put(_CLOSE)
                return False
        if lost and ends:
            p._answer_lost(self)
            await self.queues[way].put(_CLOSE)
            return False
        return True

    async def _write(self, way: str) -> None:
        writer = self.writers[way]
        while True:
            item = await self.queues[way].get()
            if item is _EOF:
                with contextlib.suppress(OSError):
                    if writer.can_write_eof():
                        writer.write_eof()
                return
            if item is _CLOSE:
                with contextlib.suppress(OSError):
                    await writer.drain()
                self.close()
                return
            due, piece = item
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                writer.write(piece)
                await writer.drain()
            except OSError:
                self.close()
                return
            self.proxy._delivered(way, len(piece))


class ShapingProxy:
    """The link. Use it as a context manager (its loop runs in a background thread), or
    `await serve()` inside a loop of your own."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        listen: int = 0,
        rate_kbit: float | None = None,
        rate_kbit_up: float | None = None,
        rate_kbit_down: float | None = None,
        delay_ms: float = 0.0,
    ):
        self.upstream = upstream
        self.listen = listen
        self.port = listen
        self.counts = Counts()
        self._shape = (rate_kbit_up or rate_kbit, rate_kbit_down or rate_kbit, delay_ms)
        self.buckets: dict[str, Bucket | None] = {UP: None, DOWN: None}
        self.delay = delay_ms / 1000
        self._requests_ever = 0
        self.requests_log: list[str] = []  # "METHOD /path" of every request seen, in order
        self._through_ever = {UP: 0, DOWN: 0}
        self._drop_at: int | None = None
        self._cut_at: dict[str, int | None] = {UP: None, DOWN: None}
        self._down = False
        self._down_timer: asyncio.TimerHandle | None = None
        self._open: set[Connection] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- running ---------------------------------------------------------------------------
    async def serve(self) -> None:
        """Start listening (inside the running loop)."""
        self._loop = asyncio.get_running_loop()
        self._apply_shape(*self._shape)
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server:
            self._server.close()
        for conn in list(self._open):
            conn.close()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)
        if self._server:
            await self._server.wait_closed()

    def __enter__(self) -> ShapingProxy:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.serve(), self._loop).result()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop and self._thread
        asyncio.run_coroutine_threadsafe(self.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the proxy's loop (where every count and fault lives) and return its
        result, from any thread."""
        if self._thread is None or threading.current_thread() is self._thread:
            return fn()
        assert self._loop

        async def inside() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(inside(), self._loop).result()

    # -- what a benchmark or test sets and reads --------------------------------------------
    def shape(
        self,
        *,
        rate_kbit: float | None = None,
        rate_kbit_up: float | None = None,
        rate_kbit_down: float | None = None,
        delay_ms: float = 0.0,
    ) -> None:
        """Change the link (None: no rate limit that way) for the slices that follow."""
        up, down = rate_kbit_up or rate_kbit, rate_kbit_down or rate_kbit
        self._call(lambda: self._apply_shape(up, down, delay_ms))

    def _apply_shape(self, up: float | None, down: float | None, delay_ms: float) -> None:
        self.buckets = {UP: Bucket(up * 1000) if up else None}
        self.buckets[DOWN] = Bucket(down * 1000) if down else None
        self.delay = delay_ms / 1000

    def snapshot(self) -> Counts:
        return self._call(lambda: Counts(**self.counts.as_dict()))

    def reset_counts(self) -> None:
        self._call(lambda: setattr(self, "counts", Counts()))

    def drop_answer(self, nth: int = 1) -> None:
        """Lose HQ's answer to the nth request from now."""
        self._call(lambda: setattr(self, "_drop_at", self._requests_ever + nth))

    def cut_after(self, *, up: int | None = None, down: int | None = None) -> None:
        """Cut the connection once exactly `up` (or `down`) more bytes have gone that way."""

        def arm() -> None:
            for way, n in ((UP, up), (DOWN, down)):
                if n is not None:
                    self._cut_at[way] = self._through_ever[way] + n

        self._call(arm)

    def sever(self) -> None:
        """The link goes down: every open connection closes, new ones are reset."""

        def down() -> None:
            self._down = True
            for conn in list(self._open):
                conn.close()

        self._call(down)

    def down_after(self, seconds: float) -> None:
        def arm() -> None:
            assert self._loop
            self._down_timer = self._loop.call_later(seconds, self.sever)

        self._call(arm)

    def restore(self) -> None:
        """The link is back up; a down_after that has not fired yet no longer will."""

        def up() -> None:
            self._down = False
            if self._down_timer:
                self._down_timer.cancel()
                self._down_timer = None

        self._call(up)

    # -- inside the loop ---------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted = time.monotonic()
        if self._down:
            self.counts.refused += 1
            writer.transport.abort()
            return
        self.counts.connections += 1
        try:
            hq = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        conn = Connection(self, (reader, writer), hq, accepted)
        self._open.add(conn)
        task = asyncio.current_task()
        assert task
        self._handlers.add(task)
        try:
            await conn.run()
        finally:
            self._open.discard(conn)
            self._handlers.discard(task)

    def _requests_seen(self, conn: Connection) -> None:
        """Count the request heads just parsed on `conn`; the one a drop waits for marks
        its answer (the same index on that connection) to be lost."""
        while conn.counted < conn.framers[UP].heads:
            conn.counted += 1
            self.requests_log.append(conn.framers[UP].targets[conn.counted - 1])
            self._requests_ever += 1
            self.counts.requests += 1
            if self._requests_ever == self._drop_at:
                self._drop_at = None
                conn.dropping.add(conn.counted - 1)

    def _answer_lost(self, conn: Connection) -> None:
        self.counts.answers_dropped += 1
        conn.dropping.clear()

    def _through(self, way: str, piece: bytes) -> tuple[bytes, bool]:
        """What of `piece` may go on before a cut that way, and whether the cut is here."""
        limit = self._cut_at[way]
        before = self._through_ever[way]
        if limit is not None and before + len(piece) >= limit:
            piece = piece[: limit - before]
            self._cut_at[way] = None
            self.counts.cuts += 1
            self._through_ever[way] = limit
            return piece, True
        self._through_ever[way] = before + len(piece)
        return piece, False

    def _delivered(self, way: str, n: int) -> None:
        if way == UP:
            self.counts.bytes_up += n
        else:
            self.counts.bytes_down += n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    ap.add_argument("--to", required=True, help="HOST:PORT of HQ")
    ap.add_argument("--rate-kbit", type=float, help="each way, in kbit/s")
    ap.add_argument("--rate-kbit-up", type=float)
    ap.add_argument("--rate-kbit-down", type=float)
    ap.add_argument("--delay-ms", type=float, default=0.0, help="one way")
    ap.add_argument("--drop-answer", type=int, metavar="N", help="lose the answer to request N")
    ap.add_argument("--cut-up-after", type=int, metavar="BYTES")
    ap.add_argument("--cut-down-after", type=int, metavar="BYTES")
    ap.add_argument("--down-after-s", type=float, metavar="SECONDS", help="then the link is down")
    args = ap.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    proxy = ShapingProxy(
        (host or "127.0.0.1", int(port)),
        listen=args.listen,
        rate_kbit=args.rate_kbit,
        rate_kbit_up=args.rate_kbit_up,
        rate_kbit_down=args.rate_kbit_down,
        delay_ms=args.delay_ms,
    )

    async def run() -> None:
        await proxy.serve()
        if args.drop_answer:
            proxy.drop_answer(args.drop_answer)
        if args.cut_up_after is not None or args.cut_down_after is not None:
            proxy.cut_after(up=args.cut_up_after, down=args.cut_down_after)
        if args.down_after_s is not None:
            proxy.down_after(args.down_after_s)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        print(f"shaping {proxy.url} -> {args.to}; Ctrl-C prints the counts", flush=True)
        await stop.wait()
        await proxy.aclose()

    asyncio.run(run())
    print(proxy.counts.as_dict())


if __name__ == "__main__":
    main()

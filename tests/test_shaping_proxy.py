"""The benchmarks' slow link (benchmarks/shaping_proxy.py) against tiny local servers: the
rate and delay it promises, exact byte and request counts, a lost answer and a cut."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from benchmarks.shaping_proxy import Framer, ShapingProxy

WAIT = 5.0


class Server:
    """A loopback server handling each connection with `handle(conn, record)` in a thread."""

    def __init__(self, handle: Callable[[socket.socket, list[bytes]], None]):
        self.handle = handle
        self.received: list[bytes] = []  # what handlers chose to record, in order
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(WAIT)
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        # OSError: the proxy cut or reset the connection, as the test wanted
        with conn, contextlib.suppress(OSError):
            self.handle(conn, self.received)

    def close(self) -> None:
        self.sock.close()


def until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.005)


def read_all(conn: socket.socket) -> bytes:
    """Everything until the other side closes (a reset counts as closing)."""
    out = bytearray()
    while True:
        try:
            data = conn.recv(65536)
        except ConnectionResetError:
            return bytes(out)
        if not data:
            return bytes(out)
        out += data


def read_exactly(conn: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        data = conn.recv(n - len(out))
        assert data, f"closed after {len(out)} of {n} bytes"
        out += data
    return bytes(out)


def connect(proxy: ShapingProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT)


# -- a tiny HTTP/1.1 server: keep-alive, Content-Length requests; /chunked answers chunked ---
def http_request(path: str, body: bytes = b"") -> bytes:
    return f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def http_answer(body: bytes, chunked: bool = False) -> bytes:
    if not chunked:
        return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    half = len(body) // 2
    chunks = b"".join(
        f"{len(part):x};x=1\r\n".encode() + part + b"\r\n" for part in (body[:half], body[half:])
    )
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + chunks + b"0\r\nX-T: 1\r\n\r\n"  # a trailer field after the last chunk


def answer_for(path: str, body: bytes) -> bytes:
    return http_answer(b"got %d bytes for %s" % (len(body), path.encode()), path == "/chunked")


def http_handler(conn: socket.socket, record: list[bytes]) -> None:
    f = conn.makefile("rb")
    while True:
        line = f.readline()
        if not line:
            return
        path = line.split()[1].decode()
        length = 0
        while (header := f.readline()) not in (b"\r\n", b""):
            name, _, value = header.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        body = f.read(length)
        record.append(body)
        conn.sendall(answer_for(path, body))


def read_answer(conn: socket.socket, expected: bytes) -> bytes:
    return read_exactly(conn, len(expected))


@pytest.fixture
def http_server() -> Iterator[Server]:
    s = Server(http_handler)
    yield s
    s.close()


# -- rate ---------------------------------------------------------------------------------
def test_the_rate_limit_holds_on_the_way_up():
    def sink(conn: socket.socket, record: list[bytes]) -> None:
        record.append(read_exactly(conn, 20_000))
        conn.sendall(b"ok")

    server = Server(sink)
    with ShapingProxy(server.address, rate_kbit_up=80) as proxy, connect(proxy) as c:
        t0 = time.monotonic()
        c.sendall(bytes(20_000))
        assert read_exactly(c, 2) == b"ok"
        took = time.monotonic() - t0
        counts = proxy.snapshot()
    server.close()
    # 20,000 bytes at 10,000 bytes/s, less one slice of burst (200 bytes)
    assert took >= 1.95
    assert took < 3.0
    assert counts.bytes_up == 20_000
    assert counts.bytes_down == 2


def test_the_rate_limit_holds_on_the_way_down():
    def source(conn: socket.socket, record: list[bytes]) -> None:
        read_exactly(conn, 2)
        conn.sendall(bytes(10_000))

    server = Server(source)
    with ShapingProxy(server.address, rate_kbit_down=80) as proxy, connect(proxy) as c:
        c.sendall(b"go")
        t0 = time.monotonic()
        assert len(read_exactly(c, 10_000)) == 10_000
        took = time.monotonic() - t0
    server.close()
    assert took >= 0.97
    assert took < 2.0


# -- delay --------------------------------------------------------------------------------
def echo(conn: socket.socket, record: list[bytes]) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def test_delay_adds_two_delays_to_a_round_trip_and_keeps_the_order():
    server = Server(echo)
    with ShapingProxy(server.address, delay_ms=100) as proxy, connect(proxy) as c:
        t0 = time.monotonic()
        c.sendall(b"first")
        assert read_exactly(c, 5) == b"first"
        first = time.monotonic() - t0  # a new connection waits one round trip more
        t0 = time.monotonic()
        c.sendall(b"again")
        assert read_exactly(c, 5) == b"again"
        again = time.monotonic() - t0
        sent = b"".join(b"%04d" % i for i in range(200))
        for i in range(0, len(sent), 4):
            c.sendall(sent[i : i + 4])
        assert read_exactly(c, len(sent)) == sent
    server.close()
    assert first >= 0.4
    assert 0.2 <= again < 0.6


# -- counts -------------------------------------------------------------------------------
def test_bytes_requests_and_connections_are_counted_exactly(http_server):
    bodies = [b"", b"a" * 5000, b"reading 42"]
    with ShapingProxy(http_server.address) as proxy:
        up = down = 0
        with connect(proxy) as c:
            for i, body in enumerate(bodies):
                request = http_request(f"/r{i}", body)
                c.sendall(request)
                answer = answer_for(f"/r{i}", body)
                assert read_answer(c, answer) == answer
                up, down = up + len(request), down + len(answer)
        with connect(proxy) as c:
            request = http_request("/chunked", b"xyz")
            c.sendall(request)
            answer = answer_for("/chunked", b"xyz")
            assert read_answer(c, answer) == answer
            up, down = up + len(request), down + len(answer)
        until(lambda: proxy.snapshot().bytes_down == down)
        counts = proxy.snapshot()
        proxy.reset_counts()
        after_reset = proxy.snapshot()
    assert counts.connections == 2
    assert counts.requests == 4
    assert counts.bytes_up == up
    assert counts.bytes_down == down
    assert after_reset.requests == after_reset.bytes_up == 0


def test_the_framer_finds_each_message_however_the_bytes_arrive():
    stream = (
        http_request("/a", b"x" * 10)
        + b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    framer = Framer(False, [])
    ends = []
    seen = 0
    for i in range(len(stream)):  # one byte at a time: every boundary split somewhere
        for index, part, ended in framer.feed(stream[i : i + 1]):
            seen += len(part)
            if ended:
                ends.append((index, seen))
    assert framer.heads == 3
    assert [e[0] for e in ends] == [0, 1, 2]
    assert ends[-1][1] == len(stream)
    assert framer.methods == ["POST", "GET", "POST"]


# -- faults -------------------------------------------------------------------------------
def test_a_dropped_answer_reaches_hq_in_full_and_the_device_gets_nothing(http_server):
    body = b"n" * 5000
    with ShapingProxy(http_server.address) as proxy:
        proxy.drop_answer(2)
        with connect(proxy) as c:
            c.sendall(http_request("/first", b"one"))
            first = answer_for("/first", b"one")
            assert read_answer(c, first) == first
            c.sendall(http_request("/chunked", body))
            assert read_all(c) == b""
        until(lambda: proxy.snapshot().answers_dropped == 1)
        counts = proxy.snapshot()
        with connect(proxy) as c:  # the fault is spent: the next request is answered
            c.sendall(http_request("/third", b"3"))
            third = answer_for("/third", b"3")
            assert read_answer(c, third) == third
    assert http_server.received == [b"one", body, b"3"]
    assert counts.bytes_down == len(first)
    assert counts.bytes_dropped == len(answer_for("/chunked", body))  # HQ answered in full
    assert counts.requests == 2


def test_a_cut_on_the_way_down_delivers_exactly_n_bytes():
    def source(conn: socket.socket, record: list[bytes]) -> None:
        read_exactly(conn, 2)
        conn.sendall(bytes(range(256)) * 40)

    server = Server(source)
    with ShapingProxy(server.address) as proxy:
        proxy.cut_after(down=1234)
        with connect(proxy) as c:
            c.sendall(b"go")
            got = read_all(c)
        counts = proxy.snapshot()
    server.close()
    assert got == (bytes(range(256)) * 40)[:1234]
    assert counts.bytes_down == 1234
    assert counts.cuts == 1


def test_a_cut_on_the_way_up_delivers_exactly_n_bytes():
    def sink(conn: socket.socket, record: list[bytes]) -> None:
        record.append(read_all(conn))

    server = Server(sink)
    with ShapingProxy(server.address, rate_kbit=800) as proxy:
        proxy.cut_after(up=777)
        with connect(proxy) as c:
            with contextlib.suppress(OSError):  # the proxy may close before taking it all
                c.sendall(bytes(10_000))
            assert read_all(c) == b""
        until(lambda: len(server.received) == 1)
    server.close()
    assert len(server.received[0]) == 777


def test_a_severed_link_closes_what_is_open_and_resets_what_comes_until_restored(http_server):
    with ShapingProxy(http_server.address) as proxy:
        with connect(proxy) as c:
            c.sendall(http_request("/a"))
            answer = answer_for("/a", b"")
            assert read_answer(c, answer) == answer
            proxy.sever()
            assert read_all(c) == b""
        with connect(proxy) as c:
            with contextlib.suppress(OSError):  # reset already, or only when reading
                c.sendall(http_request("/b"))
            assert read_all(c) == b""
        counts = proxy.snapshot()
        proxy.restore()
        with connect(proxy) as c:
            c.sendall(http_request("/c"))
            answer = answer_for("/c", b"")
            assert read_answer(c, answer) == answer
    assert counts.refused == 1
    assert http_server.received == [b"", b""]  # /a, then /c once the link was back

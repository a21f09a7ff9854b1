"""HQ's memory per request stays bounded by the body cap, on every endpoint, signed in or
not: measured on a real HQ process (its VmRSS) while 200 MB bodies are streamed at it."""

from __future__ import annotations

import contextlib
import gzip
import json
import select
import socket
import zlib
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.integration

MB = 1024 * 1024
GROWTH_MB = 50


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def lazily(total: int, chunk: int = 256 * 1024):
    """`total` bytes of a JSON-looking body, made as they are sent."""
    piece = b'{"code": "' + b"A" * (chunk - 10)
    sent = 0
    while sent < total:
        yield piece
        sent += len(piece)


def stream(url: str, path: str, chunks, headers: dict[str, str], chunked: bool = True):
    """Send a request body piece by piece over a raw socket, stopping as soon as HQ answers
    (a real client cannot read before it has written all when using httpx). Returns the
    status, the answer's body and how many body bytes went out."""
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    head = [f"POST {path} HTTP/1.1", f"Host: {u.hostname}", "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    answer = b""
    s.setblocking(False)
    try:
        for piece in chunks:
            data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            view = memoryview(data)
            while view:
                try:
                    n = s.send(view)
                    view = view[n:]
                except BlockingIOError:
                    # Wait until HQ reads more of the body, or answers, whichever comes first.
                    select.select([s], [s], [], 1.0)
                except (BrokenPipeError, ConnectionResetError):
                    view = None  # HQ stopped reading: its answer waits in the socket
                    break
                with contextlib.suppress(BlockingIOError):
                    answer += s.recv(65536)
                if answer:
                    break
            sent += len(piece)
            if answer or view is None:
                break
        else:
            if chunked:
                s.sendall(b"0\r\n\r\n")
        s.setblocking(True)
        s.settimeout(30)
        while not _complete(answer):  # headers and body may come in separate packets
            more = s.recv(65536)
            if not more:
                break
            answer += more
    finally:
        s.close()
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    return status, answer.split(b"\r\n\r\n", 1)[-1], sent


def _complete(answer: bytes) -> bool:
    """Whether an HTTP answer holds its head and the whole body its Content-Length says."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


@pytest.fixture
def technician(hq, tmp_path):
    from tests.integration.conftest import enroll_device

    user = hq.add_user("Tenzin Dorje")
    phone = enroll_device(hq, tmp_path / "tech", user["enrollment_code"])
    token = json.loads((tmp_path / "tech" / "config" / "credential.json").read_text())["token"]
    yield phone, token
    phone.close()


def test_a_200_mb_body_is_refused_without_hq_holding_it(hq, technician):
    phone, token = technician
    pid = hq.proc.pid
    # Warm up the paths once (imports, pools), then measure.
    stream(hq.url, "/v1/enroll", lazily(MB), {})
    before = rss_mb(pid)
    cases = [
        ("/v1/enroll", {}, True),  # no credential at all, chunked: no Content-Length
        ("/v1/sync", {"Authorization": f"Bearer {token}"}, True),
        ("/v1/parts", {"Authorization": f"Bearer {hq.admin_token}"}, True),
        ("/v1/enroll", {"Content-Length": str(200 * MB)}, False),  # declared: refused unread
    ]
    for path, headers, chunked in cases:
        status, body, sent = stream(hq.url, path, lazily(200 * MB), headers, chunked)
        assert status == 413, (path, status, body[:200])
        assert "too large" in json.loads(body)["detail"]
        assert sent < 40 * MB, (path, sent)  # refused early, not after reading it all
        grew = rss_mb(pid) - before
        assert grew < GROWTH_MB, (path, f"HQ grew by {grew:.0f} MB")


def test_a_gzip_bomb_is_bounded_once_inflated(hq, technician):
    phone, token = technician
    pid = hq.proc.pid
    body = json.dumps({"device": phone.device.device_id, "ops": []}).encode()
    ok = stream(
        hq.url,
        "/v1/sync",
        [gzip.compress(body)],
        {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    assert ok[0] == 200
    before = rss_mb(pid)
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = z.compress(b" " * (1024 * MB)) + z.flush()  # 1 GB of spaces in about 1 MB
    assert len(bomb) < 2 * MB
    status, answer, _ = stream(
        hq.url,
        "/v1/sync",
        [bomb],
        {"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    assert status == 413, answer[:200]
    assert "decompressed" in json.loads(answer)["detail"]
    assert rss_mb(pid) - before < GROWTH_MB


def test_a_zstd_bomb_and_a_garbled_zstd_body_are_refused_with_memory_bounded(hq, technician):
    import zstandard

    phone, token = technician
    pid = hq.proc.pid
    auth = {"Authorization": f"Bearer {token}", "Content-Encoding": "zstd"}
    body = json.dumps({"device": phone.device.device_id, "ops": []}).encode()
    ok = stream(hq.url, "/v1/sync", [zstandard.ZstdCompressor().compress(body)], auth)
    assert ok[0] == 200, ok[1][:200]
    before = rss_mb(pid)
    z = zstandard.ZstdCompressor(level=3).compressobj()
    bomb = b"".join(z.compress(b" " * MB) for _ in range(1024)) + z.flush()  # 1 GB of spaces
    assert len(bomb) < 2 * MB
    status, answer, _ = stream(hq.url, "/v1/sync", [bomb], auth)
    assert status == 413, answer[:200]
    assert "decompressed" in json.loads(answer)["detail"]
    assert rss_mb(pid) - before < GROWTH_MB
    garbled = b"\x28\xb5\x2f\xfd" + bytes(range(200))
    status, answer, _ = stream(hq.url, "/v1/sync", [garbled], auth)
    assert status == 400 and "zstd" in json.loads(answer)["detail"], answer[:200]
    cut = zstandard.ZstdCompressor().compress(body * 50)[:-20]
    status, answer, _ = stream(hq.url, "/v1/sync", [cut], auth)
    assert status == 400, answer[:200]

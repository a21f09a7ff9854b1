"""A device speaks zstd with an HQ of this release: it asks for zstd frames, and once HQ
has answered in them it sends its own bodies in zstd too (protocol.BODY_ZSTD_LEVEL)."""

from __future__ import annotations

import httpx
import pytest

from fieldtech.services import jobs
from fieldtech.sync.client import HQ_READS_ZSTD
from tests.integration.world import World

pytestmark = pytest.mark.integration


class Recording(httpx.HTTPTransport):
    """The real transport, noting each request's body coding and size."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str | None, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sent.append((request.headers.get("content-encoding"), len(body)))
        return super().handle_request(request)


def test_a_device_sends_zstd_once_hq_has_answered_in_zstd_and_nothing_is_lost(tmp_path):
    world = World.start(tmp_path)
    try:
        phone = world.phone("Ana")
        job = world.job(phone.user_id)
        recording = Recording()
        phone.link.inner = recording
        phone.client.sync()  # the job arrives, in zstd frames
        assert phone.store.meta(HQ_READS_ZSTD) == "1"
        phone.store.set_meta(HQ_READS_ZSTD, None)  # as a device of the release before
        for i in range(40):
            jobs.note(phone.device, job["id"], f"first week, note {i}: the fan hums at speed 3")
        phone.client.sync()  # HQ not known to read zstd: the body goes gzip'd
        assert recording.sent[-1][0] == "gzip"
        assert phone.store.meta(HQ_READS_ZSTD) == "1"  # learnt again from the answer
        for i in range(400):
            jobs.note(phone.device, job["id"], f"second week, note {i}: the fan hums at speed 3")
        phone.client.sync()
        coding, size = recording.sent[-1]
        assert coding == "zstd"
        assert size < 400 * 10  # a few bytes a note
        notes = world.rows("job_events", job_id=job["id"], kind="note")
        assert len(notes) == 440
        assert len({n["id"] for n in notes}) == 440
        assert phone.store.outbox_counts().get("pending", 0) == 0  # all acknowledged
    finally:
        world.stop()


class OlderHQ(Recording):
    """HQ of the release before, in front of this one: it reads no zstd body (400, nothing
    applied) and answers in gzip frames whatever the device asks for."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.sent.append((request.headers.get("content-encoding"), len(body)))
        if request.headers.get("content-encoding") == "zstd":
            return httpx.Response(400, json={"detail": "sync body unreadable: not JSON"})
        request.headers["Accept-Encoding"] = "gzip"
        return httpx.HTTPTransport.handle_request(self, request)


def test_a_device_that_learnt_zstd_goes_back_to_gzip_when_hq_no_longer_reads_it(tmp_path):
    world = World.start(tmp_path)
    try:
        phone = world.phone("Ana")
        job = world.job(phone.user_id)
        phone.client.sync()
        assert phone.store.meta(HQ_READS_ZSTD) == "1"
        phone.link.inner = older = OlderHQ()  # HQ rolled back to the release before
        phone.client.backoff.attempts = 3
        for i in range(200):
            jobs.note(phone.device, job["id"], f"note {i}: the fan hums at speed 3")
        phone.client.sync()
        assert older.sent[0][0] == "zstd" and older.sent[-1][0] == "gzip"
        assert phone.store.meta(HQ_READS_ZSTD) is None
        assert len(world.rows("job_events", job_id=job["id"], kind="note")) == 200
        assert phone.store.outbox_counts().get("pending", 0) == 0
        phone.client.sync()  # and stays on gzip
        assert older.sent[-1][0] in ("gzip", None)
    finally:
        world.stop()

"""The device's wait for work, over a mock HQ: what each answer means, when it asks again,
how it backs off, and that it never turns a hint into a loop."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from fieldtech.sync.waiter import Heard, Waiter

QUICK = {"spacing": 0.01, "first_retry": 0.05, "max_retry": 0.4, "not_offered_retry": 60.0}


class MockHQ:
    """Answers /v1/wait with what `answer(cursor)` says, counting the requests."""

    def __init__(self, answer: Callable[[int], httpx.Response]):
        self.answer = answer
        self.asked: list[tuple[float, int]] = []  # (when, cursor)
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/wait"
        assert request.headers["authorization"] == "Bearer t0ken"
        cursor = int(request.url.params["cursor"])
        with self.lock:
            self.asked.append((time.monotonic(), cursor))
        return self.answer(cursor)

    @property
    def cursors(self) -> list[int]:
        with self.lock:
            return [c for _, c in self.asked]


def waiter(hq: MockHQ, on_changes: Callable[[], None] = lambda: None, **kw) -> Waiter:
    options = {**QUICK, **kw}
    return Waiter(
        "http://hq.test/", "t0ken", on_changes, transport=httpx.MockTransport(hq), **options
    )


def until(condition: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout}s still waiting for {what}")
        time.sleep(0.005)


def ask_by_hand(w: Waiter, cursor: int) -> Heard:
    """One wait without the thread (a wait is held only while armed, so mark it armed)."""
    w._cursor = cursor
    return w.ask(cursor)


def changes(value: bool) -> Callable[[int], httpx.Response]:
    return lambda _cursor: httpx.Response(200, json={"changes": value})


@pytest.mark.parametrize(
    ("response", "heard"),
    [
        (httpx.Response(200, json={"changes": True}), Heard.CHANGES),
        (httpx.Response(200, json={"changes": False}), Heard.NOTHING),
        (httpx.Response(404, json={"detail": "Not Found"}), Heard.NOT_OFFERED),
        (httpx.Response(405), Heard.NOT_OFFERED),
        (httpx.Response(401, json={"detail": "revoked"}), Heard.REFUSED),
        (httpx.Response(403, json={"detail": "no"}), Heard.REFUSED),
        (httpx.Response(500), Heard.FAILED),
        (httpx.Response(502, text="<html>bad gateway</html>"), Heard.FAILED),
        (httpx.Response(200, text="{not json"), Heard.FAILED),
        (httpx.Response(200, json={"changes": "yes"}), Heard.FAILED),
        (httpx.Response(200, json=["changes"]), Heard.FAILED),
    ],
)
def test_each_answer_means_one_thing(response, heard):
    hq = MockHQ(lambda _c: response)
    w = waiter(hq)
    assert ask_by_hand(w, 7) is heard
    assert hq.cursors == [7]
    w.close()


def test_the_request_names_the_cursor_and_how_long_hq_may_hold_it():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"changes": False})

    w = Waiter("http://hq.test", "t0ken", lambda: None, transport=httpx.MockTransport(answer))
    assert ask_by_hand(w, 41) is Heard.NOTHING
    assert seen[0].url.params["cursor"] == "41"
    assert float(seen[0].url.params["timeout"]) == 25.0  # under the 30 s HQ allows
    w.close()


def test_hq_unreachable_is_a_failure_not_a_crash():
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    w = Waiter("http://hq.test", "t", lambda: None, transport=httpx.MockTransport(unreachable))
    assert ask_by_hand(w, 1) is Heard.FAILED
    w.close()


def test_changes_are_told_once_and_nothing_is_asked_until_the_next_sync_arms_it():
    hq = MockHQ(changes(True))
    told = threading.Event()
    calls: list[int] = []

    def on_changes() -> None:
        calls.append(1)
        told.set()

    w = waiter(hq, on_changes)
    w.arm(5)
    assert told.wait(5)
    time.sleep(0.1)  # would be time enough for several more waits, if it asked again
    assert calls == [1] and hq.cursors == [5] and not w.armed
    told.clear()
    w.arm(9)  # the sync brought the changes: the cursor moved
    assert told.wait(5)
    assert hq.cursors == [5, 9] and len(calls) == 2
    w.close()


def test_nothing_at_the_timeout_means_wait_again_with_the_same_cursor_but_never_in_a_loop():
    hq = MockHQ(changes(False))  # an HQ (or a proxy) that answers "nothing" at once
    w = waiter(hq, spacing=0.05)
    w.arm(3)
    until(lambda: len(hq.cursors) >= 4, "four waits")
    w.close()
    times = [t for t, _ in hq.asked]
    assert set(hq.cursors) == {3}
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.045  # at most one wait per `spacing`


def test_failures_back_off_doubling_up_to_a_ceiling_and_a_good_sync_starts_afresh():
    hq = MockHQ(lambda _c: httpx.Response(503))
    always_most = random.Random()
    always_most.uniform = lambda a, b: b  # type: ignore[method-assign]
    w = waiter(hq, first_retry=0.05, max_retry=0.2, rng=always_most)
    w.arm(1)
    until(lambda: len(hq.cursors) >= 5, "five failed waits")
    times = [t for t, _ in hq.asked]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Lower bounds are the backoff; upper ones only leave room for a busy machine.
    for gap, expected in zip(gaps, (0.05, 0.1, 0.2, 0.2), strict=False):  # 0.2: the ceiling
        assert expected * 0.9 <= gap <= expected + 0.15, gaps
    hq.answer = changes(True)
    told = threading.Event()
    w._on_changes = told.set
    w.arm(2)  # a sync went well: the wait starts again at once, not after the ceiling
    armed_at = time.monotonic()
    assert told.wait(5)
    assert time.monotonic() - armed_at < 0.19  # under the ceiling it had reached
    w.close()


def test_an_hq_without_the_route_is_left_alone_and_polling_carries_on():
    hq = MockHQ(lambda _c: httpx.Response(404, json={"detail": "Not Found"}))
    w = waiter(hq, not_offered_retry=60.0)
    w.arm(1)
    until(lambda: hq.cursors == [1], "the first wait")
    w.arm(2)  # later syncs go on arming it
    w.arm(3)
    time.sleep(0.2)
    assert hq.cursors == [1]  # not asked again for a long while
    w.close()


def test_a_hint_the_next_sync_finds_nothing_for_backs_off():
    """HQ says "changes" but the sync that follows leaves the cursor where it was: the
    wait and the pull disagree. Syncing again at once would loop; it backs off."""
    hq = MockHQ(changes(True))
    told: list[float] = []
    always_most = random.Random()
    always_most.uniform = lambda a, b: b  # type: ignore[method-assign]
    w = waiter(hq, lambda: told.append(time.monotonic()), first_retry=0.3, rng=always_most)
    w.arm(4)
    until(lambda: len(told) == 1, "the first hint")
    armed_again = time.monotonic()
    w.arm(4)  # the sync moved nothing
    until(lambda: len(told) == 2, "the second hint")
    assert told[1] - armed_again >= 0.25
    w.close()


def test_a_newer_cursor_armed_during_a_wait_replaces_the_old_answer():
    """A poll synced while a wait was held: what that wait says is about the old cursor,
    so it is asked again with the new one rather than told to the app."""
    gate = threading.Event()
    told: list[int] = []

    def answer(cursor: int) -> httpx.Response:
        if cursor == 1:
            gate.wait(5)  # held until the test has armed the newer cursor
            return httpx.Response(200, json={"changes": True})
        return httpx.Response(200, json={"changes": False})

    hq = MockHQ(answer)
    w = waiter(hq, lambda: told.append(1))
    w.arm(1)
    until(lambda: hq.cursors == [1], "the wait on cursor 1")
    w.arm(8)
    gate.set()
    until(lambda: 8 in hq.cursors, "a wait on cursor 8")
    time.sleep(0.05)
    assert told == []  # the old "changes" was not passed on
    w.close()


def test_pause_holds_nothing_until_armed_and_close_ends_the_thread():
    hq = MockHQ(changes(False))
    w = waiter(hq, spacing=0.02)
    w.arm(1)
    until(lambda: len(hq.cursors) >= 2, "waiting")
    w.pause()
    time.sleep(0.05)
    n = len(hq.cursors)
    time.sleep(0.1)
    assert len(hq.cursors) == n and not w.armed
    w.arm(1)
    until(lambda: len(hq.cursors) > n, "waiting again once armed")
    thread = w._thread
    w.close()
    assert thread is not None
    thread.join(5)
    assert not thread.is_alive()
    w.arm(2)  # a sync finishing after the app closed: nothing starts again
    assert not w.armed


def test_the_app_failing_to_hear_does_not_end_the_waiting():
    hq = MockHQ(changes(True))
    calls: list[int] = []

    def on_changes() -> None:
        calls.append(1)
        raise RuntimeError("the app is closing")

    w = waiter(hq, on_changes)
    w.arm(1)
    until(lambda: calls == [1], "the first hint")
    w.arm(2)
    until(lambda: calls == [1, 1], "the second hint")
    w.close()

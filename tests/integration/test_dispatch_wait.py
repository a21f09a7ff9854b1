"""Dispatch in seconds: a device holding /v1/wait hears of new work for it at once, against a
real HQ on 127.0.0.1; an HQ without the wait (or with a broken one) still gets work to the
device by polling; held waits cost HQ next to nothing and end when the device goes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

import fieldtech.app_sync as app_sync
from fieldtech.app import build_app
from fieldtech.paths import Locations
from fieldtech.screens.job_table import JobTable
from fieldtech.sync.agent import SyncAgent
from fieldtech.sync.waiter import Heard, Waiter
from tests.app_support import until

pytestmark = pytest.mark.integration

FEW_SECONDS = 3.0  # the goal is 5 s at p95; one dispatch on loopback must do better


def wait_until(condition: Callable[[], object], what: str, timeout: float = 5.0) -> float:
    """Poll `condition` to a deadline; the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"after {timeout}s still waiting for {what}")
        time.sleep(0.01)
    return time.monotonic() - start


def token_of(handset) -> str:
    return handset.client.http.headers["Authorization"].removeprefix("Bearer ")


def new_job(hq, technician: str, summary: str = "Not cooling") -> dict:
    """A job dispatched through HQ's API: the HQ process commits it itself."""
    spec = {
        "kind": "repair",
        "summary": summary,
        "customer_name": f"Customer of {technician}",
        "address": "1 Station St",
        "technician": technician,
        "priority": "emergency",  # first in the queue, whatever else it holds
    }
    with hq.api() as api:
        r = api.post("/v1/jobs", json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def cli_job(hq, technician: str) -> dict:
    """A job dispatched by `fieldtech hq dispatch`: another process writes the database."""
    return hq.cli_json(
        "dispatch",
        "--kind",
        "repair",
        "--summary",
        "Leaking",
        "--customer",
        f"Other customer of {technician}",
        "--address",
        "2 Station St",
        "--technician",
        technician,
    )


def hold(url: str, token: str, cursor: int, seconds: float) -> tuple[dict, float]:
    """One raw wait: its answer and how long HQ held it."""
    start = time.monotonic()
    r = httpx.get(
        url + "/v1/wait",
        params={"cursor": cursor, "timeout": seconds},
        headers={"Authorization": f"Bearer {token}"},
        timeout=seconds + 10,
    )
    assert r.status_code == 200, r.text
    return r.json(), time.monotonic() - start


# -- against `fieldtech hq serve` -----------------------------------------------------------------


def test_a_job_dispatched_while_a_device_waits_is_heard_of_in_seconds(hq, handset):
    tech = handset("Tenzin Dorje")
    tech.sync()
    heard = threading.Event()
    waiter = Waiter(hq.url, token_of(tech), heard.set)
    try:
        for dispatch in (lambda: new_job(hq, "tenzin-dorje"), lambda: cli_job(hq, "tenzin-dorje")):
            waiter.arm(tech.store.pull_cursor())
            time.sleep(0.3)  # the wait is held at HQ before the job exists
            assert not heard.is_set()
            job = dispatch()
            took = wait_until(heard.is_set, "HQ to say there are changes")
            assert took < FEW_SECONDS, took
            heard.clear()
            report = tech.sync()  # the app's normal sync brings the job
            assert tech.store.job_card(job["id"])["ref"] == job["ref"]
            assert report.pulled >= 1
    finally:
        waiter.close()


def test_a_wait_answers_only_for_what_is_in_its_own_scope(hq, handset):
    tenzin, kofi = handset("Tenzin Dorje"), handset("Kofi Mensah")
    supervisor = handset("Lhamo Sup", role="supervisor", team="south")
    for h in (tenzin, kofi, supervisor):
        h.sync()
    cursor = tenzin.store.pull_cursor()
    threading.Timer(0.5, lambda: new_job(hq, "kofi-mensah")).start()
    answer, held = hold(hq.url, token_of(tenzin), cursor, 2)
    assert answer == {"changes": False} and held >= 1.9  # Kofi's job is not Tenzin's news
    answer, held = hold(hq.url, token_of(supervisor), supervisor.store.pull_cursor(), 1)
    assert answer == {"changes": False}  # nor a supervisor's of another team
    threading.Timer(0.5, lambda: new_job(hq, "tenzin-dorje")).start()
    answer, held = hold(hq.url, token_of(tenzin), cursor, 10)
    assert answer == {"changes": True} and held < FEW_SECONDS


def test_a_wait_is_authenticated_and_bounded(hq, handset):
    tech = handset("Tenzin Dorje")
    tech.sync()
    url = hq.url + "/v1/wait"
    assert httpx.get(url, params={"timeout": 0}).status_code == 401
    garbage = {"Authorization": "Bearer ft_not-a-real-token"}
    assert httpx.get(url, params={"timeout": 0}, headers=garbage).status_code == 401
    mine = {"Authorization": f"Bearer {token_of(tech)}"}
    for params in ({"timeout": 31}, {"timeout": -1}, {"cursor": -1}, {"cursor": 2**63}):
        r = httpx.get(url, params=params, headers=mine)
        assert r.status_code == 422 and r.json()["detail"].startswith("request refused"), params
    # Everything is news to a device that has nothing yet; nothing is after its cursor.
    assert hold(hq.url, token_of(tech), 0, 10)[0] == {"changes": True}
    answer, held = hold(hq.url, token_of(tech), tech.store.pull_cursor(), 0)
    assert answer == {"changes": False} and held < 1
    hq.cli("revoke", tech.device.device_id)
    assert httpx.get(url, params={"timeout": 0}, headers=mine).status_code == 401


def test_a_held_wait_is_dropped_at_once_when_the_device_lets_go(hq, handset):
    tech = handset("Tenzin Dorje")
    tech.sync()
    heard: list[Heard] = []

    class Recording(Waiter):
        def ask(self, cursor: int) -> Heard:
            heard.append(super().ask(cursor))
            return heard[-1]

    waiter = Recording(hq.url, token_of(tech), lambda: None)
    waiter.arm(tech.store.pull_cursor())
    wait_until(lambda: waiter._held is not None, "the wait to be held at HQ")
    thread = waiter._thread
    assert thread is not None
    start = time.monotonic()
    waiter.close()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - start < 1
    assert heard == [Heard.DROPPED]


# -- the app, against `fieldtech hq serve` ---------------------------------------------------------


def app_for(tmp_path, handset, url: str | None = None):
    agent = SyncAgent(handset.store.path, url or handset.client.base_url, token_of(handset))
    loc = Locations(handset.home / "data", handset.home / "config", tmp_path / "logs", "test")
    return build_app(loc, store=handset.store, device=handset.device, sync_agent=agent), agent


def in_queue(app, job_id: str) -> bool:
    return job_id in app.screen.query_one(JobTable).keys


async def test_the_queue_shows_a_job_dispatched_while_the_app_runs_within_seconds(
    hq, handset, tmp_path
):
    tech = handset("Tenzin Dorje")
    app, agent = app_for(tmp_path, tech)
    async with app.run_test(size=(110, 34)) as pilot:
        await until(pilot, lambda: agent._waiter is not None and agent._waiter.armed, "a wait")
        await pilot.pause(0.3)  # held at HQ
        job = new_job(hq, "tenzin-dorje")
        start = time.monotonic()
        await until(pilot, lambda: in_queue(app, job["id"]), "the job in the queue", timeout=5)
        took = time.monotonic() - start
        assert took < FEW_SECONDS, took  # the 30 s poll had no part in it
        job = cli_job(hq, "tenzin-dorje")  # written by another process: seen within a second
        start = time.monotonic()
        await until(pilot, lambda: in_queue(app, job["id"]), "the second job", timeout=5)
        assert time.monotonic() - start < FEW_SECONDS
        exit_from = time.monotonic()
    # Quitting did not wait for the held wait (it is dropped, HQ's answer not awaited).
    assert time.monotonic() - exit_from < 1.5


class OlderHQ:
    """A real HQ seen through a reverse proxy that answers /v1/wait as an HQ of an earlier
    release does (404), or as a broken one (503). Everything else goes through."""

    def __init__(self, target: str, wait_status: int):
        self.waits = 0
        proxy = self
        forward = httpx.Client(base_url=target, timeout=30)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _answer(self, status: int, headers: dict, body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _relay(self) -> None:
                if self.path.startswith("/v1/wait"):
                    proxy.waits += 1
                    detail = "Not Found" if wait_status == 404 else "Service Unavailable"
                    body = json.dumps({"detail": detail}).encode()
                    self._answer(wait_status, {"Content-Type": "application/json"}, body)
                    return
                size = int(self.headers.get("Content-Length") or 0)
                skip = ("host", "content-length", "connection", "accept-encoding")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in skip}
                r = forward.request(
                    self.command, self.path, headers=headers, content=self.rfile.read(size)
                )
                drop = ("content-length", "content-encoding", "transfer-encoding", "connection")
                kept = {k: v for k, v in r.headers.items() if k.lower() not in drop}
                self._answer(r.status_code, kept, r.content)

            do_GET = do_POST = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self._forward = forward

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._forward.close()


@pytest.mark.parametrize("wait_status", [404, 503])
async def test_without_a_working_wait_work_still_arrives_by_polling(
    hq, handset, tmp_path, monkeypatch, wait_status
):
    monkeypatch.setattr(app_sync, "SYNC_EVERY", 1.0)  # the poll, shortened for the test
    tech = handset("Tenzin Dorje")
    older = OlderHQ(hq.url, wait_status)
    try:
        app, agent = app_for(tmp_path, tech, older.url)
        async with app.run_test(size=(110, 34)) as pilot:
            await until(pilot, lambda: older.waits >= 1, "the device to try the wait")
            job = new_job(hq, "tenzin-dorje")
            await until(pilot, lambda: in_queue(app, job["id"]), "the job, by polling", 8)
            assert "failed" not in str(app.screen.query_one("#status-bar").render())
        if wait_status == 404:
            assert older.waits == 1  # an HQ without the route is not asked again soon
        else:
            assert older.waits <= 8  # a broken one about once per poll, never in a loop
    finally:
        older.close()


# -- HQ's side, in this process (its watcher can be looked at) ----------------------------------


def watch_of(world):
    return getattr(world.server.server.config.app.state, "change_watch", None)


def test_held_waits_cost_one_look_a_second_and_end_when_the_devices_go(world):
    phones = [world.phone(f"Tech {n}") for n in range(8)]
    waiters = []
    for phone in phones:
        phone.client.sync()
        token = json.loads((world.root / phone.user_id / "credential.json").read_text())["token"]
        w = Waiter(world.server.url, token, lambda: None)
        w.arm(phone.store.pull_cursor())
        waiters.append(w)
    wait_until(lambda: watch_of(world) and len(watch_of(world).waiting) == 8, "8 held waits")
    watch = watch_of(world)
    looks = watch.looks
    time.sleep(3)
    # Idle: the feed is looked at about once a second, however many wait.
    assert 2 <= watch.looks - looks <= 4
    watch.every = 60.0  # from here on only this process's commit can wake the watcher
    time.sleep(1.1)  # the look already timed goes by
    heard = threading.Event()
    waiters[5]._on_changes = heard.set
    world.job(phones[5].user_id)  # committed in this process: the watcher is told at once
    took = wait_until(heard.is_set, "the one device the job is for")
    assert took < 1.0, took
    assert len(watch.waiting) == 7  # the others were not woken
    for w in waiters:
        w.close()
    wait_until(lambda: not watch.waiting, "HQ to let go of every wait", timeout=2)


def test_a_devices_own_work_does_not_wake_its_own_wait(world):
    from fieldtech.services import jobs

    phone = world.phone("Tenzin Dorje")
    job = world.job(phone.user_id)
    phone.client.sync()
    token = json.loads((world.root / phone.user_id / "credential.json").read_text())["token"]
    cursor = phone.store.pull_cursor()
    jobs.start(phone.device, job["id"])
    jobs.note(phone.device, job["id"], "parking at the back")
    # The device's own changes reach HQ while its wait (from before them) is held: HQ
    # would not send them back to it, so they are no news to it either.
    answers: list[dict] = []
    held = threading.Thread(
        target=lambda: answers.append(hold(world.server.url, token, cursor, 2)[0])
    )
    held.start()
    wait_until(lambda: watch_of(world) and watch_of(world).waiting, "the wait to be held")
    phone.client.sync()
    held.join(10)
    assert answers == [{"changes": False}]
    assert world.rows("jobs", id=job["id"])[0]["status"] == "en_route"


async def test_switching_the_link_off_drops_the_wait_and_its_return_brings_the_work(
    world, tmp_path
):
    phone = world.phone("Tenzin Dorje")
    token = json.loads((world.root / phone.user_id / "credential.json").read_text())["token"]
    agent = SyncAgent(phone.store.path, world.server.url, token)
    loc = Locations(tmp_path / "d", tmp_path / "c", tmp_path / "l", "test")
    app = build_app(loc, store=phone.store, device=phone.device, sync_agent=agent)
    async with app.run_test(size=(110, 34)) as pilot:
        await until(pilot, lambda: watch_of(world) and watch_of(world).waiting, "a held wait")
        await pilot.press("f5")  # signal lost
        await until(pilot, lambda: not watch_of(world).waiting, "HQ to see the wait go", 2)
        job = world.job(phone.user_id)
        await pilot.pause(1.5)
        assert not in_queue(app, job["id"])  # no signal: nothing arrives
        await pilot.press("f5")  # signal back: a sync, then a wait again
        await until(pilot, lambda: in_queue(app, job["id"]), "the job once the link is back")
        await until(pilot, lambda: watch_of(world).waiting, "a wait held again")
    await_gone = time.monotonic()
    while watch_of(world).waiting and time.monotonic() - await_gone < 2:
        time.sleep(0.01)
    assert not watch_of(world).waiting  # the app closed: its wait is gone at HQ too


def test_on_postgresql_a_wait_hears_its_own_work_and_only_that(tmp_path, pg_url):
    from tests.integration.world import World

    world = World.start(tmp_path, url=pg_url)
    try:
        tenzin, kofi = world.phone("Tenzin Dorje"), world.phone("Kofi Mensah")
        for phone in (tenzin, kofi):
            phone.client.sync()
        token = json.loads((world.root / tenzin.user_id / "credential.json").read_text())["token"]
        cursor = tenzin.store.pull_cursor()
        threading.Timer(0.3, lambda: world.job(kofi.user_id)).start()
        assert hold(world.server.url, token, cursor, 1.5)[0] == {"changes": False}
        threading.Timer(0.3, lambda: world.job(tenzin.user_id)).start()
        answer, held = hold(world.server.url, token, cursor, 10)
        assert answer == {"changes": True} and held < FEW_SECONDS
        answers = scope_answers_agree(world)
        assert any(answers) and not all(answers)
    finally:
        world.stop()


def scope_answers_agree(world) -> list[bool]:
    """Technicians' and admins' waits are checked all in one statement; that must answer
    what the check of one wait at a time (the pull's scope, as it is) answers, for every
    kind of change and every mark. Returns the answers."""
    import asyncio

    from fieldtech.hq import dispatch
    from fieldtech.hq.auth import Principal
    from fieldtech.hq.change_watch import Waiting, changed_in_scope, due_among, feed_tops, moved
    from fieldtech.services import jobs
    from tests.integration.world import ADMIN

    def top() -> int:
        with world.hq.engine.connect() as conn:
            return max(feed_tops(conn).values())

    a, b = world.phone("Ana Tech"), world.phone("Ben Tech")
    south = world.phone("Sol Tech", team="south")
    boss = world.phone("Nora Sup", role="supervisor")
    job = world.job(a.user_id)
    for phone in (a, b, south, boss):
        phone.client.sync()
    marks = [0, top()]
    world.job(b.user_id)  # news to Ben and the north's supervisor
    marks.append(top())
    jobs.start(a.device, job["id"])
    a.client.sync()  # Ana's own work: news to her supervisor, not to her
    marks.append(top())
    dispatch.assign(world.hq, ADMIN, job["id"], b.user_id)  # Ana's job goes to Ben
    marks.append(top())
    world.job(south.user_id)
    marks.append(top())

    def who(phone, role: str, team: str) -> Principal:
        return Principal(phone.user_id, phone.name, role, team, phone.device.device_id, "c")

    people = [
        (who(a, "technician", "north"), a.device.device_id),
        (who(b, "technician", "north"), b.device.device_id),
        (who(south, "technician", "south"), south.device.device_id),
        (who(boss, "supervisor", "north"), boss.device.device_id),
        (ADMIN, None),
    ]
    loop = asyncio.new_event_loop()
    try:
        waits = [
            Waiting(p, device, mark, loop.create_future()) for p, device in people for mark in marks
        ]
        with world.hq.snapshot() as conn:
            tops = feed_tops(conn)
            one_by_one = [
                changed_in_scope(conn, w.who, w.device_id, w.checked_to, moved(tops, w.checked_to))
                for w in waits
            ]
            together = set(due_among(conn, waits, tops))
    finally:
        loop.close()
    assert [w in together for w in waits] == one_by_one
    return one_by_one


def test_all_waits_checked_at_once_answer_as_each_checked_alone(world):
    answers = scope_answers_agree(world)
    assert any(answers) and not all(answers)

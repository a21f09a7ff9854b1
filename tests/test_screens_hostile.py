"""Hostile data over every screen: what people and HQ write is shown as written, never run.

Hypothesis builds device stores (real SQLite files) whose every text field is hostile:
markup brackets (`compressor [/] checked` ended the app when its job opened), terminal
control sequences, CJK, right-to-left text with bidi overrides, emoji, 10,000 characters,
empty optional fields. Every screen and dialog opens at 80×24 over them with no exception;
each shows the visible part of the text it holds, and nothing sends a raw ESC to the
terminal. The rest pins the words and times people read (issue 11, items 7 and 9).
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from fieldtech.app import build_app
from fieldtech.domain.jobs import Kind, Priority, Status
from fieldtech.domain.text import plain
from fieldtech.paths import Locations
from fieldtech.services import Device
from fieldtech.services import jobs as job_service
from fieldtech.services.seed import seed
from fieldtech.store import open_store
from tests.app_support import NOW, SEED_DAY

SIZE = (80, 24)
HOSTILE_FIXED = [
    "compressor [/] checked",
    "[b]not bold[/b] [red]x[/] [link=https://evil.example]y[/link] [@click=app.quit]q[/]",
    "[",
    "]",
    "[/]",
    "\\[escaped] [bold",
    "\x1b]0;pwned\x07retitled",
    "\x1b[2J\x1b[Hcleared the screen",
    "bell\x07 nul\x00 del\x7f c1\x9b end",
    "空调安装：压缩机检查，冷媒压力正常",
    "التحقق من الضاغط",
    "שלום \u202eevil\u202c עולם",
    "🔧🛠️ 👩‍🔧 done ✅",
    "line\nbreak\r\ntab\tend\u2028sep",
    "x" * 10_000,
    "",
]
hostile = st.one_of(
    st.sampled_from(HOSTILE_FIXED),
    st.text(max_size=40),
    st.builds(lambda a, b: a + b, st.sampled_from(HOSTILE_FIXED), st.text(max_size=12)),
)
FIELDS = (
    "customer",
    "phone",
    "address",
    "city",
    "access",
    "hazard",
    "summary",
    "brand",
    "note",
    "hold",
    "label",
    "section",
    "part",
    "conflict",
    "refusal",
    "problem",
    "person",
    "request",
    "decision",
    "escalation",
    "comment",
    "team",
)
texts = st.fixed_dictionaries({f: hostile for f in FIELDS})


# -- what the terminal shows --------------------------------------------------------------
def screen_text(app) -> str:
    """The screen as the terminal gets it: every cell's character, no styles."""
    console = Console(
        width=SIZE[0],
        height=SIZE[1],
        file=io.StringIO(),
        record=True,
        legacy_windows=False,
        color_system="truecolor",
        force_terminal=True,
    )
    # The screen as text: Textual's public export_screenshot gives SVG only, so this asks
    # the compositor (private) for the same full update a terminal would get.
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text(styles=False)


def _simple(ch: str) -> bool:
    """A character every terminal draws in place as itself (no combining, no emoji)."""
    cat = unicodedata.category(ch)
    if cat[0] in "CM" or cat in ("Zl", "Zp") or cell_len(ch) == 0:
        return False
    return ord(ch) < 0x2600 or 0x3000 <= ord(ch) < 0xF900


def visible(value: str, cells: int) -> str:
    """The start of `value` as the screen must show it, at most `cells` wide: shown as
    `plain` makes it, up to the first character whose drawing depends on the terminal."""
    out = ""
    for ch in plain(value):
        if not _simple(ch) or cell_len(out + ch) > cells:
            break
        out += ch
    return out.strip()


def assert_shows(app, *values: tuple[str, int]) -> str:
    text = screen_text(app)
    assert "\x1b" not in text, "a raw escape reached the terminal"
    flat = text.replace("\n", "")
    for value, cells in values:
        shown = visible(value, cells)
        assert shown in flat, f"{shown!r} not on screen:\n{text}"
    return text


# -- building hostile device stores -------------------------------------------------------
def hostile_store(root: Path, t: dict[str, str], *, supervisor: bool = False):
    """A seeded device whose every text field people or HQ wrote is hostile."""
    loc = Locations(root / "data", root / "config", root / "logs", "test")
    store = open_store(loc.device_db)
    seed(store, 12, now=SEED_DAY)
    db = store.db
    dev = Device.open(store, now=lambda: NOW)
    with store.transaction():
        db.execute("UPDATE customers SET name = ?, phone = ?", [t["customer"], t["phone"] or None])
        db.execute(
            "UPDATE sites SET address = ?, city = ?, access_notes = ?, hazards = ?",
            [t["address"], t["city"] or None, t["access"] or None, json.dumps([t["hazard"]])],
        )
        db.execute("UPDATE appliances SET brand = ?, model = ?", [t["brand"] or None, t["brand"]])
        db.execute("UPDATE jobs SET summary = ?", [t["summary"]])
        db.execute(
            "UPDATE jobs SET hold_reason = ? WHERE status = 'on_hold'", [t["hold"] or "parts"]
        )
        db.execute("UPDATE template_items SET label = ?, section = ?", [t["label"], t["section"]])
        db.execute("UPDATE parts SET name = ?", [t["part"]])
        store.set_meta("last_sync_error", t["problem"] or "?")
        store.set_meta("last_sync_ok", "2026-11-23T08:40:00Z")
        store.set_meta("team", t["team"] or "north")
    target = working_job(store)
    with store.transaction():
        dev.apply("job.note", target["id"], {"body": t["note"] or "-"})
        dev.apply(  # a photo whose name and caption people wrote
            "attachment.add",
            target["id"],
            {
                "sha256": "ab" * 32,
                "size": 412_000,
                "type": "image/jpeg",
                "name": t["customer"][:150] or "-",
                "caption": t["summary"][:400] or None,
            },
        )
        store.add_conflict(
            {
                "id": "c-1",
                "entity": "job",
                "entity_id": target["id"],
                "field": t["conflict"],
                "mine": t["conflict"],
                "theirs": t["conflict"],
                "theirs_by": t["person"],
                "theirs_at": t["conflict"],  # HQ sent something that is no time
                "mine_at": "2026-11-23T08:00:00Z",
                "detected_at": "2026-11-23T08:41:00Z",
            }
        )
        op = dev.record("job.note", "job", target["id"], {"body": "x"}, hlc=dev.stamp())
        store.park_rejected(op, t["refusal"] or "no")
        sku = db.execute("SELECT sku FROM parts ORDER BY sku LIMIT 1").fetchone()[0]
        store.put_request(
            {
                "id": "req-1",
                "sku": sku,
                "qty": 1,
                "job_id": target["id"],
                "status": "rejected" if not supervisor else "submitted",
                "note": t["request"] or None,
                "decided_reason": t["decision"] or None,
                "technician_id": "ben",
                "created_at": "2026-11-23T07:00:00Z",
                "updated_at": "2026-11-23T07:00:00Z",
                "hlc": "1790000000000-00000-fixture",
            }
        )
    if supervisor:
        make_team(store, t, target)
    store.rebuild_job_search()
    return loc, store, target


def working_job(store) -> dict:
    """An open job with a checklist, on site: every action of the job screen applies."""
    for row in store.queue(limit=100):
        job = store.job(row["id"])
        if job["status"] == "on_site" and job["template_id"]:
            return job
    raise LookupError("no seeded job on site")


def make_team(store, t: dict[str, str], target: dict) -> None:
    db = store.db
    with store.transaction():
        store.set_meta("role", "supervisor")
        store.set_meta("user_id", "sue")
        for uid in ("ana", "ben", "sue"):
            db["users"].insert(
                {
                    "id": uid,
                    "name": f"{t['person']}{uid}",
                    "role": "supervisor" if uid == "sue" else "technician",
                    "team": "north",
                }
            )
        db.execute("UPDATE jobs SET technician_id = 'ben', team = 'north'")
        db.execute("UPDATE jobs SET escalation_level = 2 WHERE id = ?", [target["id"]])
        store.add_job_event(
            {
                "id": "esc-1",
                "job_id": target["id"],
                "kind": "escalation",
                "body": t["escalation"],
                "actor": "ben",
                "hlc": "1790000000000-00000-fixture",
                "at": "2026-11-23T08:30:00Z",
            }
        )
        done = db.execute("SELECT id FROM jobs WHERE status = 'completed' LIMIT 1").fetchone()
        store.add_callback(
            {
                "id": "cb-1",
                "job_id": done[0],
                "technician_id": "ben",
                "skill": 5,
                "attitude": 4,
                "adherence": 4,
                "comment": t["comment"] or None,
                "recorded_by": "sue",
                "at": "2026-11-22T16:00:00Z",
            }
        )


def run(app, scenario) -> None:
    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(go())


# Pilot is slow (~4 s an example): modest examples, no shrinking (the failing example is
# printed whole), so the file stays near 90 s.
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- every screen a technician opens ----------------------------------------------------------
@SETTINGS
@given(t=texts)
def test_technician_screens_show_hostile_text_as_written(tmp_path_factory, t):
    from fieldtech.domain.attachments import clean_name
    from fieldtech.screens.attach_dialog import AttachFile
    from fieldtech.screens.checklist import ChecklistScreen
    from fieldtech.screens.close import CloseScreen
    from fieldtech.screens.dialogs import AskText
    from fieldtech.screens.help import HelpScreen
    from fieldtech.screens.job import JobScreen
    from fieldtech.screens.parts import PartsScreen
    from fieldtech.screens.sync_status import SyncScreen

    loc, store, job = hostile_store(tmp_path_factory.mktemp("tech"), t)
    app = build_app(loc, store=store, sync_agent=None, background_sync=False, now=lambda: NOW)

    async def scenario(pilot):
        assert_shows(app, (t["customer"], 10))  # the queue
        await app.push_screen(JobScreen(job["id"]))
        await pilot.pause()
        assert_shows(app, (t["summary"], 30), (t["customer"], 20))
        files = str(app.screen.query_one("#files").render())
        assert "412 KB" in files
        assert visible(clean_name(t["customer"][:150] or "-"), 10) in files
        await pilot.press("f")  # the attach dialog opens over hostile folders' names too
        await pilot.pause()
        assert isinstance(app.screen, AttachFile)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("n")  # a note typed with markup in it
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        for ch in "[/]ok":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert any(e["body"] == "[/]ok" for e in store.job_events(job["id"]))
        await app.push_screen(ChecklistScreen(job["id"]))
        await pilot.pause()
        assert_shows(app, (t["label"], 12))
        await pilot.press("enter")  # the reading dialog, titled with the item's label
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        assert_shows(app, (t["label"], 20))
        await pilot.press("escape")
        await app.push_screen(PartsScreen(job["id"]))
        await pilot.pause()
        for ch in "[/]":  # an unknown SKU with markup: refused in words, no crash
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert_shows(app)
        await app.push_screen(CloseScreen(job["id"]))
        await pilot.pause()
        assert_shows(app, (t["label"], 20))
        await app.push_screen(SyncScreen())
        await pilot.pause()
        assert_shows(app, (t["problem"], 30))
        await app.push_screen(HelpScreen())
        await pilot.pause()
        assert_shows(app)

    run(app, scenario)
    store.close()


# -- every screen a supervisor opens ---------------------------------------------------------
@settings(SETTINGS, max_examples=8)
@given(t=texts)
def test_supervisor_screens_show_hostile_text_as_written(tmp_path_factory, t):
    from fieldtech.screens.board import BoardScreen
    from fieldtech.screens.escalations import EscalationsScreen
    from fieldtech.screens.job import JobScreen
    from fieldtech.screens.queue import QueueScreen
    from fieldtech.screens.team_dialogs import CallbackForm, PickTechnician
    from fieldtech.screens.team_requests import RequestsScreen

    loc, store, job = hostile_store(tmp_path_factory.mktemp("sup"), t, supervisor=True)
    app = build_app(loc, store=store, sync_agent=None, background_sync=False, now=lambda: NOW)
    person, first = f"{t['person']}ben", f"{t['person']}ana"  # the board lists ana first

    async def scenario(pilot):
        assert isinstance(app.screen, BoardScreen)
        assert_shows(app, (person, 12), (first, 12), (t["team"], 10))
        await pilot.press("enter")  # one technician's jobs, titled with their name
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)
        assert_shows(app, (first, 10))
        await pilot.press("escape")
        await pilot.pause()
        await app.push_screen(QueueScreen(title="the whole team"))
        await pilot.pause()
        assert_shows(app, (person, 6))
        await app.push_screen(RequestsScreen())
        await pilot.pause()
        assert_shows(app, (person, 10))
        await app.push_screen(EscalationsScreen())
        await pilot.pause()
        assert_shows(app, (person, 10), (t["escalation"], 8))
        await app.push_screen(JobScreen(job["id"]))
        await pilot.pause()
        assert_shows(app, (t["summary"], 30))
        await pilot.press("g")  # who takes the job: the roster's names
        await pilot.pause()
        assert isinstance(app.screen, PickTechnician)
        assert_shows(app, (f"{t['person']}ana", 20))
        await pilot.press("escape")
        await pilot.pause()
        done = store.db.execute("SELECT id FROM jobs WHERE status = 'completed'").fetchone()[0]
        await app.push_screen(JobScreen(done))
        await pilot.pause()
        assert_shows(app, (t["summary"], 30))
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, CallbackForm)
        assert_shows(app)

    run(app, scenario)
    store.close()


# -- every status × priority × kind --------------------------------------------------------------
def test_every_status_priority_and_kind_opens(tmp_path):
    """One job for each status × priority × kind, each with a markup summary: the queue
    under every status and kind filter, and the job screen of one job per status × kind."""
    from fieldtech.screens.job import JobScreen

    t = dict.fromkeys(FIELDS, "compressor [/] checked")
    loc, store, _ = hostile_store(tmp_path, t)
    db = store.db
    base = store.job(store.queue(limit=1)[0]["id"])
    combos = [(s, p, k) for s in Status for p in Priority for k in Kind]
    with store.transaction():
        for n, (s, p, k) in enumerate(combos):
            row = {**base, "id": f"combo-{n}", "ref": f"[/]C-{n:03d}", "status": s.value}
            row.update(priority=p.value, priority_rank=p.rank, kind=k.value, stamps="{}")
            row["summary"] = f"[b]{s.value} {p.value} {k.value}[/]"
            row["hold_reason"] = "[/] waiting" if s is Status.ON_HOLD else None
            row.pop("open", None)
            store.put_job(row)
    store.rebuild_job_search()
    app = build_app(loc, store=store, sync_agent=None, background_sync=False, now=lambda: NOW)

    async def scenario(pilot):
        for _ in range(len(Status) + 1):  # every status filter, then back to open jobs
            await pilot.press("s")
            await pilot.pause()
            assert_shows(app)
        for _ in range(len(Kind) + 1):
            await pilot.press("k")
            await pilot.pause()
            assert_shows(app)
        # A job screen for every status and every kind (the queue above listed them all).
        seen = set()
        for n, (s, p, k) in enumerate(combos):
            if s in seen and k in seen:
                continue
            seen.update((s, k))
            await app.push_screen(JobScreen(f"combo-{n}"))
            await pilot.pause()
            assert_shows(app, (f"[b]{s.value} {p.value} {k.value}[/]", 40))
            app.pop_screen()
        assert seen == set(Status) | set(Kind)

    run(app, scenario)
    assert db.execute("SELECT count(*) FROM jobs WHERE id LIKE 'combo-%'").fetchone()[0] == 200
    store.close()


# -- item 7: times in the device's own zone ------------------------------------------------------
@contextmanager
def device_zone(monkeypatch, zone: str):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


def test_times_on_screen_are_the_devices_local_time_with_its_zone(tmp_path, monkeypatch):
    """Kathmandu is UTC+05:45: a time shown in UTC, or without its zone, cannot pass."""
    from fieldtech.screens.job import JobScreen
    from fieldtech.screens.sync_status import SyncScreen

    t = dict.fromkeys(FIELDS, "ok")
    loc, store, job = hostile_store(tmp_path, t)
    with store.transaction():
        store.db.execute(
            "UPDATE jobs SET window_start = '2026-11-23T03:00:00Z', "
            "sla_due = '2026-11-24T12:30:00Z' WHERE id = ?",
            [job["id"]],
        )
    app = build_app(loc, store=store, sync_agent=None, background_sync=False, now=lambda: NOW)

    async def scenario(pilot):
        await app.push_screen(JobScreen(job["id"]))
        await pilot.pause()
        text = assert_shows(app)
        assert "Appointment 2026-11-23 08:45 +0545" in text
        assert "promised by 2026-11-24 18:15 +0545" in text
        await app.push_screen(SyncScreen())
        await pilot.pause()
        text = assert_shows(app)
        assert "(2026-11-23 14:25 +0545)" in text  # last good sync, 08:40 UTC
        assert "2026-11-23 13:45 +0545" in text  # my side of the conflict, 08:00 UTC

    with device_zone(monkeypatch, "Asia/Kathmandu"):
        run(app, scenario)
    store.close()


# -- item 9: words a person reads -----------------------------------------------------------
def test_closing_a_job_on_hold_says_resume_first(tmp_path):
    from fieldtech.screens.close import CloseScreen

    t = dict.fromkeys(FIELDS, "ok")
    loc, store, job = hostile_store(tmp_path, t)
    dev = Device.open(store, now=lambda: NOW)
    job_service.hold(dev, job["id"], "waiting for the customer")
    app = build_app(loc, store=store, sync_agent=None, background_sync=False, now=lambda: NOW)

    async def scenario(pilot):
        await app.push_screen(CloseScreen(job["id"]))
        await pilot.pause()
        text = assert_shows(app)
        assert "the job is on hold; resume it first" in text
        assert "arrive on site" not in text

    run(app, scenario)
    store.close()


def test_f2_on_an_unenrolled_device_says_so_and_what_to_do(tmp_path):
    loc = Locations(tmp_path / "data", tmp_path / "config", tmp_path / "logs", "test")
    store = open_store(loc.device_db)
    seed(store, 5, now=SEED_DAY)
    app = build_app(loc, store=store, sync_agent=None, background_sync=False, now=lambda: NOW)

    async def scenario(pilot):
        await pilot.press("f2")
        await pilot.pause()
        text = assert_shows(app).replace("\n", " ")
        assert "all at HQ" not in text
        assert "not enrolled" in " ".join(text.split())
        assert "fieldtech enroll URL CODE" in " ".join(text.split())

    run(app, scenario)
    store.close()


def test_the_sync_screen_names_changes_and_jobs_in_words(tmp_path):
    from fieldtech.screens.sync_status import SyncScreen

    t = dict.fromkeys(FIELDS, "ok")
    loc, store, job = hostile_store(tmp_path, t)
    dev = Device.open(store, now=lambda: NOW)
    job_service.hold(dev, job["id"], "waiting for parts")  # a status change waits to go
    refused = store.outbox("rejected")[0]
    app = build_app(loc, store=store, sync_agent=None, background_sync=False, now=lambda: NOW)

    async def scenario(pilot):
        await app.push_screen(SyncScreen())
        await pilot.pause()
        text = assert_shows(app)
        assert "status change" in text
        assert f"note on job {job['ref']}: ok" in text  # the refusal, in words
        assert f"job {job['ref']} · ok: mine ok" in text  # the conflict
        for internal in ("job.status", "job.note", refused["entity_id"][-8:]):
            assert internal not in text

    run(app, scenario)
    store.close()

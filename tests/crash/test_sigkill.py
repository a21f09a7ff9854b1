"""Crash safety: SIGKILL a device process at random points while it writes, then restart it.

A person's actions go through the real services (status changes, readings, parts, notes,
requests, close) and the sync agent applies HQ's answers (acks and pulled changes) from a real
HQ served over HTTP on 127.0.0.1. After every kill the device file must:

- pass `PRAGMA integrity_check`, the foreign-key check and the full-text indexes' own checks;
- hold every change the person was told is saved (its rows, and its outbox entry unless HQ
  has acknowledged it) and nothing from an action that was refused;
- keep the outbox in step with the data: every outbox operation's rows are there as the
  operation describes them, and every row or stamp the device made that HQ has not
  acknowledged still has its outbox operation;
- never hand out a clock stamp at or below one it already used, even if the wall clock is
  behind after the restart;
- (sync) hold every HQ row up to its stored cursor.

After a clean sync, HQ has every operation the device ever committed, each applied once, and
device and HQ hold the same rows.

FIELDTECH_CRASH_KILLS sets the number of kills (default 200: half during services, half during
sync), FIELDTECH_CRASH_SEED the random seed.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import time
from collections import Counter, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from fieldtech.domain.demo_data import demo_code
from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.jobs import Status
from fieldtech.domain.ops import expand
from fieldtech.domain.parts import RequestStatus
from fieldtech.hq import auth, dispatch, requests
from fieldtech.services import Device, escalations, jobs
from fieldtech.services.seed import seed
from fieldtech.store import Store, open_store
from fieldtech.sync import credentials
from fieldtech.sync.client import SyncClient
from fieldtech.sync.enroll import enroll
from tests.crash.conftest import ADMIN, Session, Trigger, World, base_seed, kill_budget
from tests.crash.worker import credential_path, db_path

EVENT_OPS = {"job.status", "job.close", "job.note", "job.create", "escalation.raise"}
HISTORY_OPS = {"job_events": EVENT_OPS, "readings": {"reading.add"}, "stock_ledger": {"stock.move"}}
OPEN = tuple(s.value for s in Status if s.is_open)
# Job fields a person changes through operations; they must agree with HQ after a sync.
JOB_FIELDS = (
    "status",
    "arrived_at",
    "hold_reason",
    "outcome",
    "signoff_name",
    "rating",
    "closed_at",
    "cannot_complete_reason",
    "technician_id",
    "priority",
    "summary",
    "escalation_level",
)
EVENT_COLS = ("job_id", "kind", "from_status", "to_status", "body", "actor", "hlc", "at")
READING_COLS = ("job_id", "item_key", "value", "verdict", "comment", "actor", "hlc", "at")
MOVE_COLS = ("sku", "kind", "qty", "job_id", "request_id", "reason", "override", "actor", "hlc")


# -- reading a device file -------------------------------------------------------------------


def rows(st: Store, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    cur = st.db.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def ids(st: Store, table: str) -> set[str]:
    return {r[0] for r in st.db.execute(f"SELECT id FROM {table}")}


def node_of(device_id: str) -> str:
    return device_id.replace("-", "")[-12:]


def mine(hlc: str | None, node: str) -> bool:
    return bool(hlc) and hlc.endswith("-" + node)


class Known:
    """What exists outside this device file (the seeded start, or HQ): rows that need no
    outbox entry. `applied` is HQ's record of this device's operations."""

    def __init__(self, tables: dict[str, set[str]], applied: dict[str, dict[str, Any]]):
        self.tables = tables
        self.applied = applied
        self.applied_hlcs = {a["hlc"] for a in applied.values() if a["outcome"] == "applied"}

    def acked(self, op_id: str) -> bool:
        return self.applied.get(op_id, {}).get("outcome") == "applied"

    @classmethod
    def from_store(cls, st: Store) -> Known:
        return cls(
            {
                t: ids(st, t)
                for t in ("jobs", "job_events", "readings", "stock_ledger", "part_requests")
            },
            {},
        )

    @classmethod
    def from_hq(cls, world: World, device_id: str) -> Known:
        hq = HQRows(world)
        applied = {
            r["id"]: r
            for r in hq.all(
                "SELECT id, op, entity_id, hlc, outcome, reason FROM applied_ops "
                "WHERE device_id = :d",
                d=device_id,
            )
        }
        return cls({t: {r[0] for r in hq.scoped(t, "id")} for t in hq.SCOPED}, applied)


class HQRows:
    """Read-only views of HQ's tables, limited to the technician's scope."""

    SCOPED = ("jobs", "job_events", "readings", "stock_ledger", "part_requests")

    def __init__(self, world: World):
        self.world = world

    def all(self, sql: str, **params) -> list[dict[str, Any]]:
        with self.world.hq.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]

    def scoped(self, table: str, cols: str, max_seq: int | None = None) -> list[tuple]:
        where = {
            "jobs": "id IN (SELECT job_id FROM job_assignments WHERE technician_id = :t)",
            "job_events": "job_id IN (SELECT job_id FROM job_assignments WHERE technician_id = :t)",
            "readings": "job_id IN (SELECT job_id FROM job_assignments WHERE technician_id = :t)",
            "stock_ledger": "technician_id = :t",
            "part_requests": "technician_id = :t",
        }[table]
        if max_seq is not None:
            where += " AND seq <= :s"
        with self.world.hq.engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    text(f"SELECT {cols} FROM {table} WHERE {where}"),
                    {"t": self.world.tech_id, "s": max_seq},
                )
            ]


# -- the checks: each returns problems in words (empty: all well) -----------------------------


def physical_problems(st: Store) -> list[str]:
    out = []
    verdict = [r[0] for r in st.db.execute("PRAGMA integrity_check").fetchall()]
    if verdict != ["ok"]:
        out.append(f"integrity_check: {verdict[:5]}")
    fk = st.db.execute("PRAGMA foreign_key_check").fetchall()
    if fk:
        out.append(f"foreign_key_check: {fk[:5]}")
    for t in ("jobs_fts", "customers_fts", "parts_fts"):
        try:
            st.db.execute(f"INSERT INTO {t}({t}) VALUES ('integrity-check')")
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            out.append(f"{t} integrity-check: {exc}")
    unindexed = st.db.execute(
        "SELECT count(*) FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM jobs_fts f "
        "WHERE f.rowid = j.search_key AND f.job_id = j.id)"
    ).fetchone()[0]
    extra = st.db.execute(
        "SELECT (SELECT count(*) FROM jobs_fts) - (SELECT count(*) FROM jobs)"
    ).fetchone()[0]
    if unindexed or extra:
        out.append(f"job search out of step: {unindexed} jobs unindexed, {extra} extra entries")
    marks = ",".join("?" * len(OPEN))
    wrong_open = st.db.execute(
        f"SELECT count(*) FROM jobs WHERE open != (status IN ({marks}))", OPEN
    ).fetchone()[0]
    if wrong_open:
        out.append(f"{wrong_open} jobs whose open flag contradicts their status")
    return out


def outbox_rows_problems(st: Store, ops: list[dict[str, Any]], device_id: str) -> list[str]:
    """Every outbox operation: its rows are there, as `expand` says it wrote them."""
    out = []
    actor = st.meta("user_id") or "unenrolled"
    for op in ops:
        tag = f"outbox {op['op']} {op['id']} ({op['state']})"
        if op["device_id"] != device_id:
            out.append(f"{tag}: belongs to device {op['device_id']}")
        if op["state"] not in ("pending", "rejected"):
            out.append(f"{tag}: unknown state")
        try:
            exp = expand(
                op["op"], op["entity_id"], op["payload"], op_id=op["id"], hlc=op["hlc"], actor=actor
            )
        except FieldtechError as exc:
            out.append(f"{tag}: does not expand: {exc}")
            continue
        for table, want, cols in (
            ("job_events", exp.event, EVENT_COLS),
            ("readings", exp.reading, READING_COLS),
            ("stock_ledger", exp.movement, MOVE_COLS),
        ):
            if want is None:
                continue
            got = rows(st, f"SELECT * FROM {table} WHERE id = ?", [op["id"]])
            if not got:
                out.append(f"{tag}: its {table} row is missing")
                continue
            diff = {c: (got[0][c], want.get(c)) for c in cols if got[0][c] != want.get(c)}
            if diff:
                out.append(f"{tag}: its {table} row differs: {diff}")
        if exp.new_job is not None and not st.job_exists(op["entity_id"]):
            out.append(f"{tag}: the job it creates is missing")
        if exp.request is not None or exp.request_step is not None:
            req = rows(st, "SELECT * FROM part_requests WHERE id = ?", [op["entity_id"]])
            if not req:
                out.append(f"{tag}: its part request is missing")
            elif exp.request is not None and (req[0]["sku"], req[0]["qty"]) != (
                exp.request["sku"],
                exp.request["qty"],
            ):
                out.append(f"{tag}: its part request differs: {req[0]}")
            elif op["state"] == "pending" and req[0]["hlc"] < op["hlc"]:
                out.append(f"{tag}: the request's stamp {req[0]['hlc']} is older than the op")
        if exp.job_fields and op["state"] == "pending":
            job = rows(st, "SELECT * FROM jobs WHERE id = ?", [exp.job_id])
            if not job:
                out.append(f"{tag}: its job is missing")
                continue
            stamps = json.loads(job[0]["stamps"] or "{}")
            for name, value in exp.job_fields.items():
                stamp = stamps.get(name)
                if stamp is None or stamp < op["hlc"]:
                    out.append(f"{tag}: job field {name} stamped {stamp}, older than the op")
                elif stamp == op["hlc"] and job[0][name] != value:
                    out.append(
                        f"{tag}: job field {name} is {job[0][name]!r}, the op says {value!r}"
                    )
    return out


def accounted_problems(st: Store, ops: list[dict[str, Any]], known: Known, node: str) -> list[str]:
    """Every row and stamp this device made is at HQ (acknowledged) or still in its outbox."""
    out = []
    by_id = {o["id"]: o for o in ops}
    stamped = {(o["entity_id"], o["hlc"]) for o in ops}
    for table, allowed in HISTORY_OPS.items():
        for row in rows(st, f"SELECT id, hlc FROM {table}"):
            if row["id"] in known.tables[table]:
                continue
            op = by_id.get(row["id"])
            if op is None:
                out.append(
                    f"{table} {row['id']}: made here, not acknowledged, and not in the outbox"
                )
            elif op["op"] not in allowed:
                out.append(f"{table} {row['id']}: its outbox op is a {op['op']}")
    creates = {(o["op"], o["entity_id"]) for o in ops}
    for table, op_name in (("jobs", "job.create"), ("part_requests", "part_request.create")):
        for rid in ids(st, table) - known.tables[table]:
            if (op_name, rid) not in creates:
                out.append(
                    f"{table} {rid}: made here, not acknowledged, and no {op_name} in the outbox"
                )
    for job in rows(st, "SELECT id, stamps FROM jobs WHERE stamps != '{}'"):
        for name, stamp in json.loads(job["stamps"]).items():
            carried = (job["id"], stamp) in stamped or stamp in known.applied_hlcs
            if mine(stamp, node) and not carried:
                out.append(
                    f"job {job['id']} field {name}: changed here at {stamp}, "
                    "not acknowledged by HQ, and no outbox op carries it"
                )
    for req in rows(st, "SELECT id, hlc FROM part_requests"):
        carried = (req["id"], req["hlc"]) in stamped or req["hlc"] in known.applied_hlcs
        if mine(req["hlc"], node) and not carried:
            out.append(f"part request {req['id']}: changed here, no outbox op carries it")
    return out


def told_problems(
    st: Store,
    ops: list[dict[str, Any]],
    known: Known,
    saved: list[tuple[str, str, str]],
    refused: list[tuple[str, str, str]],
) -> list[str]:
    """What the person was told is saved is there; what was refused left nothing."""
    out = []
    in_outbox = {o["id"] for o in ops}
    present = {t: ids(st, t) for t in ("job_events", "readings", "stock_ledger")}
    requests_here = ids(st, "part_requests")
    jobs_here = ids(st, "jobs")
    for op, op_id, entity in saved:
        tag = f"saved {op} {op_id}"
        if op_id not in in_outbox and not known.acked(op_id):
            out.append(f"{tag}: neither in the outbox nor acknowledged by HQ (lost)")
        if op in EVENT_OPS and op_id not in present["job_events"]:
            out.append(f"{tag}: its job event is missing")
        if op == "reading.add" and op_id not in present["readings"]:
            out.append(f"{tag}: its reading is missing")
        if op == "stock.move" and op_id not in present["stock_ledger"]:
            out.append(f"{tag}: its stock movement is missing")
        if op.startswith("part_request.") and entity not in requests_here:
            out.append(f"{tag}: its part request is missing")
        if op == "job.create" and entity not in jobs_here:
            out.append(f"{tag}: the job it created is missing")
    everything = in_outbox | set().union(*present.values())
    for op, op_id, _entity in refused:
        if op_id in everything or op_id in known.applied:
            out.append(f"refused {op} {op_id}: left rows or an outbox entry behind")
    return out


def clock_problems(st: Store, ops: list[dict[str, Any]], node: str) -> tuple[list[str], str]:
    """The stored clock is at or past every stamp this device has used."""
    used = [o["hlc"] for o in ops]
    for table in ("job_events", "readings", "stock_ledger", "part_requests"):
        used += [r[0] for r in st.db.execute(f"SELECT hlc FROM {table}") if mine(r[0], node)]
    for (stamps,) in st.db.execute("SELECT stamps FROM jobs WHERE stamps != '{}'"):
        used += [s for s in json.loads(stamps).values() if mine(s, node)]
    top = max(used, default="")
    stored = st.meta("hlc") or ""
    if top and stored < top:
        return [f"stored clock {stored} is behind a stamp already used, {top}"], top
    return [], top


def restart_problems(st: Store, top: str, saved: list[tuple[str, str, str]]) -> list[str]:
    """Restart with the wall clock far behind: the next stamp must still sort after `top`."""
    dev = Device.open(st, wall=lambda: 0)
    job_id = st.db.execute("SELECT id FROM jobs ORDER BY id LIMIT 1").fetchone()[0]
    event = jobs.note(dev, job_id, "written after the restart")
    saved.append(("job.note", event["id"], job_id))
    if top and event["hlc"] <= top:
        return [f"after the restart the clock handed out {event['hlc']}, not after {top}"]
    return []


def device_problems(
    home: Path,
    known: Known,
    device_id: str,
    saved: list[tuple[str, str, str]],
    refused: list[tuple[str, str, str]],
    *,
    restart: bool = True,
) -> list[str]:
    st = open_store(db_path(home))  # the restart: recovery happens here
    try:
        out = physical_problems(st)
        if out:
            return out  # a damaged file: the rest would only repeat it
        ops = st.outbox()
        node = node_of(device_id)
        out += outbox_rows_problems(st, ops, device_id)
        out += accounted_problems(st, ops, known, node)
        out += told_problems(st, ops, known, saved, refused)
        clock, top = clock_problems(st, ops, node)
        out += clock
        if restart and not out:
            out += restart_problems(st, top, saved)
        return out
    finally:
        st.close()


# -- services only: the seeded start is the whole world ----------------------------------------


class Base:
    """The seeded device file every services kill starts from."""

    def __init__(self, home: Path):
        self.home = home
        st = open_store(db_path(home))
        seed(st, 150, now=datetime.now(UTC), seed=7)
        st.set_meta("user_id", "tech-demo")
        self.device_id = Device.open(st).device_id
        self.known = Known.from_store(st)
        self.jobs = {j["id"]: j for j in rows(st, "SELECT * FROM jobs")}
        self.problems = physical_problems(st)
        st.close()


def history_problems(home: Path, base: Base) -> list[str]:
    """Services only (nothing acknowledged): each job's status ops chain from its seeded
    status to its current one, and no job field changed without a stamp from an op."""
    out = []
    st = open_store(db_path(home))
    try:
        ops = [o for o in st.outbox() if o["op"] in ("job.status", "job.close")]
        for job in rows(st, "SELECT * FROM jobs"):
            start = base.jobs.get(job["id"])
            status = start["status"] if start else "assigned"
            for op in sorted(
                (o for o in ops if o["entity_id"] == job["id"]), key=lambda o: o["hlc"]
            ):
                if op["payload"]["from"] != status:
                    out.append(
                        f"job {job['id']}: op {op['id']} moves from {op['payload']['from']}"
                        f" but the job was {status} (an operation is missing)"
                    )
                status = op["payload"]["to"]
            if status != job["status"]:
                out.append(f"job {job['id']}: is {job['status']}, its operations say {status}")
            if start is None:
                continue
            stamps = json.loads(job["stamps"] or "{}")
            for name in JOB_FIELDS:
                if job[name] != start[name] and name not in stamps:
                    out.append(f"job {job['id']}: {name} changed with no operation stamping it")
    finally:
        st.close()
    return out


def session_problems(s: Session) -> list[str]:
    out = [f"worker error: {e}" for e in s.errors()]
    out += [ln for ln in s.lines if ln.startswith("TIMEOUT")]
    if not out and not (s.killed and s.signalled):
        out.append(f"the worker was not killed by SIGKILL (wait status {s.status})")
    return out


def p50(values) -> float:
    v = sorted(values)
    return v[len(v) // 2] if v else 1.0


def p90(values) -> float:
    v = sorted(values)
    return v[int(len(v) * 0.9)] if v else 1.0


ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{13}-\d{5}-\w+")


def report(
    name: str, kills: int, phases: Counter, failures: list, started: float, extra: str = ""
) -> str:
    """One line of numbers, then each kind of problem once (ids and stamps blanked out) with
    how many kills showed it and the first one that did, then the first failing kills."""
    lines = [
        f"{name}: {kills} kills in {time.monotonic() - started:.1f}s; where they landed: "
        + ", ".join(f"{k} {v}" for k, v in phases.most_common())
        + extra
    ]
    kinds: dict[str, tuple[int, str]] = {}
    for f in failures:
        for kind in {ID.sub("…", p) for p in f["problems"]}:
            n, first = kinds.get(kind, (0, ""))
            kinds[kind] = (n + 1, first or next(p for p in f["problems"] if ID.sub("…", p) == kind))
    if kinds:
        lines.append(f"{len(failures)} of {kills} kills failed; problems by kind:")
        for kind, (n, first) in sorted(kinds.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  [{n} kills] {kind}")
            lines.append(f"      e.g. {first[:300]}")
    for f in failures[:3]:
        lines.append(f"  kill {f['kill']} ({f['lane']}, seed {f['seed']}, {f['trigger']}):")
        lines += [f"    {p}" for p in f["problems"][:6]]
        lines += [f"    | {ln[:160]}" for ln in f["tail"]]
    return "\n".join(lines)


def failure(i: int, lane: str, s: Session, problems: list[str]) -> dict[str, Any]:
    return {
        "kill": i,
        "lane": lane,
        "seed": s.seed,
        "trigger": str(s.trigger),
        "problems": problems,
        "tail": s.lines[-4:],
    }


# -- the tests ------------------------------------------------------------------------------


def test_sigkill_while_a_person_works_loses_nothing(zygote, tmp_path):
    kills = kill_budget()["services"]
    base = Base(tmp_path / "base")
    assert base.problems == []
    rng = random.Random(base_seed())
    op_ms: deque[float] = deque([0.6], maxlen=300)
    phases: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    chain: tuple[Path, list, list] | None = None
    started = time.monotonic()
    for i in range(kills):
        if chain is not None and rng.random() < 0.3:
            home, saved, refused = chain  # crash again, on top of the last crash
        else:
            if chain is not None:
                shutil.rmtree(chain[0])
            home, saved, refused = tmp_path / f"kill{i}", [], []
            shutil.copytree(base.home, home)
        if rng.random() < 0.1:
            trigger = Trigger("PID", 1, rng.uniform(0, 0.03))  # while opening, first writes
        else:
            trigger = Trigger("BEGIN", rng.randint(1, 40), rng.uniform(0, 1.3 * p90(op_ms) / 1000))
        s = zygote.run(home, base_seed() + i, "services", trigger)
        phases[s.phase()] += 1
        op_ms.extend(float(ev[2]) for ev in s.events("SAVED"))
        saved += s.saved_ops()
        refused += s.refused_ops()
        problems = session_problems(s)
        problems += device_problems(home, base.known, base.device_id, saved, refused)
        if not problems:
            problems += history_problems(home, base)
        if problems:
            failures.append(failure(i, "services", s, problems))
            chain = None  # keep this copy for inspection
        else:
            chain = (home, saved, refused)
    summary = report("services", kills, phases, failures, started)
    print(summary)
    assert not failures, summary
    # The kills must really land inside actions, not only between them.
    assert phases["in an action"] >= kills // 4, summary


def hq_side_changes(world: World, rng: random.Random, n: int) -> None:
    """HQ works too, so the device has changes to pull: new jobs, requests decided."""
    for k in range(rng.choice((0, 1, 1, 2))):
        dispatch.create_job(
            world.hq,
            ADMIN,
            {
                "kind": rng.choice(("repair", "install", "maintenance")),
                "summary": "Not cooling",
                "customer_name": f"Customer {n}-{k}",
                "address": f"{n} Station St",
                "technician": world.tech_id,
                "appliance_category": "air conditioner",
                "ref": f"CR-{n:04d}-{k}",
                "confirmation_code": demo_code(f"CR-{n:04d}-{k}"),  # the worker knows it
            },
        )
    hq = HQRows(world)
    for req in hq.all(
        "SELECT id, status FROM part_requests WHERE technician_id = :t AND status IN "
        "('submitted', 'approved')",
        t=world.tech_id,
    ):
        if rng.random() < 0.6:
            target = (
                RequestStatus.APPROVED if req["status"] == "submitted" else RequestStatus.SHIPPED
            )
            requests.step(world.hq, ADMIN, req["id"], target)


def cursor_problems(home: Path, world: World) -> list[str]:
    """Every HQ row in scope up to the device's stored cursor is on the device."""
    st = open_store(db_path(home))
    try:
        cursor = int(st.meta("sync_cursor") or 0)
        out = []
        hq = HQRows(world)
        for table in HQRows.SCOPED:
            missing = {r[0] for r in hq.scoped(table, "id", cursor)} - ids(st, table)
            if missing:
                out.append(
                    f"cursor {cursor}: {len(missing)} {table} rows at or below it are not on "
                    f"the device, e.g. {sorted(missing)[:2]}"
                )
        return out
    finally:
        st.close()


def agreement_problems(home: Path, world: World, device_id: str, saved: list) -> list[str]:
    """After a clean sync: nothing pending, every saved op applied once, same rows both sides."""
    out = []
    known = Known.from_hq(world, device_id)
    hq = HQRows(world)
    st = open_store(db_path(home))
    try:
        ops = st.outbox()
        rejected = {o["id"]: o for o in ops if o["state"] == "rejected"}
        pending = [o for o in ops if o["state"] == "pending"]
        if pending:
            out.append(f"{len(pending)} ops still pending after a clean sync")
        for op_id, op in rejected.items():
            at_hq = known.applied.get(op_id)
            if not at_hq or at_hq["outcome"] != "rejected" or at_hq["reason"] != op["reason"]:
                out.append(f"rejected {op['op']} {op_id}: HQ's record says {at_hq}")
        for op, op_id, _entity in saved:
            if not known.acked(op_id) and op_id not in rejected:
                out.append(f"saved {op} {op_id}: never applied at HQ (lost)")
        at_hq = {t: {r[0] for r in hq.scoped(t, "id")} for t in HISTORY_OPS}
        for op_id, a in known.applied.items():
            table = next((t for t, names in HISTORY_OPS.items() if a["op"] in names), None)
            if a["outcome"] == "applied" and table and op_id not in at_hq[table]:
                out.append(f"applied op {a['op']} {op_id} has no {table} row at HQ")
        scope_jobs = {r[0] for r in hq.scoped("jobs", "id")}
        if ids(st, "jobs") != scope_jobs:
            out.append(
                f"jobs differ: {len(ids(st, 'jobs') - scope_jobs)} only here, "
                f"{len(scope_jobs - ids(st, 'jobs'))} only at HQ"
            )
        cols = ", ".join(("id", *JOB_FIELDS))
        here = {r[0]: r for r in st.db.execute(f"SELECT {cols} FROM jobs")}
        for r in hq.scoped("jobs", cols):
            mine_row = here.get(r[0])
            if mine_row is not None and tuple(mine_row) != tuple(r):
                diff = {
                    c: (a, b)
                    for c, a, b in zip(JOB_FIELDS, mine_row[1:], r[1:], strict=True)
                    if a != b
                }
                out.append(f"job {r[0]} differs (device, HQ): {diff}")
        for table, cols in (
            ("job_events", "id, job_id, kind, from_status, to_status, hlc"),
            ("readings", "id, job_id, item_key, value, verdict, hlc"),
            ("stock_ledger", "id, sku, kind, qty, job_id, hlc"),
            ("part_requests", "id, sku, qty, status"),
        ):
            local = {
                tuple(r)
                for r in st.db.execute(f"SELECT {cols} FROM {table}")
                if r[0] not in rejected
            }
            if table in ("job_events", "readings"):
                local = {r for r in local if r[1] in scope_jobs}
            theirs = set(hq.scoped(table, cols))
            if local != theirs:
                out.append(
                    f"{table} differ: only here {sorted(local - theirs)[:2]}, "
                    f"only at HQ {sorted(theirs - local)[:2]} "
                    f"({len(local - theirs)}/{len(theirs - local)})"
                )
    finally:
        st.close()
    return out


def test_sigkill_while_syncing_loses_nothing_and_applies_once(zygote, world, tmp_path):
    budget = kill_budget()
    rng = random.Random(base_seed() + 1)
    work_home = tmp_path / "work"
    work_id = world.enroll(work_home)
    world.clean_sync(work_home)
    prime_home = tmp_path / "prime-base"
    prime_id = world.enroll(prime_home)  # enrolled, never synced: its first pull is the world
    lanes = ["work"] * budget["work"] + ["prime"] * budget["prime"]
    rng.shuffle(lanes)
    # How long applying an answer takes, to aim kills inside it: a first pull is timed once.
    probe = tmp_path / "probe"
    shutil.copytree(prime_home, probe)
    first_pull = zygote.run(probe, 0, "prime", Trigger("APPLIED", 1, 0)).events("APPLIED")
    assert first_pull, "the probe device never finished its first pull"
    shutil.rmtree(probe)
    apply_ms = {
        "work": deque([1.0], maxlen=300),
        "prime": deque([float(first_pull[0][1])], maxlen=50),
    }
    op_ms: deque[float] = deque([1.0], maxlen=300)
    phases: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    saved: list[tuple[str, str, str]] = []
    refused: list[tuple[str, str, str]] = []
    pushed = 0
    spent: Counter[str] = Counter()
    started = time.monotonic()
    for i, lane in enumerate(lanes):
        if lane == "work":
            home, device_id = work_home, work_id
            hq_side_changes(world, rng, i)
            r = rng.random()
            if r < 0.55:
                # Most answers apply in a millisecond or two (some wait for the person's
                # write to finish): aim at the typical one.
                delay = rng.uniform(0, 3 * p50(apply_ms["work"]) / 1000)
                trigger = Trigger("APPLYING", rng.randint(1, 3), delay)
            elif r < 0.9:
                delay = rng.uniform(0, 1.3 * p90(op_ms) / 1000)
                trigger = Trigger("BEGIN", rng.randint(1, 60), delay)
            else:
                trigger = Trigger("PID", 1, rng.uniform(0, 0.1))
        else:
            home, device_id = tmp_path / f"prime{i}", prime_id
            shutil.copytree(prime_home, home)
            if rng.random() < 0.85:
                delay = rng.uniform(0, 1.2 * p50(apply_ms["prime"]) / 1000)
                trigger = Trigger("APPLYING", 1, delay)
            else:
                trigger = Trigger("PID", 1, rng.uniform(0, 0.3))
        t0 = time.monotonic()
        s = zygote.run(
            home, base_seed() + 10_000 + i, "sync" if lane == "work" else "prime", trigger
        )
        t1 = time.monotonic()
        spent["running until killed"] += t1 - t0
        phases[f"{lane}: {s.phase()}"] += 1
        apply_ms[lane].extend(float(ev[1]) for ev in s.events("APPLIED"))
        op_ms.extend(float(ev[2]) for ev in s.events("SAVED"))
        if lane == "work":
            saved += s.saved_ops()
            refused += s.refused_ops()
            pushed += sum(int(ev[1]) for ev in s.events("APPLYING"))
        problems = session_problems(s)
        known = Known.from_hq(world, device_id)
        problems += device_problems(
            home,
            known,
            device_id,
            saved if lane == "work" else [],
            refused if lane == "work" else [],
            restart=lane == "work",  # prime copies share one device id: they never write
        )
        problems += cursor_problems(home, world)
        t2 = time.monotonic()
        spent["checking after the kill"] += t2 - t1
        try:
            world.clean_sync(home)
        except FieldtechError as exc:
            problems.append(f"the clean sync after the crash failed: {exc}")
        else:
            t3 = time.monotonic()
            spent["clean sync"] += t3 - t2
            problems += agreement_problems(home, world, device_id, saved if lane == "work" else [])
            spent["checking HQ and device agree"] += time.monotonic() - t3
        if problems:
            failures.append(failure(i, lane, s, problems))
        elif lane == "prime":
            shutil.rmtree(home)
    summary = report(
        "sync",
        len(lanes),
        phases,
        failures,
        started,
        f"; {len(saved)} ops saved, {pushed} acks seen by the worker; apply ms p50/p90: "
        + ", ".join(f"{k} {p50(v):.1f}/{p90(v):.1f}" for k, v in apply_ms.items())
        + "; time: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in spent.items()),
    )
    print(summary)
    assert not failures, summary
    in_apply = sum(v for k, v in phases.items() if k.endswith("applying HQ's answer"))
    assert in_apply >= len(lanes) // 4, summary


# -- what the kills found, pinned down without them -------------------------------------------


def test_after_a_restart_the_clock_never_repeats_a_stamp_the_screens_used(tmp_path):
    """The app's screens and its sync agent hold two connections to one file. The agent
    stores its own clock when it applies HQ's answer, over the later stamp the screens
    stored, so after a restart the device hands out a stamp it has already used."""
    path = tmp_path / "device.sqlite"
    st = open_store(path)
    seed(st, 20, now=datetime.now(UTC), seed=7)
    st.close()
    wall = 1_800_000_000_000  # both connections read the same wall clock
    screens = Device.open(open_store(path), wall=lambda: wall)
    agent = Device.open(open_store(path), wall=lambda: wall)
    job_id = screens.store.db.execute("SELECT id FROM jobs ORDER BY id LIMIT 1").fetchone()[0]
    jobs.note(screens, job_id, "one")
    used = jobs.note(screens, job_id, "two")["hlc"]  # same millisecond: counter 1
    client = SyncClient(agent, "http://127.0.0.1:9", "unused")
    client.apply({"acks": [], "changes": {}, "cursor": 0, "clock": f"{wall - 1000:013d}-00000-hq"})
    client.close()
    stored = agent.store.meta("hlc")
    screens.store.close()
    agent.store.close()
    after = Device.open(open_store(path), wall=lambda: wall)  # the restart
    try:
        again = jobs.note(after, job_id, "three")["hlc"]
    finally:
        after.store.close()
    assert stored >= used, f"the stored clock went back from {used} to {stored}"
    assert again > used, f"after the restart the clock handed out {again} again"


def test_an_escalation_reaches_the_device_when_a_later_op_shares_its_batch(world, tmp_path):
    """HQ raises the job's escalation level when it applies `escalation.raise`; a later op
    on the same job in the same push marks HQ's row as the device's own (origin), so the
    row never comes back and the device never learns the level."""
    user, code = auth.add_user(world.hq, name="Kofi Mensah", role="technician", team="north")
    job = dispatch.create_job(
        world.hq,
        ADMIN,
        {
            "kind": "repair",
            "summary": "Leaking water",
            "customer_name": "Escalation Customer",
            "address": "9 Mill Lane",
            "technician": user["id"],
            "appliance_category": "air conditioner",
        },
    )
    home = tmp_path / "kofi"
    st = open_store(db_path(home))
    dev = Device.open(st)
    enroll(dev, credential_path(home), world.url, code)
    token = credentials.load(credential_path(home))["token"]
    client = SyncClient(dev, world.url, token)
    try:
        client.sync()
        jobs.arrive(dev, job["id"])
        escalations.escalate(dev, job["id"], "need HQ help")
        jobs.hold(dev, job["id"], "waiting for parts")
        client.sync()
        client.sync()
        here = st.job(job["id"])
    finally:
        client.close()
        st.close()
    at_hq = HQRows(world).all("SELECT escalation_level FROM jobs WHERE id = :i", i=job["id"])
    assert at_hq[0]["escalation_level"] > 0
    assert here["escalation_level"] == at_hq[0]["escalation_level"]

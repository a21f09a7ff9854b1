"""Numbered schema migrations. Never edit a released one: add the next number."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fieldtech.store.database import Database

Migration = Callable[["Database"], None]


def m001_core(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE customers (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT, email TEXT,
            vip INTEGER NOT NULL DEFAULT 0, notes TEXT, created_at TEXT
        );
        CREATE TABLE sites (
            id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id),
            address TEXT NOT NULL, city TEXT, contact_name TEXT, contact_phone TEXT,
            access_notes TEXT, hazards TEXT NOT NULL DEFAULT '[]', altitude_m INTEGER
        );
        CREATE TABLE appliances (
            id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id),
            site_id TEXT REFERENCES sites(id), category TEXT NOT NULL, brand TEXT,
            model TEXT, serial TEXT, installed_on TEXT
        );
        CREATE TABLE templates (
            id TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
            job_kind TEXT NOT NULL, category TEXT, PRIMARY KEY (id, version)
        );
        CREATE TABLE template_items (
            template_id TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL,
            key TEXT NOT NULL, section TEXT NOT NULL, label TEXT NOT NULL, type TEXT NOT NULL,
            required INTEGER NOT NULL DEFAULT 0, unit TEXT, min REAL, max REAL,
            choices TEXT, out_of_range TEXT NOT NULL DEFAULT 'warn', help TEXT,
            PRIMARY KEY (template_id, version, key),
            FOREIGN KEY (template_id, version) REFERENCES templates(id, version)
        );
        CREATE TABLE jobs (
            id TEXT PRIMARY KEY, ref TEXT NOT NULL, kind TEXT NOT NULL,
            priority TEXT NOT NULL, priority_rank INTEGER NOT NULL,
            status TEXT NOT NULL, open INTEGER NOT NULL DEFAULT 1,
            customer_id TEXT NOT NULL REFERENCES customers(id),
            site_id TEXT NOT NULL REFERENCES sites(id),
            appliance_id TEXT REFERENCES appliances(id),
            technician_id TEXT, team TEXT, summary TEXT NOT NULL, description TEXT,
            window_start TEXT NOT NULL, window_end TEXT, sla_due TEXT NOT NULL,
            template_id TEXT, template_version INTEGER, confirmation_code TEXT,
            arrived_at TEXT, hold_reason TEXT, outcome TEXT, signoff_name TEXT,
            rating INTEGER, closed_at TEXT, cannot_complete_reason TEXT,
            parent_job_id TEXT REFERENCES jobs(id),
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            stamps TEXT NOT NULL DEFAULT '{}'
        );
        CREATE UNIQUE INDEX jobs_ref ON jobs(ref);
        CREATE INDEX jobs_queue ON jobs(open, priority_rank, sla_due, window_start, id);
        CREATE INDEX jobs_status_queue ON jobs(status, priority_rank, sla_due, window_start, id);
        CREATE INDEX jobs_customer ON jobs(customer_id);
        CREATE TABLE job_events (
            id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id),
            kind TEXT NOT NULL, from_status TEXT, to_status TEXT, body TEXT,
            actor TEXT, hlc TEXT NOT NULL, at TEXT NOT NULL
        );
        CREATE INDEX job_events_job ON job_events(job_id, hlc);
        CREATE TABLE readings (
            id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id),
            item_key TEXT NOT NULL, value TEXT NOT NULL, verdict TEXT NOT NULL,
            comment TEXT, actor TEXT, hlc TEXT NOT NULL, at TEXT NOT NULL
        );
        CREATE INDEX readings_job ON readings(job_id, item_key, hlc);
        CREATE TABLE parts (
            sku TEXT PRIMARY KEY, name TEXT NOT NULL, category TEXT, unit TEXT NOT NULL
            DEFAULT 'pc', barcode TEXT, price_cents INTEGER
        );
        CREATE UNIQUE INDEX parts_barcode ON parts(barcode) WHERE barcode IS NOT NULL;
        CREATE TABLE stock_ledger (
            id TEXT PRIMARY KEY, sku TEXT NOT NULL REFERENCES parts(sku),
            kind TEXT NOT NULL, qty INTEGER NOT NULL, job_id TEXT REFERENCES jobs(id),
            request_id TEXT, reason TEXT, override INTEGER NOT NULL DEFAULT 0,
            actor TEXT, hlc TEXT NOT NULL, at TEXT NOT NULL
        );
        CREATE INDEX stock_ledger_sku ON stock_ledger(sku);
        CREATE INDEX stock_ledger_job ON stock_ledger(job_id);
        CREATE TABLE part_requests (
            id TEXT PRIMARY KEY, sku TEXT NOT NULL REFERENCES parts(sku),
            qty INTEGER NOT NULL, job_id TEXT REFERENCES jobs(id), status TEXT NOT NULL,
            note TEXT, decided_reason TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            hlc TEXT NOT NULL
        );
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY, hlc TEXT NOT NULL, device_id TEXT NOT NULL,
            op TEXT NOT NULL, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
            payload TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 5,
            created_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending',
            reason TEXT, attempts INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX outbox_send ON outbox(state, priority, id);
        """
    )


def m002_search(db: Database) -> None:
    """Full-text search over jobs (with their customer, site and appliance), customers, parts."""
    db.executescript(
        """
        CREATE VIRTUAL TABLE jobs_fts USING fts5(job_id UNINDEXED, body,
            tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
        """
    )
    db["customers"].enable_fts(
        ["name", "phone", "email"], create_triggers=True, tokenize="unicode61"
    )
    db["parts"].enable_fts(
        ["sku", "name", "category", "barcode"], create_triggers=True, tokenize="unicode61"
    )


def m003_conflicts_escalation(db: Database) -> None:
    """Conflicts seen by sync, and the escalation level HQ sends down."""
    db.executescript(
        """
        CREATE TABLE conflicts (
            id TEXT PRIMARY KEY, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
            field TEXT NOT NULL, mine TEXT, theirs TEXT, theirs_by TEXT, theirs_at TEXT,
            mine_at TEXT, detected_at TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX conflicts_entity ON conflicts(entity, entity_id);
        ALTER TABLE jobs ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
        """
    )


# A job's place in the queue as one integer: priority, then promised time. Job search keys
# use it as the full-text rowid, so a search walks matches in queue order and stops early.
QUEUE_KEY_SQL = (
    "(j.priority_rank * 10000000000000000 + "
    "coalesce(CAST(strftime('%s', j.sla_due) AS INTEGER), 0) * 1000000 + (j.rowid % 1000000))"
)


def m004_search_in_queue_order(db: Database) -> None:
    """Rebuild job search so its rowids follow the queue order (fast filter-as-you-type)."""
    db.execute("ALTER TABLE jobs ADD COLUMN search_key INTEGER")
    db.execute("DROP TABLE jobs_fts")
    db.execute(
        "CREATE VIRTUAL TABLE jobs_fts USING fts5(job_id UNINDEXED, body, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    db.execute(f"UPDATE jobs AS j SET search_key = {QUEUE_KEY_SQL}")
    cols = [
        "j.ref",
        "j.id",
        "j.kind",
        "j.summary",
        "c.name",
        "c.phone",
        "s.address",
        "s.city",
        "a.category",
        "a.brand",
        "a.model",
        "a.serial",
    ]
    db.execute(
        "INSERT INTO jobs_fts (rowid, job_id, body) SELECT j.search_key, j.id, "
        + " || ' ' || ".join(f"coalesce({c}, '')" for c in cols)
        + " FROM jobs j JOIN customers c ON c.id = j.customer_id"
        " JOIN sites s ON s.id = j.site_id LEFT JOIN appliances a ON a.id = j.appliance_id"
    )


def m005_team(db: Database) -> None:
    """What a supervisor's device keeps: the team roster, call-backs, whose request is whose,
    and which escalation level has been acknowledged."""
    db.executescript(
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, team TEXT,
            active INTEGER NOT NULL DEFAULT 1, created_at TEXT
        );
        CREATE TABLE callbacks (
            id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs(id), technician_id TEXT,
            skill INTEGER NOT NULL, attitude INTEGER NOT NULL, adherence INTEGER NOT NULL,
            comment TEXT, recorded_by TEXT, at TEXT NOT NULL
        );
        CREATE INDEX callbacks_technician ON callbacks(technician_id);
        CREATE INDEX callbacks_job ON callbacks(job_id);
        CREATE INDEX jobs_technician ON jobs(technician_id, open);
        ALTER TABLE jobs ADD COLUMN escalation_ack_level INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE part_requests ADD COLUMN technician_id TEXT;
        """
    )


def m006_confirmation_hash(db: Database) -> None:
    """A device keeps the salted hash of a customer's confirmation code, never the code:
    each stored code becomes its hash and the column goes. With secure_delete the bytes
    of the old codes are overwritten, not left in free pages of the file."""
    from fieldtech.domain.jobs import hash_code

    was = db.execute("PRAGMA secure_delete").fetchone()[0]
    db.execute("PRAGMA secure_delete = ON")
    db.execute("ALTER TABLE jobs ADD COLUMN confirmation_hash TEXT")
    rows = db.execute(
        "SELECT id, confirmation_code FROM jobs WHERE confirmation_code IS NOT NULL"
    ).fetchall()
    db.conn.executemany(
        "UPDATE jobs SET confirmation_hash = ?, confirmation_code = NULL WHERE id = ?",
        [(hash_code(code, job_id), job_id) for job_id, code in rows],
    )
    db.execute("ALTER TABLE jobs DROP COLUMN confirmation_code")
    db.execute(f"PRAGMA secure_delete = {int(was)}")


def m007_customer_history(db: Database) -> None:
    """The customer file from HQ: their earlier jobs by anyone, as compact JSON."""
    db.execute("ALTER TABLE customers ADD COLUMN history TEXT")


def m008_notices(db: Database) -> None:
    """What sync tells the person that is not a conflict: a job reassigned away from them."""
    db.executescript(
        """
        CREATE TABLE notices (
            id TEXT PRIMARY KEY, kind TEXT NOT NULL, job_id TEXT NOT NULL, ref TEXT,
            who TEXT, who_id TEXT, at TEXT, work_kept INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX notices_unseen ON notices(seen, created_at);
        """
    )


def m009_hold_for(db: Database) -> None:
    """What a job on hold waits for, from a fixed set (parts, customer, other): the board
    counts by it instead of matching words in the reason. Older holds keep their reason;
    only the set's own words count as that kind."""
    db.execute("ALTER TABLE jobs ADD COLUMN hold_for TEXT")
    db.execute(
        """UPDATE jobs SET hold_for = CASE lower(trim(hold_reason))
             WHEN 'waiting for parts' THEN 'parts' WHEN 'parts' THEN 'parts'
             WHEN 'waiting for customer' THEN 'customer'
             WHEN 'waiting for the customer' THEN 'customer' WHEN 'customer' THEN 'customer'
             ELSE 'other' END
           WHERE status = 'on_hold'"""
    )


def m010_search_by_key(db: Database) -> None:
    """A search's matches join their jobs by the search key, the full-text rowid itself:
    the text index walks matches in queue order and each finds its job without reading the
    job id stored beside the text (~2× faster per keystroke on common words)."""
    db.execute("CREATE INDEX IF NOT EXISTS jobs_search_key ON jobs(search_key)")


def m011_search_waiting(db: Database) -> None:
    """Jobs whose search text arrived in a stream not yet indexed: a stream of pages indexes
    them once at its end, and a stream cut short leaves them here for the sync's end. Kept
    in the file, so a crash between the two loses no job from search."""
    db.execute("CREATE TABLE IF NOT EXISTS search_waiting (job_id TEXT PRIMARY KEY)")


def m012_attachments(db: Database) -> None:
    """Files kept as proof of work (the reference, from its attachment.add operation; a
    downscaled picture's original is kept until the small one reached HQ), and
    each file's upload to HQ by hash: `sent` bytes HQ acknowledged, `done_at` once all,
    `problem` what stops it (the bytes gone from this device) in words."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS attachments (
            id TEXT PRIMARY KEY, job_id TEXT NOT NULL, sha256 TEXT NOT NULL,
            size INTEGER NOT NULL, media_type TEXT NOT NULL, name TEXT NOT NULL,
            caption TEXT, item_key TEXT, actor TEXT, hlc TEXT NOT NULL, at TEXT NOT NULL,
            original_sha256 TEXT, original_size INTEGER
        );
        CREATE INDEX IF NOT EXISTS attachments_job ON attachments(job_id, hlc);
        CREATE INDEX IF NOT EXISTS attachments_hash ON attachments(sha256);
        CREATE TABLE IF NOT EXISTS uploads (
            sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL,
            sent INTEGER NOT NULL DEFAULT 0, done_at TEXT, problem TEXT
        );
        """
    )


def m013_carried(db: Database) -> None:
    """Other devices' bundles carried to HQ, each with HQ's reply (or its refusal in words)
    once this device's sync took it there, until handed over (fieldtech.store.carried)."""
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS carried (
            id TEXT PRIMARY KEY, device TEXT NOT NULL, operations INTEGER NOT NULL,
            size INTEGER NOT NULL, data BLOB NOT NULL, added_at TEXT NOT NULL,
            sent_at TEXT, problem TEXT, reply BLOB, replied_at TEXT, handed_at TEXT
        );
        """
    )


MIGRATIONS: tuple[Migration, ...] = (
    m001_core,
    m002_search,
    m003_conflicts_escalation,
    m004_search_in_queue_order,
    m005_team,
    m006_confirmation_hash,
    m007_customer_history,
    m008_notices,
    m009_hold_for,
    m010_search_by_key,
    m011_search_waiting,
    m012_attachments,
    m013_carried,
)
LATEST = len(MIGRATIONS)


def current_version(db: Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: Database, target: int = LATEST) -> list[int]:
    """Bring the file up to `target`, each step in its own transaction. Returns steps applied."""
    applied = []
    version = current_version(db)
    if version > LATEST:
        from fieldtech.domain.errors import FieldtechError

        raise FieldtechError(
            f"this data file is from a newer fieldtech (schema {version}, this build knows "
            f"{LATEST}); upgrade fieldtech"
        )
    for number in range(version + 1, target + 1):
        with db.atomic():
            MIGRATIONS[number - 1](db)
            db.execute(f"PRAGMA user_version = {number}")
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_history (version INTEGER PRIMARY KEY, "
                "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
            )
            db.execute("INSERT INTO schema_history (version) VALUES (?)", [number])
        applied.append(number)
    return applied

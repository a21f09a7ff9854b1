"""HQ tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

Every synced table has `seq`: a number from one HQ-wide counter, bumped on every write.
A device's pull cursor is the highest `seq` it has applied.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData()


def _seq() -> Column[int]:
    return Column("seq", BigInteger, nullable=False, index=True)


users = Table(
    "users",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("team", String(64)),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", String(20), nullable=False),
    # Supervisors' devices receive their team's roster (names for the board, reassignment).
    Column("seq", BigInteger, nullable=False, default=0, index=True),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), ForeignKey("users.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # enrollment | device | admin
    Column("secret_hash", String(128), nullable=False, unique=True),
    Column("device_id", String(64)),
    Column("device_name", Text),
    Column("created_at", String(20), nullable=False),
    Column("expires_at", String(20)),
    Column("used_at", String(20)),
    Column("revoked_at", String(20)),
    Column("last_seen", String(20)),
    # A device credential: the enrollment code it was issued for, so a retry of that code
    # by the same device (its first answer lost) replaces it instead of leaving it unused.
    Column("enrollment_id", String(64)),
    # A device credential: the public half of the device's own key (Ed25519, base64url),
    # which signs the bundles it writes (fieldtech.sync.bundles). Revoked with it.
    Column("public_key", String(64)),
    # ...and of the key (X25519) HQ's replies to its bundles are sealed to.
    Column("box_key", String(64)),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("email", Text),
    Column("vip", Integer, nullable=False, default=0),
    Column("notes", Text),
    Column("created_at", String(20)),
    # The name as it reads (fieldtech.domain.customers.name_key): how dispatch finds the
    # same person typed another way. HQ's own; not sent to devices.
    Column("match_key", Text, index=True),
    _seq(),
)

sites = Table(
    "sites",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False),
    Column("address", Text, nullable=False),
    Column("city", Text),
    Column("contact_name", Text),
    Column("contact_phone", Text),
    Column("access_notes", Text),
    Column("hazards", Text, nullable=False, default="[]"),
    Column("altitude_m", Integer),
    _seq(),
)

appliances = Table(
    "appliances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False),
    Column("site_id", String(64), ForeignKey("sites.id")),
    Column("category", Text, nullable=False),
    Column("brand", Text),
    Column("model", Text),
    Column("serial", Text),
    Column("installed_on", String(10)),
    _seq(),
)

jobs = Table(
    "jobs",
    metadata,
    Column("origin", String(64)),  # device that wrote it last; not echoed back
    Column("id", String(64), primary_key=True),
    Column("ref", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("priority_rank", Integer, nullable=False),
    Column("status", String(24), nullable=False),
    Column("customer_id", String(64), ForeignKey("customers.id"), nullable=False, index=True),
    Column("site_id", String(64), ForeignKey("sites.id"), nullable=False, index=True),
    Column("appliance_id", String(64), ForeignKey("appliances.id")),
    Column("technician_id", String(64), index=True),
    Column("team", String(64), index=True),
    Column("summary", Text, nullable=False),
    Column("description", Text),
    Column("window_start", String(20), nullable=False),
    Column("window_end", String(20)),
    Column("sla_due", String(20), nullable=False),
    Column("template_id", String(64)),
    Column("template_version", Integer),
    Column("confirmation_code", String(32)),
    # Its salted hash as devices keep it, made once when the job is made: hashing it for
    # every pull was a sixth of HQ's time to prime a device. Older rows have none: made
    # as they are sent.
    Column("confirmation_hash", String(128)),
    Column("arrived_at", String(20)),
    Column("hold_reason", Text),
    Column("hold_for", Text),  # parts | customer | other: what the board counts by
    Column("outcome", String(32)),
    Column("signoff_name", Text),
    Column("rating", Integer),
    Column("closed_at", String(20)),
    Column("cannot_complete_reason", Text),
    Column("parent_job_id", String(64)),
    Column("created_at", String(20), nullable=False),
    Column("updated_at", String(20), nullable=False),
    Column("stamps", Text, nullable=False, default="{}"),
    Column("escalation_level", Integer, nullable=False, default=0),
    Column("escalation_ack_level", Integer, nullable=False, default=0),
    _seq(),
)

job_assignments = Table(
    "job_assignments",
    metadata,
    Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False),
    Column("technician_id", String(64), nullable=False),
    Column("at", String(20), nullable=False),
    PrimaryKeyConstraint("job_id", "technician_id"),
    Index("job_assignments_technician", "technician_id"),
)

job_events = Table(
    "job_events",
    metadata,
    Column("origin", String(64)),  # device that wrote it last; not echoed back
    Column("id", String(64), primary_key=True),
    Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("from_status", String(24)),
    Column("to_status", String(24)),
    Column("body", Text),
    Column("actor", String(64)),
    Column("hlc", String(64), nullable=False),
    Column("at", String(20), nullable=False),
    _seq(),
)

readings = Table(
    "readings",
    metadata,
    Column("origin", String(64)),  # device that wrote it last; not echoed back
    Column("id", String(64), primary_key=True),
    Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("item_key", String(64), nullable=False),
    Column("value", Text, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("comment", Text),
    Column("actor", String(64)),
    Column("hlc", String(64), nullable=False),
    Column("at", String(20), nullable=False),
    _seq(),
)

parts = Table(
    "parts",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("category", Text),
    Column("unit", String(16), nullable=False, default="pc"),
    Column("barcode", String(64), unique=True),
    Column("price_cents", Integer),
    _seq(),
)

stock_ledger = Table(
    "stock_ledger",
    metadata,
    Column("origin", String(64)),  # device that wrote it last; not echoed back
    Column("id", String(64), primary_key=True),
    Column("technician_id", String(64), nullable=False, index=True),
    Column("sku", String(64), ForeignKey("parts.sku"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("job_id", String(64)),
    Column("request_id", String(64)),
    Column("reason", Text),
    Column("override", Integer, nullable=False, default=0),
    Column("actor", String(64)),
    Column("hlc", String(64), nullable=False),
    Column("at", String(20), nullable=False),
    _seq(),
)

part_requests = Table(
    "part_requests",
    metadata,
    Column("origin", String(64)),  # device that wrote it last; not echoed back
    Column("id", String(64), primary_key=True),
    Column("technician_id", String(64), nullable=False, index=True),
    Column("team", String(64)),
    Column("sku", String(64), ForeignKey("parts.sku"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("job_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("note", Text),
    Column("decided_reason", Text),
    Column("created_at", String(20), nullable=False),
    Column("updated_at", String(20), nullable=False),
    Column("hlc", String(64), nullable=False),
    _seq(),
)

templates = Table(
    "templates",
    metadata,
    Column("id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("job_kind", String(16), nullable=False),
    Column("category", Text),
    Column("items", Text, nullable=False),  # JSON list of items, in order
    PrimaryKeyConstraint("id", "version"),
    _seq(),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("entity", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("mine", Text),
    Column("theirs", Text),
    Column("theirs_by", String(64)),
    Column("theirs_at", String(20)),
    Column("mine_at", String(20)),
    Column("detected_at", String(20), nullable=False),
    Column("technician_id", String(64), index=True),
    Column("team", String(64)),
    _seq(),
)

applied_ops = Table(
    "applied_ops",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("device_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("op", String(32), nullable=False),
    Column("entity_id", String(64)),
    Column("hlc", String(64), nullable=False),
    Column("received_at", String(20), nullable=False),
    Column("outcome", String(16), nullable=False),  # applied | rejected
    Column("reason", Text),
)

# Each device's latest push, by a key of its op ids (protocol.request_key): a device whose
# answer was lost asks with that key whether HQ holds the request and how it went.
push_outcomes = Table(
    "push_outcomes",
    metadata,
    Column("device_id", String(64), primary_key=True),
    Column("request_key", String(64), nullable=False),
    Column("through", String(64), nullable=False),
    Column("rejected", Text, nullable=False),  # JSON: [{"id", "reason"}]
    Column("at", String(20), nullable=False),
)

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("technician_id", String(64), index=True),
    Column("team", String(64)),
    Column("skill", Integer, nullable=False),
    Column("attitude", Integer, nullable=False),
    Column("adherence", Integer, nullable=False),
    Column("comment", Text),
    Column("recorded_by", String(64), nullable=False),
    Column("at", String(20), nullable=False),
    _seq(),
)

# A file kept as proof of work on a job: the reference, from its attachment.add operation.
attachments = Table(
    "attachments",
    metadata,
    Column("origin", String(64)),
    Column("id", String(64), primary_key=True),
    Column("job_id", String(64), ForeignKey("jobs.id"), nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("caption", Text),
    Column("item_key", String(64)),
    Column("actor", String(64)),
    Column("hlc", String(64), nullable=False),
    Column("at", String(20), nullable=False),
    _seq(),
)

# A file's bytes as each person sends them: `received` of `size` so far (a cut resumes
# there); complete once they all came and hashed to `sha256`. Kept per uploader: bytes are
# served for an attachment only when its author sent them whole (knowing a hash is not
# having the file), while the bytes themselves are kept once, in HQ's file store.
files = Table(
    "files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("uploader", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("received", BigInteger, nullable=False, default=0),
    Column("complete", Boolean, nullable=False, default=False),
    Column("started_at", String(20), nullable=False),
    Column("completed_at", String(20)),
)

# A technician's first sync, prepared while their enrollment code waits (fieldtech.hq.priming):
# the frames a new device would be streamed from cursor 0, as they were at `cursor`. Not a
# synced table: the pages in `body` are HQ's own rows, as any pull would send them.
primings = Table(
    "primings",
    metadata,
    Column("technician_id", String(64), ForeignKey("users.id"), primary_key=True),
    Column("release", String(64), nullable=False),  # the form of the pages; another is unused
    Column("cursor", BigInteger, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("built_at", String(20), nullable=False),
    Column("body", LargeBinary, nullable=False),
)

# HQ's own keys: `bundles` signs HQ's replies to bundles, `box` opens the bundles sealed to
# HQ (fieldtech.hq.signing).
hq_keys = Table(
    "hq_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("private", String(64), nullable=False),
    Column("public", String(64), nullable=False),
    Column("created_at", String(20), nullable=False),
)

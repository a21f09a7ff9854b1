"""A search finds the same jobs, in the same order, whether its matches find their jobs by
the search key (the queue's way) or by the job id stored beside the text."""

from __future__ import annotations

from datetime import UTC, datetime

from fieldtech.services.seed import seed
from fieldtech.store import open_store
from fieldtech.store.jobs import QueueFilter, fts_query

BY_ID = """SELECT j.id FROM jobs_fts f JOIN jobs j ON j.id = f.job_id
           WHERE jobs_fts MATCH ? AND j.open = 1 ORDER BY f.rowid"""


def test_search_by_key_matches_search_by_id_as_jobs_change(tmp_path):
    store = open_store(tmp_path / "device.sqlite")
    seed(store, 300, now=datetime(2026, 11, 23, 8, tzinfo=UTC))
    texts = ["ha", "haier", "no hot", "wa", "J-0001", "lhasa", "shigatse ar", "zz"]

    def check() -> None:
        for text in texts:
            got = [r["id"] for r in store.queue(QueueFilter(text=text, open_only=True), limit=500)]
            want = [r[0] for r in store.db.execute(BY_ID, [fts_query(text)]).fetchall()]
            assert got == want, text

    check()
    # Jobs whose place in the queue moves (priority) are found at their new place.
    for row in store.queue(limit=40)[::3]:
        store.db.execute("UPDATE jobs SET priority = 'low' WHERE id = ?", [row["id"]])
        store.refresh_job_search(row["id"])
    check()
    assert any(store.queue(QueueFilter(text=t, open_only=True), limit=1) for t in texts)

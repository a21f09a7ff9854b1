"""Rows from HQ written straight to SQLite: an upsert keeps what the row does not carry,
a history row never doubles, lists go in as JSON, and search waits for the stream's end."""

from __future__ import annotations

import json

from fieldtech.store import open_store
from fieldtech.store.jobs import QueueFilter
from fieldtech.sync.client import apply_changes


def block(rows: list[dict]) -> dict:
    cols = list(rows[0])
    return {"cols": cols, "rows": [[r[c] for c in cols] for r in rows]}


def test_an_upsert_keeps_columns_the_row_does_not_carry_and_lists_go_as_json(tmp_path):
    st = open_store(tmp_path / "d.sqlite")
    with st.transaction():
        st.put_owned("customers", [{"id": "c1", "name": "Ana", "phone": "+55 1", "vip": 1}])
        st.put_owned("customers", [{"id": "c1", "name": "Ana Lima"}, {"id": "c2", "name": "Bo"}])
        st.put_owned(
            "sites",
            [{"id": "s1", "customer_id": "c1", "address": "1 Rua", "hazards": ["dog", "ladder"]}],
        )
    got = st.db.execute("SELECT id, name, phone, vip FROM customers ORDER BY id").fetchall()
    assert got == [("c1", "Ana Lima", "+55 1", 1), ("c2", "Bo", None, 0)]
    hazards = st.db.execute("SELECT hazards FROM sites").fetchone()[0]
    assert json.loads(hazards) == ["dog", "ladder"]


def test_history_rows_are_added_once_and_unknown_columns_are_left_out(tmp_path):
    st = open_store(tmp_path / "d.sqlite")
    event = {
        "id": "e1",
        "job_id": "j1",
        "kind": "note",
        "body": "first",
        "hlc": "0000000001-0000-hq",
        "at": "2026-11-23T08:00:00Z",
    }
    with st.transaction():
        st.defer_references()
        assert st.add_history("job_events", [event]) == 1
        again = {**event, "body": "changed", "column_of_a_newer_hq": 1}
        assert st.add_history("job_events", [again]) == 0
        kept = st.db.execute("SELECT body FROM job_events").fetchall()
        st.db.execute("DELETE FROM job_events")  # no job j1: leave nothing dangling
    assert kept == [("first",)]


JOB = {
    "id": "j1",
    "ref": "J-1",
    "kind": "repair",
    "priority": "normal",
    "priority_rank": 3,
    "status": "assigned",
    "customer_id": "c1",
    "site_id": "s1",
    "summary": "boiler makes a noise",
    "window_start": "2026-11-23T08:00:00Z",
    "sla_due": "2026-11-24T08:00:00Z",
    "created_at": "2026-11-23T07:00:00Z",
    "updated_at": "2026-11-23T07:00:00Z",
}


def lhasa_job() -> dict:
    """One page: a job at a site in Lhasa, with its customer."""
    return {
        "customers": block([{"id": "c1", "name": "Tenzin Dorje"}]),
        "sites": block(
            [{"id": "s1", "customer_id": "c1", "address": "3 Barkhor", "city": "Lhasa"}]
        ),
        "jobs": block([JOB]),
    }


def test_a_page_with_more_to_follow_is_searchable_only_once_the_stream_ends(tmp_path):
    st = open_store(tmp_path / "d.sqlite")
    changes = lhasa_job()
    find = QueueFilter(text="lhasa")
    with st.transaction():
        apply_changes(st, changes, search_now=False)
    assert [r["ref"] for r in st.queue(limit=10)] == ["J-1"]  # kept at once
    assert st.queue(find, limit=10) == []  # not indexed yet: it waits, in the file
    assert st.db.execute("SELECT job_id FROM search_waiting").fetchall() == [("j1",)]
    with st.transaction():
        assert st.index_waiting() == 1
    assert [r["ref"] for r in st.queue(find, limit=10)] == ["J-1"]
    assert st.db.execute("SELECT count(*) FROM search_waiting").fetchone()[0] == 0


def test_a_file_left_mid_stream_is_indexed_when_next_opened(tmp_path):
    """A sync killed between two pages of a stream never reached its end: the next open
    of the file indexes what those pages brought."""
    st = open_store(tmp_path / "d.sqlite")
    changes = lhasa_job()
    with st.transaction():
        apply_changes(st, changes, search_now=False)
    st.close()  # as if killed here: the stream's last page never came
    again = open_store(tmp_path / "d.sqlite")
    assert [r["ref"] for r in again.queue(QueueFilter(text="lhasa"), limit=10)] == ["J-1"]
    assert again.db.execute("SELECT count(*) FROM search_waiting").fetchone()[0] == 0

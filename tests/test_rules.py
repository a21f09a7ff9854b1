"""The trade's rules (pure domain): job lifecycle, checklists, parts, clocks and ids."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldtech.domain.checklists import (
    Item,
    ItemType,
    OutOfRange,
    Reading,
    Verdict,
    judge,
    missing_for_close,
    progress,
)
from fieldtech.domain.errors import BadInput, RuleBroken
from fieldtech.domain.hlc import Clock, Stamp
from fieldtech.domain.ids import new_id
from fieldtech.domain.jobs import (
    Priority,
    Status,
    check_transition,
    hash_code,
    parse_outcome,
    parse_priority,
    parse_rating,
    parse_status,
    resume_target,
    sla_words,
)
from fieldtech.domain.merge import lww, merge_status
from fieldtech.domain.parts import (
    REQUEST_FLOW,
    RequestStatus,
    check_quantity,
    check_request_step,
    check_use,
    on_hand,
)
from fieldtech.domain.templates import DEFAULT_TEMPLATES, template_for

# -- jobs ------------------------------------------------------------------------------------


# The job lifecycle, written out from the product's rules (DOMAIN.md's statuses; the README's
# job keys and CLI: set off, arrive, work, hold with a reason, resume, close only on site or
# at work and never from hold, cannot complete with a reason; cancelling is HQ's, and HQ
# reassigning puts an open job back to 'assigned'; a closed job stays closed). Deliberately
# NOT derived from fieldtech.domain.jobs: every pair below is compared with the code.
#   .    refused
#   ok   allowed, no reason needed
#   why  allowed only with a reason
_COLUMNS = "assigned en_route on_site in_progress on_hold completed cannot_complete cancelled"

FIELD_RULES = """
assigned          .   ok  ok  .   why .   why .
en_route          ok  .   ok  .   why .   why .
on_site           .   .   .   ok  why ok  why .
in_progress       .   .   .   .   why ok  why .
on_hold           ok  .   .   ok  .   .   why .
completed         .   .   .   .   .   .   .   .
cannot_complete   .   .   .   .   .   .   .   .
cancelled         .   .   .   .   .   .   .   .
"""
# Notes on the cells the documents leave to the product:
# - assigned -> on_site: a technician who reaches the site without pressing "set off" can
#   still press "arrived".
# - en_route -> assigned: turning back before arrival returns the job to the queue, not started.
# - on_hold -> assigned / in_progress: "resume" goes back to work if the technician had
#   arrived, else to the queue; hold -> completed is refused ("resume first").

# HQ (dispatch, a supervisor's decision) may do what the field does, and besides cancel any
# open job (with a reason) and send any open job back to 'assigned' (reassign).
HQ_RULES = """
assigned          .   ok  ok  .   why .   why why
en_route          ok  .   ok  .   why .   why why
on_site           ok  .   .   ok  why ok  why why
in_progress       ok  .   .   .   why ok  why why
on_hold           ok  .   .   ok  .   .   why why
completed         .   .   .   .   .   .   .   .
cannot_complete   .   .   .   .   .   .   .   .
cancelled         .   .   .   .   .   .   .   .
"""


def _rules(grid: str) -> dict[tuple[Status, Status], str]:
    columns = [Status(c) for c in _COLUMNS.split()]
    table: dict[tuple[Status, Status], str] = {}
    for row in grid.strip().splitlines():
        name, *cells = row.split()
        assert len(cells) == len(columns), row
        for target, cell in zip(columns, cells, strict=True):
            assert cell in (".", "ok", "why"), row
            table[(Status(name), target)] = cell
    assert set(table) == set(itertools.product(Status, Status)), "every status × target"
    return table


FIELD = _rules(FIELD_RULES)
HQ = _rules(HQ_RULES)
ALL_PAIRS = list(itertools.product(Status, Status))


def _moves(table, *cells):
    return [pair for pair in ALL_PAIRS if table[pair] in cells]


@pytest.mark.parametrize("by_hq", [False, True], ids=["field", "hq"])
@pytest.mark.parametrize(("a", "b"), ALL_PAIRS, ids=lambda s: s.value)
def test_every_move_matches_the_written_rules(a, b, by_hq):
    cell = (HQ if by_hq else FIELD)[(a, b)]
    if cell == ".":
        with pytest.raises(RuleBroken) as exc:
            check_transition(a, b, "a reason", by_hq=by_hq)
        message = exc.value.message
        assert a.words in message and b.words in message and "\n" not in message
        return
    check_transition(a, b, "a reason", by_hq=by_hq)
    for blank in (None, "", "   "):
        if cell == "why":
            with pytest.raises(RuleBroken, match="reason is required"):
                check_transition(a, b, blank, by_hq=by_hq)
        else:
            check_transition(a, b, blank, by_hq=by_hq)


def test_the_written_rules_say_what_the_product_promises():
    # The table itself against the documented promises, so a typo in it cannot hide.
    assert all(FIELD[(a, Status.CANCELLED)] == "." for a in Status), "only HQ cancels"
    for closed in (Status.COMPLETED, Status.CANNOT_COMPLETE, Status.CANCELLED):
        assert all(FIELD[(closed, t)] == HQ[(closed, t)] == "." for t in Status)
    for s in Status:
        assert FIELD[(s, s)] == "." and HQ[(s, s)] == "."
    assert FIELD[(Status.ON_HOLD, Status.COMPLETED)] == "."  # resume first
    assert {b for a, b in _moves(FIELD, "why")} == {Status.ON_HOLD, Status.CANNOT_COMPLETE}
    assert all(FIELD[p] == "." or HQ[p] == FIELD[p] for p in ALL_PAIRS)  # HQ ⊇ field


def test_a_terminal_status_reports_the_job_as_already_closed():
    with pytest.raises(RuleBroken, match="already completed"):
        check_transition(Status.COMPLETED, Status.IN_PROGRESS, "reopen", by_hq=True)


def test_resume_goes_back_to_work_only_after_arrival():
    assert resume_target(True) is Status.IN_PROGRESS
    assert resume_target(False) is Status.ASSIGNED
    assert FIELD[(Status.ON_HOLD, resume_target(True))] == "ok"
    assert FIELD[(Status.ON_HOLD, resume_target(False))] == "ok"


def test_parsers_refuse_with_one_line():
    assert parse_status("On Hold") is Status.ON_HOLD
    assert parse_priority("VIP") is Priority.VIP
    assert parse_outcome("no fault found") == "no_fault_found"
    assert parse_rating("4") == 4
    for fn, bad in (
        (parse_status, "done-ish"),
        (parse_priority, "asap"),
        (parse_outcome, "fixed?"),
        (parse_rating, "five"),
        (parse_rating, 6),
    ):
        with pytest.raises(BadInput) as exc:
            fn(bad)
        assert "\n" not in str(exc.value)


def test_priorities_rank_emergency_first():
    assert sorted(Priority, key=lambda p: p.rank)[:2] == [Priority.EMERGENCY, Priority.VIP]


def test_sla_words():
    assert sla_words("2026-11-23T12:30:00Z", "2026-11-23T10:00:00Z") == "due in 2h 30m"
    assert sla_words("2026-11-21T08:00:00Z", "2026-11-23T10:00:00Z") == "overdue 2d 2h"
    assert sla_words("2026-11-23T10:05:00Z", "2026-11-23T10:00:00Z") == "due in 5m"


@given(st.lists(st.sampled_from(list(Status)), min_size=1, max_size=12))
def test_random_walks_only_take_allowed_edges(targets):
    current = Status.ASSIGNED
    for t in targets:
        try:
            check_transition(current, t, "why")
        except RuleBroken:
            assert FIELD[(current, t)] == "."
            continue
        assert FIELD[(current, t)] != "."
        current = t


# -- checklists ---------------------------------------------------------------------------------

VOLT = Item(
    "v",
    "Supply voltage",
    ItemType.NUMBER,
    unit="V",
    min=198,
    max=242,
    out_of_range=OutOfRange.BLOCK,
    required=True,
)
PRESSURE = Item("p", "Mains pressure", ItemType.NUMBER, unit="MPa", max=0.75, required=True)
TICK = Item("t", "Leak check passed", ItemType.TICK, required=True)
WALL = Item("w", "Wall type", ItemType.CHOICE, choices=("brick", "concrete"))
NOTE = Item("n", "Diagnosis", ItemType.TEXT, required=True)


def test_judge_each_type():
    assert judge(TICK, "Yes").value == "yes" and judge(TICK, "no").value == "no"
    assert judge(VOLT, "230,5").value == "230.5"
    assert judge(WALL, "BRICK").value == "brick"
    assert judge(NOTE, " compressor ok ").value == "compressor ok"
    for item, bad in (
        (TICK, "maybe"),
        (VOLT, "abc"),
        (VOLT, "nan"),
        (VOLT, "inf"),
        (WALL, "steel"),
        (NOTE, ""),
        (NOTE, "x" * 2001),
    ):
        with pytest.raises(BadInput):
            judge(item, bad)


def test_out_of_range_warning_needs_a_comment_and_blocker_is_recorded():
    with pytest.raises(BadInput, match="add a comment"):
        judge(PRESSURE, "0.8")
    j = judge(PRESSURE, "0.8", "reducing valve fitted")
    assert j.verdict is Verdict.WARNING
    b = judge(VOLT, "260")
    assert b.verdict is Verdict.BLOCKER and "before closing" in b.message


def _template():
    from fieldtech.domain.checklists import Template

    return Template("t", 1, "T", "repair", None, (VOLT, PRESSURE, TICK, WALL, NOTE))


def test_close_lists_everything_missing_in_checklist_order():
    readings = {"v": Reading("v", "260", "blocker"), "t": Reading("t", "no", "ok")}
    missing = missing_for_close(
        _template(),
        readings,
        outcome=None,
        signoff_name=" ",
        code_given=None,
        code_hash=hash_code("123456", "job-1"),
        rating=None,
    )
    assert missing == [
        "Supply voltage: 260 is out of range (198–242 V)",
        "Mains pressure: not recorded",
        "Leak check passed: not ticked",
        "Diagnosis: not recorded",
        "outcome not chosen",
        "customer's name not typed",
        "customer's confirmation code not entered",
        "customer's rating (1–5) not given",
    ]
    wrong = missing_for_close(
        None,
        {},
        outcome="repaired",
        signoff_name="A",
        code_given="1",
        code_hash=hash_code("123456", "job-1"),
        rating=5,
    )
    assert wrong == ["confirmation code does not match the customer's"]


def test_progress_counts_required_items_done():
    readings = {
        "v": Reading("v", "230", "ok"),
        "t": Reading("t", "yes", "ok"),
        "w": Reading("w", "brick", "ok"),
    }
    assert progress(_template(), readings) == (2, 4)


# -- parts --------------------------------------------------------------------------------------


def test_van_stock_is_the_signed_sum_of_the_ledger():
    assert on_hand([("received", 10), ("used", 3), ("returned", 2), ("adjusted", -1)]) == 4


@given(
    st.lists(
        st.tuples(st.sampled_from(["received", "used", "returned", "adjusted"]), st.integers(1, 50))
    )
)
def test_on_hand_property(lines):
    sign = {"received": 1, "used": -1, "returned": -1, "adjusted": 1}
    assert on_hand(lines) == sum(sign[k] * q for k, q in lines)


def test_quantities_and_override():
    assert check_quantity("3") == 3
    for bad in ("0", "-1", "x", "20000"):
        with pytest.raises(BadInput):
            check_quantity(bad)
    assert check_quantity("-2", allow_negative=True) == -2
    assert check_use(5, 5, None) is False
    with pytest.raises(RuleBroken, match="only 1 on hand"):
        check_use(1, 2, None)
    assert check_use(1, 2, "taken from the customer's spare") is True


def test_part_request_flow_and_who_steps():
    check_request_step(RequestStatus.DRAFT, RequestStatus.SUBMITTED, by_hq=False)
    check_request_step(RequestStatus.SUBMITTED, RequestStatus.APPROVED, by_hq=True)
    check_request_step(RequestStatus.APPROVED, RequestStatus.SHIPPED, by_hq=True)
    check_request_step(RequestStatus.SHIPPED, RequestStatus.RECEIVED, by_hq=False)
    with pytest.raises(RuleBroken, match="only HQ"):
        check_request_step(RequestStatus.SUBMITTED, RequestStatus.APPROVED, by_hq=False)
    with pytest.raises(RuleBroken, match="cannot become"):
        check_request_step(RequestStatus.DRAFT, RequestStatus.SHIPPED, by_hq=True)
    for s in (RequestStatus.REJECTED, RequestStatus.RECEIVED, RequestStatus.CANCELLED):
        assert not REQUEST_FLOW[s]


# -- templates ------------------------------------------------------------------------------------

COURTESY = {"service_card", "shoe_covers", "floor_cloth", "clean_up", "other_appliances"}


@pytest.mark.parametrize("t", DEFAULT_TEMPLATES, ids=lambda t: t.id)
def test_every_template_has_the_courtesy_items_and_unique_keys(t):
    keys = [i.key for i in t.items]
    assert len(keys) == len(set(keys))
    assert set(keys) >= COURTESY


def test_realistic_ranges():
    ac = template_for("install", "air conditioner")
    assert (ac.item("supply_voltage").min, ac.item("supply_voltage").max) == (198, 242)
    assert ac.item("evacuation").max == 500 and ac.item("insulation").min == 2
    assert ac.item("supply_voltage").out_of_range is OutOfRange.BLOCK
    wh = template_for("install", "water heater")
    assert wh.item("mains_pressure").max == 0.75
    assert template_for("repair", "refrigerator").id == "repair-visit"


# -- clocks, ids, merge -------------------------------------------------------------------------


@given(
    st.lists(
        st.one_of(
            # 13-digit milliseconds: the stamp format holds until the year 2286.
            st.tuples(st.just("now"), st.integers(0, 10**13 - 1)),
            st.tuples(st.just("observe"), st.integers(0, 10**13 - 1)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_hlc_never_goes_backwards_even_when_the_wall_does(steps):
    wall = {"ms": 0}
    clock = Clock("devA", wall=lambda: wall["ms"])
    last = clock.last
    for kind, ms in steps:
        if kind == "now":
            wall["ms"] = ms
            stamp = clock.now()
            assert Stamp.parse(stamp) > Stamp.parse(last)
            last = stamp
        else:
            remote = str(Stamp(ms, 3, "devB"))
            clock.observe(remote)
            nxt = clock.now()
            assert Stamp.parse(nxt) > Stamp.parse(remote) and nxt > last
            last = nxt


def test_stamp_text_sorts_like_the_clock_and_garbage_is_refused():
    a, b = str(Stamp(5, 2, "x")), str(Stamp(40, 0, "a"))
    assert a < b
    with pytest.raises(BadInput):
        Stamp.parse("yesterday")


def test_ids_sort_by_creation_time():
    ids = [new_id(now_ms=ms) for ms in (1_000, 2_000, 3_000_000)]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_ids_made_in_the_same_millisecond_keep_their_order():
    ids = [new_id() for _ in range(20_000)]  # many share a millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 7 for i in ids[:100])


def test_last_writer_wins_by_stamp():
    won, stamps = lww({"a": 1}, {"a": "0000000000002-00000-x"}, {"a": 2}, "0000000000001-00000-y")
    assert won == {} and stamps["a"].endswith("x")
    won, stamps = lww({"a": 1}, {"a": "0000000000001-00000-x"}, {"a": 2}, "0000000000001-00000-y")
    assert won == {"a": 2}  # same time: the device id breaks the tie


def test_status_merge_keeps_field_work_over_a_cancel():
    d = merge_status("cancelled", "on_site", "completed")
    assert d.apply and "cancelled" in d.conflict
    assert merge_status("en_route", "assigned", "en_route").apply is False  # already there
    stale = merge_status("completed", "assigned", "en_route")
    assert not stale.apply and stale.conflict is None


@pytest.mark.parametrize(("cur", "dst"), _moves(FIELD, "ok", "why"), ids=lambda s: s.value)
def test_a_field_move_allowed_from_hqs_status_applies_without_conflict(cur, dst):
    # The device's step came from elsewhere, but it is a move the written rules allow now.
    src = next(s for s in Status if s not in (cur, dst))
    d = merge_status(cur.value, src.value, dst.value)
    assert d.apply and d.conflict is None


def test_demo_data_is_deterministic():
    from fieldtech.domain.demo_data import generate

    day = datetime(2026, 11, 23, tzinfo=UTC)
    assert generate(30, now=day).jobs == generate(30, now=day).jobs
    assert generate(30, now=day).jobs != generate(30, now=day, seed=8).jobs

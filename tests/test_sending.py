"""What goes first under a byte budget: expected answers worked out here, independently of
fieldtech.domain.sending's own tables."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fieldtech.domain.sending import Waiting, choose

# The order, written out again: escalations/emergencies, status and closes, part
# requests and stock, readings, notes, then the rest.
CLASS_OF = {
    "escalation.raise": 0,
    "escalation.ack": 0,
    "job.status": 1,
    "job.close": 1,
    "job.assign": 1,
    "job.create": 1,
    "callback.record": 1,
    "part_request.create": 2,
    "part_request.step": 2,
    "stock.move": 2,
    "reading.add": 3,
    "job.note": 4,
    "attachment.add": 5,
}
KINDS = sorted(CLASS_OF)


def w(op: str, job: str, size: int = 10, priority: int = 5) -> Waiting:
    # An operation is on a job when it is a job's (job., reading., escalation., callback.)
    # or its payload names the job.
    if not op.startswith(("job.", "reading.", "escalation.", "callback.")):
        return Waiting(op, f"x-{job}-{op}", {"job": job}, priority, size)
    return Waiting(op, job, {}, priority, size)


def test_independent_operations_go_most_urgent_first():
    ops = [w(k, f"job{i}") for i, k in enumerate(reversed(KINDS))]
    chosen = choose(ops, 40)  # four of them fit
    want = sorted(range(len(ops)), key=lambda i: (CLASS_OF[ops[i].op], i))[:4]
    assert chosen == sorted(want)


def test_an_emergency_jobs_note_goes_before_another_jobs_status():
    ops = [w("job.status", "a"), w("job.note", "b", priority=1)]
    assert choose(ops, 10) == [1]


def test_a_close_brings_the_readings_made_before_it_or_waits():
    ops = [w("reading.add", "a"), w("reading.add", "a"), w("job.close", "a"), w("job.note", "b")]
    assert choose(ops, 30) == [0, 1, 2]  # the close goes with its readings
    assert choose(ops, 25) == [0, 1]  # not all three fit: the readings go, the close waits
    assert choose(ops, 10**6) == [0, 1, 2, 3]


@st.composite
def outboxes(draw):
    n = draw(st.integers(0, 40))
    jobs = draw(st.lists(st.sampled_from("abcdef"), min_size=n, max_size=n))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=n, max_size=n))
    sizes = draw(st.lists(st.integers(1, 50), min_size=n, max_size=n))
    prios = draw(st.lists(st.sampled_from([0, 1, 5]), min_size=n, max_size=n))
    return [w(k, j, s, p) for k, j, s, p in zip(kinds, jobs, sizes, prios, strict=True)]


def job_of(x: Waiting) -> str:
    return x.payload.get("job") or x.entity_id


@given(outboxes(), st.integers(0, 600))
def test_within_budget_in_order_and_nothing_overtakes_on_its_job(ops, budget):
    chosen = choose(ops, budget)
    assert chosen == sorted(set(chosen))
    assert sum(ops[i].size for i in chosen) <= budget
    for job in {job_of(x) for x in ops}:
        mine = [i for i, x in enumerate(ops) if job_of(x) == job]
        went = [i for i in mine if i in chosen]
        assert went == mine[: len(went)], (job, mine, went)  # a prefix of the job's work


@given(outboxes())
def test_everything_goes_when_it_all_fits(ops):
    assert choose(ops, sum(x.size for x in ops)) == list(range(len(ops)))


@given(outboxes(), st.integers(0, 600))
def test_nothing_that_would_fit_is_left_behind_by_a_less_urgent_one(ops, budget):
    """If an op waits while one of a less urgent class went, the waiting one (with what it
    must not overtake) did not fit in what was left when its turn came."""
    chosen = set(choose(ops, budget))
    left = budget - sum(ops[i].size for i in chosen)
    for i, x in enumerate(ops):
        if i in chosen:
            continue
        job = job_of(x)
        # what it would need now: itself and its job's earlier work not yet gone
        need = [j for j in range(i + 1) if job_of(ops[j]) == job and j not in chosen]
        assert sum(ops[j].size for j in need) > left

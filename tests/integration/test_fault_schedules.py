"""A slice of the randomized fault schedules (tests/integration/schedules.py) for every CI
run; the full 1,000 is one command, and its latest result is in docs/RELIABILITY.md."""

from __future__ import annotations

import os

import pytest

from tests.integration.schedules import play

pytestmark = pytest.mark.integration

SLICE = int(os.environ.get("FIELDTECH_SCHEDULES", "12"))


@pytest.mark.parametrize("seed", range(1, SLICE + 1))
def test_fault_schedule(seed, tmp_path):
    played = play(seed, tmp_path)
    # The schedule did what it is for: work was written and went through faulty syncs.
    assert played["sync"] > 0 and played["field"] > 0

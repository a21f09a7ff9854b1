"""The app benchmark's probe measures what it says: it runs the installed command's entry
point on an enrolled profile, types from the first frame, and each settled screen it keeps
shows the search typed and that search's first job."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

from benchmarks.session_probe import QUERIES
from benchmarks.tui_bench import check_screens, enroll_offline
from fieldtech.services.seed import seed
from fieldtech.store import open_store


def test_typing_from_the_first_frame_on_a_small_profile(tmp_path):
    store = open_store(tmp_path / "data" / "device.sqlite")
    seed(store, 300, now=datetime(2026, 11, 23, 8, tzinfo=UTC))
    store.close()
    enroll_offline(tmp_path)
    out = tmp_path / "probe.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.session_probe", "queue", str(tmp_path)]
        + ["--type", "--rounds", "1", "--size", "120x40", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(out.read_text())
    typed = [k["typed"] for k in found["keystrokes"]]
    assert typed == [q[:i] for q in QUERIES for i in range(1, len(q) + 1)]
    assert found["keystrokes"][0]["after_first_frame"] < 1.0  # typing began at the first frame
    assert all(k["took"] > 0 for k in found["keystrokes"])
    assert found["peak_mib"] > 10
    check_screens(tmp_path, found["keystrokes"])  # raises if a screen shows the wrong rows
    for k in found["keystrokes"]:
        assert k["typed"].rstrip() in k["screen"][1]

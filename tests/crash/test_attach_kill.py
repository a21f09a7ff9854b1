"""SIGKILL during `fieldtech attach`: whenever the process dies, the device holds neither a
reference without its bytes nor (once tidied) bytes without a reference."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from fieldtech.services.seed import seed
from fieldtech.store import open_store
from tests.pictures import picture

KILLS = 12


def test_a_kill_at_any_moment_of_an_attach_leaves_reference_and_bytes_together(tmp_path):
    home = tmp_path / "profile"
    store = open_store(home / "data" / "device.sqlite")
    seed(store, 20, now=datetime.now(UTC), seed=3)
    job = store.queue(limit=1)[0]["id"]
    store.close()
    rng = random.Random(14)
    photos = []
    for n in range(KILLS):  # ~15 MB each: copying and syncing one takes a while
        path = tmp_path / f"photo{n}.jpg"
        path.write_bytes(picture(14_000_000, n))
        photos.append(path)
    env = {**os.environ, "FIELDTECH_HOME": str(home)}

    def attach(path):
        return subprocess.Popen(
            [sys.executable, "-m", "fieldtech", "attach", job, str(path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    started = time.monotonic()  # one whole attach, unkilled: how long the kills may range
    assert attach(photos.pop()).wait() == 0
    whole = time.monotonic() - started
    killed = 0
    for path in photos:
        proc = attach(path)
        time.sleep(rng.uniform(0.5, 1.0) * whole)  # past the start, into the copy and commit
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()

        s = open_store(home / "data" / "device.sqlite")
        try:
            refs = s.db.execute("SELECT id, sha256 FROM attachments").fetchall()
            for _id, sha in refs:  # every reference names whole bytes that hash right
                kept = s.file_path(sha)
                assert hashlib.sha256(kept.read_bytes()).hexdigest() == sha
            ops = s.db.execute("SELECT id FROM outbox WHERE op = 'attachment.add'").fetchall()
            assert sorted(o[0] for o in ops) == sorted(r[0] for r in refs)
            s.drop_unreferenced(older_than=0)  # what the next start does once they are old
            named = {sha for _id, sha in refs}
            left = {p.name for p in s.files_dir.glob("**/*") if p.is_file()}
            assert left == named
        finally:
            s.close()
    assert killed >= (KILLS - 1) // 3, "the kills must land during attaches, not after them"

"""What the terminal shows while a technician types into the queue's search box.

Every frame the app draws is replayed through a terminal emulator (the recorder the
benchmark uses). No frame may show the typed text above rows that belong to an earlier
search: the refill happens in the keystroke's own step, so one frame carries both.
"""

from __future__ import annotations

import gc
import re
import weakref

from textual import events

import fieldtech.app
from benchmarks.frames import Frames
from fieldtech.store.jobs import QueueFilter
from tests.app_support import make_app, until

REF = re.compile(r"\bJ-\d{6}\b")


class _Cycle(list):
    """A list that can be weakly referenced."""


def refs_shown(screen: str) -> list[str]:
    return [m.group() for line in screen.splitlines()[4:] for m in REF.finditer(line)]


async def test_no_frame_shows_typed_text_above_stale_rows(tmp_path):
    app = make_app(tmp_path, jobs=400)
    frames = Frames(app, 120, 40)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        await pilot.pause()
        frames.shown()
        typed = ""
        for ch in "lhasa":
            typed += ch
            event = events.Key(ch, ch)
            event.set_sender(app)
            want = app.store.queue(QueueFilter(text=typed, open_only=True), limit=60)
            want_refs = [r["ref"] for r in want]
            app.post_message(event)  # as the driver does with a key from the terminal
            shown: list[tuple[float, str]] = []

            def settled(typed=typed, shown=shown, want_refs=want_refs) -> bool:
                shown.extend(frames.shown())
                if not shown or typed not in shown[-1][1].splitlines()[1]:
                    return False
                on_screen = refs_shown(shown[-1][1])
                return bool(on_screen) and on_screen == want_refs[: len(on_screen)]

            # Every frame up to the one showing the search's own rows, then each is checked.
            await until(pilot, settled, f"the rows for {typed!r} on screen")
            for _, screen in shown:
                if typed in screen.splitlines()[1]:
                    on_screen = refs_shown(screen)
                    assert on_screen, screen
                    assert on_screen == want_refs[: len(on_screen)], (typed, screen)
            assert typed in shown[-1][1].splitlines()[1]


async def test_start_up_garbage_is_collected_then_the_rest_frozen(tmp_path, monkeypatch):
    monkeypatch.setattr(fieldtech.app, "SETTLE_MEMORY", 0.05)
    gc.unfreeze()
    gc.disable()  # as the command starts (fieldtech.launch)
    cycle = _Cycle()
    cycle.append(cycle)  # garbage in a cycle, made while starting
    doomed = weakref.ref(cycle)
    del cycle
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.memory_settled, "start-up's memory to settle")
        assert gc.isenabled()
        assert doomed() is None  # collected, not frozen with what the app keeps
        assert gc.get_freeze_count() > 10_000

"""The `fieldtech` command's entry point.

Starting the app imports ~450 modules and builds the queue: tens of thousands of objects,
nearly all of which live as long as the process. The cyclic collector would walk them
again and again on the way (~100 passes, ~10 ms), so it is off until the first frame is
up; the app then freezes what start-up built and turns it back on. Every other command
turns it back on as soon as its arguments are parsed.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from fieldtech.cli import main as run

    run()

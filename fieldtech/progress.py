"""A progress bar for long commands: on stderr, and only when a person watches it, so piped
output and logs stay clean."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

Step = Callable[[int, int], None]  # (done, total)


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Step | None]:
    """Yields a step function for a terminal's stderr, or None when stderr is not one."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        label,
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(label, total=None)

    def step(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        yield step

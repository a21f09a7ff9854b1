"""Hybrid logical clock: wall time that never runs backwards, plus a counter.

Timestamps are strings that sort in causal order: ``<ms:013>-<counter:05>-<node>``.
The node (device id) breaks ties, so two writers never produce equal stamps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from fieldtech.domain.errors import BadInput


@dataclass(frozen=True, order=True)
class Stamp:
    ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.ms:013d}-{self.counter:05d}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        try:
            ms, counter, node = text.split("-", 2)
            # Fixed widths are what make the strings sort in time order.
            if len(ms) != 13 or len(counter) != 5 or not node:
                raise ValueError(text)
            return cls(int(ms), int(counter), node)
        except (ValueError, AttributeError):
            raise BadInput(f"not a clock timestamp: {text!r}") from None


def node_of(device_id: str) -> str:
    """The name a device's clock stamps carry: the last 12 hex digits of its id."""
    return device_id.replace("-", "")[-12:]


def wall_ms() -> int:
    return int(time.time() * 1000)


class Clock:
    """One per device (and one per HQ process); not shared across threads without a lock."""

    def __init__(self, node: str, last: str | None = None, wall: Callable[[], int] = wall_ms):
        self.node = node
        self.wall = wall
        s = Stamp.parse(last) if last else Stamp(0, 0, node)
        self._ms, self._counter = s.ms, s.counter

    def now(self) -> str:
        physical = self.wall()
        if physical > self._ms:
            self._ms, self._counter = physical, 0
        else:
            self._counter += 1
        return str(Stamp(self._ms, self._counter, self.node))

    def observe(self, remote: str) -> None:
        """Advance past a stamp received from elsewhere, so what we write next sorts after it."""
        r = Stamp.parse(remote)
        physical = self.wall()
        top = max(physical, self._ms, r.ms)
        if top == self._ms == r.ms:
            self._counter = max(self._counter, r.counter) + 1
        elif top == self._ms:
            self._counter += 1
        elif top == r.ms:
            self._counter = r.counter + 1
        else:
            self._counter = 0
        self._ms = top

    @property
    def last(self) -> str:
        return str(Stamp(self._ms, self._counter, self.node))

"""Virtual time for a simulated board.

Time is counted in core clock cycles and advanced only by executed instructions, debug-port
transactions and explicit waits, so every run of the same scenario is identical. Peripherals
compute their state lazily from `now` (a flash erase is "busy until cycle N") and may schedule
callbacks for events that must fire at an exact instant (fault injection, timers).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True)
class _Event:
    at: int
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Clock:
    """Monotonic cycle counter with a small event queue."""

    def __init__(self, hz: int) -> None:
        self.hz = hz
        self.now = 0
        self._events: list[_Event] = []
        self._seq = itertools.count()

    def cycles(self, microseconds: float) -> int:
        return max(1, int(microseconds * self.hz / 1_000_000))

    @property
    def seconds(self) -> float:
        return self.now / self.hz

    def advance(self, cycles: int) -> None:
        """Move time forward, firing due events in order (an event may schedule others)."""
        target = self.now + max(0, cycles)
        while self._events and self._events[0].at <= target:
            ev = heapq.heappop(self._events)
            if ev.cancelled:
                continue
            self.now = max(self.now, ev.at)
            ev.callback()
        self.now = max(self.now, target)

    def advance_us(self, microseconds: float) -> None:
        self.advance(self.cycles(microseconds))

    def schedule(self, at: int, callback: Callable[[], None]) -> _Event:
        ev = _Event(at, next(self._seq), callback)
        heapq.heappush(self._events, ev)
        return ev

    def next_event(self) -> int | None:
        """Cycle of the next pending event, so a running core can slice its budget to it."""
        while self._events and self._events[0].cancelled:
            heapq.heappop(self._events)
        return self._events[0].at if self._events else None

    def clear_events(self) -> None:
        self._events.clear()

"""Polling with a budget, paced through `Target.delay` so simulated time advances cheaply."""

from __future__ import annotations

from collections.abc import Callable

from stm32_hil.errors import TargetTimeout
from stm32_hil.target.base import Target


def wait_until(
    target: Target,
    done: Callable[[], bool],
    timeout_s: float,
    what: str,
    *,
    first_interval_s: float = 10e-6,
    max_interval_s: float = 10e-3,
) -> None:
    """Poll `done()` with exponential back-off until it holds or `timeout_s` of target time passes.

    Raises TargetTimeout naming `what`, so a stuck BSY flag reads as "sector erase of 0x08020000
    did not finish within 10 s", not as a hang.
    """
    waited = 0.0
    interval = first_interval_s
    while not done():
        if waited >= timeout_s:
            raise TargetTimeout(
                f"{target.name}: {what} did not finish within {timeout_s:g} s",
                hint="the flash controller may be stuck busy; power-cycle the board",
            )
        target.delay(interval)
        waited += interval
        interval = min(interval * 2, max_interval_s)

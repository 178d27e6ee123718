"""SysTick on virtual time (ARMv6-M/ARMv7-M architecture manuals, "SysTick timer").

The counter is never decremented step by step: its value is computed from `clock.now` and the
instant it was last (re)started, and the wrap to zero is a clock event. The core slices its
execution to the next clock event, so the SysTick exception is taken on the exact instruction
boundary where the counter reached zero.
"""

from __future__ import annotations

from collections.abc import Callable

from stm32_hil.sim.clock import Clock

CSR_ENABLE, CSR_TICKINT, CSR_CLKSOURCE, CSR_COUNTFLAG = 1 << 0, 1 << 1, 1 << 2, 1 << 16
EXTERNAL_DIVIDER = 8  # STM32: the SysTick external reference is HCLK / 8


class SysTick:
    """CSR/RVR/CVR/CALIB state; `on_wrap` pends exception 15 when TICKINT is set."""

    def __init__(self, clock: Clock, on_wrap: Callable[[], None]) -> None:
        self.clock = clock
        self.on_wrap = on_wrap
        # TENMS: reference ticks in 10 ms, SKEW=1 because HCLK/8 is rarely exact.
        self.calib = (1 << 30) | ((clock.hz // EXTERNAL_DIVIDER // 100 - 1) & 0xFFFFFF)
        self._event: object | None = None
        self.reset()

    def reset(self) -> None:
        self._cancel()
        self.csr = 0
        self.rvr = 0
        self._value = 0  # counter value at cycle `_since`
        self._since = self.clock.now

    # -- counter arithmetic -------------------------------------------------------------
    @property
    def _div(self) -> int:
        return 1 if self.csr & CSR_CLKSOURCE else EXTERNAL_DIVIDER

    def _first_zero(self) -> int | None:
        """Cycle at which the counter next reaches zero from (`_value`, `_since`)."""
        if self._value:
            return self._since + self._value * self._div
        if self.rvr == 0:
            return None
        return self._since + (1 + self.rvr) * self._div

    def _current(self) -> int:
        if not self.csr & CSR_ENABLE:
            return self._value
        now = self.clock.now
        ticks = (now - self._since) // self._div
        if self._value and ticks <= self._value:
            return self._value - ticks
        if self.rvr == 0:
            return 0
        # After the first zero (or a reload from 0), the counter cycles RVR..0.
        past = ticks - self._value - 1
        if past < 0:
            return 0
        return self.rvr - (past % (self.rvr + 1))

    def _cancel(self) -> None:
        if self._event is not None:
            self._event.cancelled = True  # type: ignore[attr-defined]
            self._event = None

    def _restart(self, value: int) -> None:
        self._cancel()
        self._value = value
        self._since = self.clock.now
        if self.csr & CSR_ENABLE:
            at = self._first_zero()
            if at is not None:
                self._event = self.clock.schedule(at, self._wrapped)

    def _wrapped(self) -> None:
        self._event = None
        self.csr |= CSR_COUNTFLAG
        # From zero, the next tick reloads RVR: model as "value 0 at now".
        self._value = 0
        self._since = self.clock.now
        if self.rvr:
            self._event = self.clock.schedule(
                self.clock.now + (self.rvr + 1) * self._div, self._wrapped
            )
        if self.csr & CSR_TICKINT:
            self.on_wrap()

    # -- registers ----------------------------------------------------------------------
    def read_csr(self, *, clear: bool = True) -> int:
        value = self.csr
        if clear:
            self.csr &= ~CSR_COUNTFLAG
        return value

    def write_csr(self, value: int) -> None:
        current = self._current()
        was_enabled = bool(self.csr & CSR_ENABLE)
        self.csr = (self.csr & CSR_COUNTFLAG) | (value & (CSR_ENABLE | CSR_TICKINT | CSR_CLKSOURCE))
        if self.csr & CSR_ENABLE:
            self._restart(current if was_enabled else self._value)
        else:
            self._cancel()
            self._value = current

    def write_rvr(self, value: int) -> None:
        current = self._current()
        self.rvr = value & 0xFFFFFF
        if self.csr & CSR_ENABLE:
            self._restart(current)

    def read_cvr(self) -> int:
        return self._current()

    def write_cvr(self, value: int) -> None:
        """Any write clears the counter to zero and COUNTFLAG (the next tick reloads RVR)."""
        self.csr &= ~CSR_COUNTFLAG
        self._restart(0)

"""Independent (IWDG) and window (WWDG) watchdogs on virtual time.

A watchdog matters to a test for one reason: firmware that stops refreshing it must see the
board reset, at the instant silicon would, and firmware that never starts it must never be
reset by it. Both counters are computed from an anchor (value, cycle) on access; the only clock
event is the bite (and the WWDG early-wakeup instant when its interrupt is enabled), so a
refreshed watchdog costs one rescheduled event per refresh.

Named shortcuts:
- LSI_IS_NOMINAL: the IWDG counts on an exact 32 kHz LSI (silicon: 17-47 kHz by part and
  temperature); PVU/RVU/WVU read 0 because updates apply at once.
- NO_HARDWARE_WATCHDOG: the IWDG_SW/WWDG_SW option bits (watchdog started by hardware at
  reset) are out of scope; a watchdog runs only once firmware starts it.
- IWDG_EARLY_WAKEUP_NOT_MODELLED: EWCR (IWDG v3) reads back; no early-wakeup interrupt.
- WWDG_CLOCK_IS_CORE_CLOCK: the WWDG counts on the virtual core clock (board.clock.hz) / 4096 /
  2**WDGTB; the APB prescaler is not modelled.
- WWDG_COUNTER_FROZEN_UNTIL_ENABLED: T[6:0] holds its value while WDGA=0 (silicon keeps
  counting; no firmware reads it before enabling).
- Watchdogs count on while a debugger halts the core (DBGMCU freeze bits not modelled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access
from stm32_hil.sim.periph.plain import PlainRegisters
from stm32_hil.target.base import ResetKind

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard
    from stm32_hil.sim.clock import Clock
    from stm32_hil.sim.periph.context import BlockContext


class _Anchored(PlainRegisters):
    """Shared plumbing: one pending clock event and a board reset as the bite."""

    def __init__(self, ctx: BlockContext, reset: dict[int, int]) -> None:
        self.board: SimBoard = ctx.board
        self._clock: Clock = ctx.board.clock
        self._event: object | None = None
        self.bites: list[tuple[int, str]] = []  # (cycle, cause): what this watchdog did
        super().__init__(ctx.name, ctx.base, reset, ctx.size)

    def _cancel(self) -> None:
        if self._event is not None:
            self._event.cancelled = True  # type: ignore[attr-defined]
            self._event = None

    def _schedule(self, at: int | None, callback: Callable[[], None]) -> None:
        self._cancel()
        if at is not None:
            self._event = self._clock.schedule(max(at, self._clock.now), callback)

    def _bite(self, cause: str) -> None:
        """Reset the board; the reset brings this block back to its stopped reset state."""
        self._cancel()
        self.bites.append((self._clock.now, cause))
        self.board.reset(ResetKind.SYSTEM, cause)


# -- IWDG -------------------------------------------------------------------------------------
KR, PR, RLR, IWDG_SR, WINR = 0x00, 0x04, 0x08, 0x0C, 0x10
KEY_ACCESS, KEY_START, KEY_RELOAD = 0x5555, 0xCCCC, 0xAAAA
LSI_HZ = 32_000
IWDG_MAX = 0xFFF  # 12-bit counter, RLR and WINR reset value


class Iwdg(_Anchored):
    """KR key protocol, PR/RLR/WINR, and the down-counter on the LSI (RM "IWDG")."""

    def __init__(self, ctx: BlockContext) -> None:
        found = ctx.field("PR", "PR")
        pr_width = found[2] if found is not None else 3
        # Dividers stop doubling at /256 (3-bit PR) or /1024 (4-bit PR, IWDG v3).
        self.max_pr = 6 if pr_width == 3 else 8
        self.pr_mask = (1 << pr_width) - 1
        layout = ctx.layout
        self.has_window = layout.named("WINR") is not None if layout is not None else True
        self.started = False
        self._unlocked = False
        self._value = IWDG_MAX  # counter at cycle `_since`: 0xFFF at start, as on silicon
        self._since = 0
        reset = {RLR: IWDG_MAX, **({WINR: IWDG_MAX} if self.has_window else {})}
        super().__init__(ctx, reset)

    def power_on(self) -> None:
        self._cancel()
        super().power_on()
        self.started = False
        self._unlocked = False
        self._value = IWDG_MAX
        self._since = self._clock.now

    # -- counter ---------------------------------------------------------------------------------
    @property
    def divider(self) -> int:
        return 4 << min(self.regs.get(PR, 0) & self.pr_mask, self.max_pr)

    def _cycles(self, ticks: int) -> int:
        """Core cycles for `ticks` LSI counter ticks at the current divider (rounded up)."""
        return -(-ticks * self.divider * self._clock.hz // LSI_HZ)

    def counter(self) -> int:
        """The down-counter now (it reaches the bite at -1: (RLR+1) ticks from a reload)."""
        if not self.started:
            return self._value
        elapsed = self._clock.now - self._since
        return self._value - elapsed * LSI_HZ // (self.divider * self._clock.hz)

    def _load(self, value: int) -> None:
        self._value = value
        self._since = self._clock.now
        if self.started:
            self._schedule(self._since + self._cycles(value + 1), self._timeout)

    def _timeout(self) -> None:
        self._event = None
        self._bite("IWDG timeout")

    def _reload(self) -> None:
        if self.started and self.has_window and self.counter() > self.regs.get(WINR, IWDG_MAX):
            self._bite("IWDG window")  # refreshed before the window opened
            return
        self._load(self.regs.get(RLR, IWDG_MAX))

    # -- registers -------------------------------------------------------------------------------
    def steady_write(self, offset: int, size: int, value: int) -> bool:
        if offset == KR:  # a refresh, or unlocking PR/RLR/WINR again: the same act each time
            return value in (KEY_RELOAD, KEY_ACCESS)
        return offset in (PR, RLR, WINR) and self.regs.get(offset) == value

    def read_reg(self, offset: int, access: Access) -> int:
        if offset in (KR, IWDG_SR):
            return 0  # KR is write-only; updates are immediate, so nothing is ever busy
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == KR:
            key = value & 0xFFFF
            self._unlocked = key == KEY_ACCESS  # any other value protects PR/RLR/WINR again
            if key == KEY_START and not self.started:
                self.started = True
                self._load(self._value)
            elif key == KEY_RELOAD:
                self._reload()
            return
        if offset in (PR, RLR, WINR) and not self._unlocked:
            return  # write-protected
        if offset == PR:
            current = self.counter()
            self.regs[PR] = value & self.pr_mask
            if self.started:
                self._load(current)  # the rest of the count runs at the new divider
        elif offset in (RLR, WINR):
            self.regs[offset] = value & IWDG_MAX
            if offset == WINR and self.started:
                self._reload()  # RM: writing WINR reloads the counter (HAL relies on it)
        elif offset != IWDG_SR:
            self.regs[offset] = value


# -- WWDG -------------------------------------------------------------------------------------
CR, CFR, WWDG_SR = 0x00, 0x04, 0x08
WDGA = 1 << 7
T_MASK = 0x7F
T6 = 0x40
EWIF = 1 << 0
WWDG_PRESCALE = 4096


class Wwdg(_Anchored):
    """CR/CFR/SR: T[6:0] down-counter, window, early-wakeup flag (RM "WWDG")."""

    def __init__(self, ctx: BlockContext) -> None:
        tb = ctx.field("CFR", "WDGTB")
        self.tb_shift, tb_width = (tb[1], tb[2]) if tb is not None else (7, 2)
        self.tb_mask = (1 << tb_width) - 1
        ewi = ctx.field("CFR", "EWI")
        self.ewi_bit = 1 << (ewi[1] if ewi is not None else 9)
        self._irq: Callable[[bool], None] | None = ctx.irq_line("GLOBAL")
        self.enabled = False
        self._value = T_MASK  # T[6:0] at cycle `_since`
        self._since = 0
        super().__init__(ctx, {CR: T_MASK, CFR: T_MASK})

    def power_on(self) -> None:
        self._cancel()
        super().power_on()
        self.enabled = False
        self._value = T_MASK
        self._since = self._clock.now
        self._drive()

    # -- counter ---------------------------------------------------------------------------------
    @property
    def tick(self) -> int:
        """Core cycles per counter step: 4096 * 2**WDGTB (WWDG_CLOCK_IS_CORE_CLOCK)."""
        wdgtb = (self.regs.get(CFR, 0) >> self.tb_shift) & self.tb_mask
        return WWDG_PRESCALE << wdgtb

    def _catch_up(self) -> None:
        """Bring the anchor to the last counter step; EWIF rises when 0x40 is passed."""
        if not self.enabled:
            return
        steps = (self._clock.now - self._since) // self.tick
        if not steps:
            return
        current = max(self._value - steps, 0)
        if self._value > T6 >= current:
            self.regs[WWDG_SR] = self.regs.get(WWDG_SR, 0) | EWIF
        self._since += steps * self.tick
        self._value = current

    def _reschedule(self) -> None:
        if not self.enabled:
            self._cancel()
            return
        bite = self._since + (self._value - (T6 - 1)) * self.tick  # T6 clears: 0x40 -> 0x3F
        at = bite
        wants_ewi = self.regs.get(CFR, 0) & self.ewi_bit and self._irq is not None
        if wants_ewi and self._value > T6 and not self.regs.get(WWDG_SR, 0) & EWIF:
            at = self._since + (self._value - T6) * self.tick
        self._schedule(at, self._on_event)

    def _on_event(self) -> None:
        self._event = None
        self._catch_up()
        if self.enabled and self._value < T6:
            self._bite("WWDG timeout")
            return
        self._drive()
        self._reschedule()

    def _drive(self) -> None:
        if self._irq is not None:
            sr, cfr = self.regs.get(WWDG_SR, 0), self.regs.get(CFR, 0)
            self._irq(bool(sr & EWIF and cfr & self.ewi_bit))

    # -- registers -------------------------------------------------------------------------------
    def steady_write(self, offset: int, size: int, value: int) -> bool:
        # Refreshing with the counter value written last time, once enabled, is the same act.
        return offset == CR and self.enabled and value == self.regs.get(CR)

    def read_reg(self, offset: int, access: Access) -> int:
        self._catch_up()
        if offset == CR:
            return self._value | (WDGA if self.enabled else 0)
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self._catch_up()
        if offset == CR:
            window = self.regs.get(CFR, T_MASK) & T_MASK
            if self.enabled and self._value > window:
                self._bite("WWDG window")  # refreshed before the window opened
                return
            self.enabled = self.enabled or bool(value & WDGA)  # WDGA is set-only
            self._value = value & T_MASK
            self._since = self._clock.now
            self.regs[CR] = self._value | (WDGA if self.enabled else 0)
            if self.enabled and not self._value & T6:
                self._bite("WWDG timeout")  # writing T6=0 resets at once
                return
        elif offset == WWDG_SR:
            self.regs[WWDG_SR] = self.regs.get(WWDG_SR, 0) & value  # EWIF: rc_w0
        else:
            self.regs[offset] = value
        self._drive()
        self._reschedule()

"""TIMx (basic, general-purpose, advanced; every version of the data) on virtual time.

What a HAL time base and a polling delay rely on: CNT counting at the timer clock / (PSC+1)
while CR1.CEN is set, the update event at the ARR wrap (SR.UIF, the PSC preload transfer, the
update interrupt), EGR.UG, one-pulse mode and down-counting. Capture/compare, slave modes,
DMA and the outputs are registers that read back what was written.

The counter is never ticked: it is an anchor (value, cycle) from which CNT follows on every
read, and a wrap is computed, not observed. Only with DIER.UIE set and an NVIC line does the
model schedule a clock event, at the exact cycle of the next update, so the core takes the
interrupt on the right instruction: one event per update period, none at all with UIE clear
(UIF is then computed when SR is read), so a free-running time base costs nothing.

Named shortcuts (where silicon differs and no code we run depends on it):
- TIMER_CLOCK_IS_CORE_CLOCK: the timer kernel clock is the virtual core clock (board.clock.hz);
  the APB prescalers and the x2 timer clock rule are not modelled.
- ARR_PRELOAD_IMMEDIATE: CR1.ARPE is ignored; a new ARR applies at once.
- CENTER_ALIGNED_AS_EDGE: CR1.CMS modes count as edge-aligned up-counting.
- RUNS_WHILE_HALTED: the DBGMCU freeze bits are not modelled; the timer counts on while a
  debugger holds the core.
- EGR bits other than UG only set the matching SR flags (CCxIF, COMIF, TIF, BIF); only the
  update event drives an interrupt line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access
from stm32_hil.sim.periph.plain import PlainRegisters

if TYPE_CHECKING:
    from stm32_hil.sim.clock import Clock
    from stm32_hil.sim.periph.context import BlockContext

# Reference-manual offsets, shared by every timer version of the data; used when the layout
# does not name the register.
DEFAULT_OFFSETS = {
    "CR1": 0x00,
    "DIER": 0x0C,
    "SR": 0x10,
    "EGR": 0x14,
    "CNT": 0x24,
    "PSC": 0x28,
    "ARR": 0x2C,
}
CEN, UDIS, URS, OPM, DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4
CMS_MASK = 0b11 << 5
UIFREMAP = 1 << 11
UIE = 1 << 0
UIF = 1 << 0
UG = 1 << 0
UIFCPY = 1 << 31
PSC_MASK = 0xFFFF
# EGR event bits whose SR flag sits at the same position (CCxG, COMG, TG, BG, B2G).
EGR_FLAG_BITS = 0x1FE
WIDE_TIMERS = ("TIM2", "TIM5")  # 32-bit on every family that has them as GP32


def counter_width(ctx: BlockContext) -> int:
    """Bits of CNT/ARR: the layout's CNT field, else 32 for 32-bit timers, else 16."""
    found = ctx.field("CNT", "CNT")
    if found is not None:
        return found[2]
    if ctx.info.block == "TIM_GP32" or ctx.name in WIDE_TIMERS:
        return 32
    return 16


class Timer(PlainRegisters):
    """One timer instance; built by the model table from the block's data."""

    time_source = True  # reads only catch up with virtual time

    def __init__(self, ctx: BlockContext) -> None:
        self._clock: Clock = ctx.board.clock
        layout = ctx.layout

        def offset(name: str) -> int:
            reg = layout.named(name) if layout is not None else None
            return reg.offset if reg is not None else DEFAULT_OFFSETS[name]

        self.off_cr1, self.off_dier, self.off_sr = offset("CR1"), offset("DIER"), offset("SR")
        self.off_egr, self.off_cnt = offset("EGR"), offset("CNT")
        self.off_psc, self.off_arr = offset("PSC"), offset("ARR")
        self.width = counter_width(ctx)
        self.mask = (1 << self.width) - 1
        sr = layout.named("SR") if layout is not None else None
        if layout is not None:
            self.can_count_down = layout.field("CR1", "DIR") is not None
            self.has_uifcpy = layout.field("CNT", "UIFCPY") is not None
        else:
            self.can_count_down = not (ctx.info.block or "").startswith("TIM_BASIC")
            self.has_uifcpy = self.width == 16
        # SR flags the block has, so EGR cannot raise a flag a basic timer lacks.
        self.sr_bits = 0xFFFF
        if sr is not None and sr.fields:
            self.sr_bits = UIF
            for f in sr.fields:
                self.sr_bits |= f.mask
        self._irq: Callable[[bool], None] | None = ctx.irq_line("UP")
        self._event: object | None = None
        # Counter state: value `_cnt` at cycle `_since` (a prescaler tick boundary) while
        # running; the frozen value while stopped. `_psc` is the active (shadow) prescaler.
        self._running = False
        self._cnt = 0
        self._since = 0
        self._psc = 0
        super().__init__(ctx.name, ctx.base, {self.off_arr: self.mask}, ctx.size)

    # -- reset ----------------------------------------------------------------------------
    def power_on(self) -> None:
        self._cancel()
        super().power_on()
        self._running = False
        self._cnt = 0
        self._since = self._clock.now
        self._psc = 0
        self._drive()

    # -- counter arithmetic ------------------------------------------------------------------
    def _reg(self, offset: int) -> int:
        return self.regs.get(offset, 0)

    @property
    def _div(self) -> int:
        return self._psc + 1

    @property
    def _arr(self) -> int:
        return self._reg(self.off_arr) & self.mask

    @property
    def _down(self) -> bool:
        cr1 = self._reg(self.off_cr1)
        return self.can_count_down and bool(cr1 & DIR) and not cr1 & CMS_MASK

    def _ticks_to_update(self) -> int:
        """Counter ticks from the anchor value to the next overflow/underflow."""
        if self._down:
            return self._cnt + 1
        if self._cnt <= self._arr:
            return self._arr - self._cnt + 1
        return self.mask - self._cnt + 1  # ARR lowered below CNT: runs on to the roll-over

    def _next_update(self) -> int:
        return self._since + self._ticks_to_update() * self._div

    def _count(self) -> int:
        """CNT now; callers have caught up, so no update lies between anchor and now."""
        if not self._running:
            return self._cnt
        ticks = (self._clock.now - self._since) // self._div
        return (self._cnt - ticks) if self._down else (self._cnt + ticks)

    def _reanchor(self) -> None:
        """Move the anchor to the last prescaler tick, keeping the prescaler's phase."""
        if not self._running:
            return
        ticks = (self._clock.now - self._since) // self._div
        self._cnt = self._count()
        self._since += ticks * self._div

    def _reload_value(self) -> int:
        return self._arr if self._down else 0

    def _update_event(self, at: int) -> None:
        """Overflow/underflow at cycle `at`: wrap, and with UDIS clear, the update event."""
        cr1 = self._reg(self.off_cr1)
        self._cnt = self._reload_value()
        self._since = at
        if cr1 & UDIS:
            return  # the counter wraps, but no UEV: no flag, no preload transfer
        self._psc = self._reg(self.off_psc) & PSC_MASK
        self.regs[self.off_sr] = self._reg(self.off_sr) | UIF
        if cr1 & OPM:
            self.regs[self.off_cr1] = cr1 & ~CEN
            self._running = False

    def _catch_up(self) -> None:
        """Apply every update that happened between the anchor and now."""
        if not self._running:
            return
        now = self._clock.now
        first = self._next_update()
        if now < first:
            return
        self._update_event(first)
        if not self._running:
            return  # one-pulse: stopped at the update
        period = (self._arr + 1) * self._div  # from the reload value, with the new prescaler
        self._since += (now - first) // period * period

    # -- interrupt and event ------------------------------------------------------------------
    def _drive(self) -> None:
        if self._irq is not None:
            self._irq(bool(self._reg(self.off_sr) & UIF and self._reg(self.off_dier) & UIE))

    def _cancel(self) -> None:
        if self._event is not None:
            self._event.cancelled = True  # type: ignore[attr-defined]
            self._event = None

    def _reschedule(self) -> None:
        """Schedule the next update while it can interrupt (UIE set and a line to drive).

        The event stays scheduled even while UIF is pending: the core bounds each execution
        slice by the next event when the slice starts, so a handler clearing UIF mid-slice
        finds the following update already scheduled and is interrupted on time."""
        self._cancel()
        if (
            self._running
            and self._irq is not None
            and self._reg(self.off_dier) & UIE
            and not self._reg(self.off_cr1) & UDIS
        ):
            self._event = self._clock.schedule(self._next_update(), self._on_update)

    def _on_update(self) -> None:
        self._event = None
        self._catch_up()
        self._drive()
        self._reschedule()

    def _changed(self) -> None:
        self._drive()
        self._reschedule()

    # -- registers ------------------------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        if offset == self.off_cnt:
            self._catch_up()
            value = self._count() & self.mask
            if self.has_uifcpy and self._reg(self.off_cr1) & UIFREMAP:
                value |= UIFCPY if self._reg(self.off_sr) & UIF else 0
            return value
        if offset == self.off_egr:
            return 0  # write-only event bits
        if offset in (self.off_sr, self.off_cr1):
            self._catch_up()
        return self._reg(offset)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self._catch_up()
        if offset == self.off_cr1:
            self._reanchor()
            was_running = self._running
            self.regs[offset] = value
            self._running = bool(value & CEN)
            if self._running and not was_running:
                self._since = self._clock.now
        elif offset == self.off_sr:
            self.regs[offset] = self._reg(offset) & value  # rc_w0: 0 clears, 1 keeps
        elif offset == self.off_egr:
            self._generate(value)
        elif offset == self.off_cnt:
            self._reanchor()
            self._cnt = value & self.mask
        elif offset == self.off_psc:
            self.regs[offset] = value & PSC_MASK  # preload: active at the next update event
        elif offset == self.off_arr:
            self._reanchor()
            self.regs[offset] = value & self.mask  # ARR_PRELOAD_IMMEDIATE
        else:
            self.regs[offset] = value
        self._changed()

    def _generate(self, value: int) -> None:
        """EGR: UG reinitialises counter and prescaler; other bits set their SR flag."""
        sr = self._reg(self.off_sr) | (value & EGR_FLAG_BITS & self.sr_bits)
        if value & UG:
            cr1 = self._reg(self.off_cr1)
            self._cnt = self._reload_value()
            self._since = self._clock.now
            if not cr1 & UDIS:
                self._psc = self._reg(self.off_psc) & PSC_MASK
                if not cr1 & URS:
                    sr |= UIF
        self.regs[self.off_sr] = sr

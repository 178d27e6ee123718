"""Flash patch and breakpoint unit (FPB, 0xE0002000) and a minimal DWT (0xE0001000).

Hardware breakpoints are FPB comparators, so a debugger writing FP_COMP through the bus and
`CortexM.set_breakpoint` use the same, limited, set. FPB version 1 (Cortex-M0+/M3/M4)
matches the code region only: FP_COMPn.COMP holds address bits [28:2], REPLACE [31:30] selects
the lower (01) or upper (10) half-word, bit 0 enables. Version 2 (Cortex-M7, FP_CTRL.REV=1)
holds BPADDR [31:1] with BE in bit 0 and matches the whole address space.
"""

from __future__ import annotations

from collections.abc import Callable

from stm32_hil.sim.bus import Access, RegisterBlock
from stm32_hil.sim.clock import Clock

FPB_BASE = 0xE0002000
DWT_BASE = 0xE0001000
FP_CTRL, FP_REMAP, FP_COMP0 = 0x000, 0x004, 0x008
# Instruction comparators per core (ARM TRMs: M0+ 4, M3/M4 6 (+2 literal), M7 8).
CODE_COMPARATORS = {"cortex-m0+": 4, "cortex-m0": 4, "cortex-m3": 6, "cortex-m4": 6,
                    "cortex-m7": 8, "cortex-m33": 8, "cortex-m55": 8}  # fmt: skip
LITERAL_COMPARATORS = {"cortex-m3": 2, "cortex-m4": 2}


class Fpb(RegisterBlock):
    def __init__(self, core_kind: str, on_change: Callable[[], None]) -> None:
        super().__init__("FPB", FPB_BASE, 0x1000)
        self.num_code = CODE_COMPARATORS.get(core_kind, 6)
        self.num_lit = LITERAL_COMPARATORS.get(core_kind, 0)
        self.v2 = core_kind in ("cortex-m7", "cortex-m33", "cortex-m55")
        self.on_change = on_change
        self.power_on()

    def power_on(self) -> None:
        self.enabled = False
        self.comp = [0] * (self.num_code + self.num_lit)
        self.on_change()

    def system_reset(self) -> None:
        """The FPB is in the debug reset domain: a system reset keeps breakpoints."""

    def reaches(self, address: int) -> bool:
        """Whether a comparator can match this instruction address."""
        return self.v2 or address < 0x20000000

    def encode(self, address: int) -> int:
        if self.v2:
            return (address & 0xFFFFFFFE) | 1
        replace = 0b10 if address & 2 else 0b01
        return (replace << 30) | (address & 0x1FFFFFFC) | 1

    def decode(self, comp: int) -> int | None:
        if not comp & 1:
            return None
        if self.v2:
            return comp & 0xFFFFFFFE
        replace = comp >> 30
        base = comp & 0x1FFFFFFC
        return base | 2 if replace == 0b10 else base

    def addresses(self) -> set[int]:
        """Instruction addresses on which the core must halt."""
        if not self.enabled:
            return set()
        out: set[int] = set()
        for comp in self.comp[: self.num_code]:
            addr = self.decode(comp)
            if addr is not None:
                out.add(addr)
                if not self.v2 and comp >> 30 == 0b11:  # both half-words
                    out.add(addr | 2)
        return out

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == FP_CTRL:
            code = self.num_code
            return (
                (int(self.v2) << 28)
                | ((code >> 4) & 7) << 12
                | (self.num_lit & 0xF) << 8
                | (code & 0xF) << 4
                | int(self.enabled)
            )
        n = (offset - FP_COMP0) // 4
        if offset >= FP_COMP0 and n < len(self.comp):
            return self.comp[n]
        return 0

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == FP_CTRL:
            if value & 2:  # KEY must be written as 1
                self.enabled = bool(value & 1)
                self.on_change()
            return
        n = (offset - FP_COMP0) // 4
        if offset >= FP_COMP0 and n < len(self.comp):
            self.comp[n] = value if self.v2 else value & 0xDFFFFFFD
            self.on_change()


class Dwt(RegisterBlock):
    """DWT_CTRL and CYCCNT (virtual cycles); enough for firmware delays and debugger probing."""

    CTRL, CYCCNT = 0x000, 0x004
    time_source = True

    def __init__(self, clock: Clock) -> None:
        super().__init__("DWT", DWT_BASE, 0x1000)
        self.clock = clock
        self.power_on()

    def power_on(self) -> None:
        self.ctrl = 0x40000000  # NUMCOMP=4
        self._cyc_base = 0
        self._cyc_at = self.clock.now

    def system_reset(self) -> None:
        """Debug reset domain: kept across a system reset."""

    def read_reg(self, offset: int, access: Access) -> int:
        if offset == self.CTRL:
            return self.ctrl
        if offset == self.CYCCNT:
            if not self.ctrl & 1:
                return self._cyc_base
            return (self._cyc_base + self.clock.now - self._cyc_at) & 0xFFFFFFFF
        return 0

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == self.CTRL:
            self._cyc_base = self.read_reg(self.CYCCNT, access)
            self._cyc_at = self.clock.now
            self.ctrl = (self.ctrl & 0xF0000000) | (value & 0x0FFFFFFF)
        elif offset == self.CYCCNT:
            self._cyc_base = value
            self._cyc_at = self.clock.now

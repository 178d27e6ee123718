"""Flash patch and breakpoint unit (FPB, 0xE0002000) and the DWT (0xE0001000).

Hardware breakpoints are FPB comparators, so a debugger writing FP_COMP through the bus and
`CortexM.set_breakpoint` use the same, limited, set. FPB version 1 (Cortex-M0+/M3/M4)
matches the code region only: FP_COMPn.COMP holds address bits [28:2], REPLACE [31:30] selects
the lower (01) or upper (10) half-word, bit 0 enables. Version 2 (Cortex-M7, FP_CTRL.REV=1)
holds BPADDR [31:1] with BE in bit 0 and matches the whole address space.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unicorn import UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE
from unicorn.arm_const import UC_ARM_REG_PC

from stm32_hil.sim.bus import Access, RegisterBlock
from stm32_hil.sim.clock import Clock

FPB_BASE = 0xE0002000
DWT_BASE = 0xE0001000
FP_CTRL, FP_REMAP, FP_COMP0 = 0x000, 0x004, 0x008
# Instruction comparators per core (ARM TRMs: M0+ 4, M3/M4 6 (+2 literal), M7 8).
CODE_COMPARATORS = {"cortex-m0+": 4, "cortex-m0": 4, "cortex-m3": 6, "cortex-m4": 6,
                    "cortex-m7": 8, "cortex-m33": 8, "cortex-m55": 8}  # fmt: skip
LITERAL_COMPARATORS = {"cortex-m3": 2, "cortex-m4": 2}
WATCH_COMPARATORS = {"cortex-m0+": 2, "cortex-m0": 2}
WATCH_FUNCTIONS = (5, 6, 7)  # data address match: read, write, read or write
DATAVMATCH = 1 << 8
MATCHED = 1 << 24
MASK_BITS = 0x1F  # MASKn[4:0]: up to 2^31 bytes ignored
FUNCTION_WRITABLE = 0x000FFFAF  # FUNCTION, EMITRANGE, CYCMATCH, DATAVMATCH, DATAVSIZE, DATAVADDRn
DFSR_DWTTRAP = 1 << 2
C_DEBUGEN = 1 << 0


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
    """DWT: CTRL, CYCCNT (virtual cycles) and the data watchpoint comparators.

    COMPn/MASKn/FUNCTIONn (at 0x20 + 16n) as ARMv6-M/ARMv7-M C1.8 describe them: MASKn keeps
    the number of ignored address bits it was given (a debugger writes it and reads it back to
    learn whether that watch size exists), FUNCTIONn selects a data address match on reads (5),
    writes (6) or both (7), and MATCHED (bit 24) is set by a match and cleared by reading the
    register. A match is a debug event: with halting debug enabled (DHCSR.C_DEBUGEN) the core
    stops with DFSR.DWTTRAP set, which is how pyOCD (and GDB through it) tell a watchpoint
    from a breakpoint. It stops on the accessing instruction with the access done -- GDB's
    model of ARM watchpoints ("non-steppable": it steps over the instruction itself) -- and
    the instruction, re-executed on resume, does not match a second time. Data value and cycle
    count matching, linked comparators and trace output (ITM/ETM packets) are not modelled.
    """

    CTRL, CYCCNT = 0x000, 0x004
    COMP0 = 0x020
    time_source = True

    def __init__(self, clock: Clock) -> None:
        super().__init__("DWT", DWT_BASE, 0x1000)
        self.clock = clock
        self.num_comp = 4
        self.v6m = False
        self._core: Any = None
        self._hooks: list[int] = []
        self._resumed_at: int | None = None
        self.power_on()

    def power_on(self) -> None:
        self.ctrl = self.num_comp << 28
        self._cyc_base = 0
        self._cyc_at = self.clock.now
        self.comp = [0] * self.num_comp
        self.mask = [0] * self.num_comp
        self.function = [0] * self.num_comp
        self._sync_hooks()

    def system_reset(self) -> None:
        """Debug reset domain: kept across a system reset."""

    # -- the core's side ---------------------------------------------------------------------
    def attach(self, core: Any) -> None:
        """Let matches halt `core` (a `CortexM`): its Unicorn instance carries the watch hooks.

        The comparator count is the core's (ARM TRMs: M0+ 2, M3/M4/M7 4).
        """
        self._core = core
        self.v6m = core.kind in ("cortex-m0", "cortex-m0+")
        self.num_comp = WATCH_COMPARATORS.get(core.kind, 4)
        self.power_on()

    def watched(self) -> list[tuple[int, int, int]]:
        """(first address, size, FUNCTION) of every enabled data address comparator."""
        out = []
        for comp, mask, function in zip(self.comp, self.mask, self.function):
            kind = function & 0xF
            if kind in WATCH_FUNCTIONS and not function & DATAVMATCH:
                size = 1 << mask
                out.append((comp & ~(size - 1), size, kind))
        return out

    def _sync_hooks(self) -> None:
        core = getattr(self, "_core", None)
        if core is None:
            return
        uc = core.uc
        for h in self._hooks:
            uc.hook_del(h)
        self._hooks = []
        for n, (base, size, kind) in enumerate(self.watched()):
            types = (UC_HOOK_MEM_READ if kind in (5, 7) else 0) | (
                UC_HOOK_MEM_WRITE if kind in (6, 7) else 0
            )
            # an access that starts up to 7 bytes before the range can still touch it
            begin, end = max(0, base - 7), base + size - 1
            self._hooks.append(uc.hook_add(types, self._on_access, n, begin, end))

    def _on_access(self, uc: Any, access: int, address: int, size: int, value: int, n: int) -> None:
        base, length, _ = self._range(n)
        if address + size <= base or address >= base + length:
            return
        pc = uc.reg_read(UC_ARM_REG_PC)
        if self._resumed_at == pc:
            self._resumed_at = None  # the access that halted, re-executed on resume
            return
        self._resumed_at = None
        self.function[n] |= MATCHED
        core = self._core
        if core is None or not core.scs.dhcsr_ctrl & C_DEBUGEN:
            return  # no halting debug: the event is not taken (DebugMonitor is not modelled)
        core.scs.dfsr |= DFSR_DWTTRAP
        self._resumed_at = pc
        core.halt()

    def _range(self, n: int) -> tuple[int, int, int]:
        size = 1 << self.mask[n]
        return self.comp[n] & ~(size - 1), size, self.function[n] & 0xF

    # -- registers ---------------------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        if offset == self.CTRL:
            return self.ctrl
        if offset == self.CYCCNT:
            if not self.ctrl & 1:
                return self._cyc_base
            return (self._cyc_base + self.clock.now - self._cyc_at) & 0xFFFFFFFF
        n, reg = divmod(offset - self.COMP0, 16)
        if offset >= self.COMP0 and n < self.num_comp:
            if reg == 0:
                return self.comp[n]
            if reg == 4:
                return self.mask[n]
            if reg == 8:
                value = self.function[n]
                self.function[n] &= ~MATCHED  # MATCHED clears when the register is read
                return value
        return 0

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if offset == self.CTRL:
            self._cyc_base = self.read_reg(self.CYCCNT, access)
            self._cyc_at = self.clock.now
            self.ctrl = (self.ctrl & 0xFF000000) | (value & 0x00FFFFFF)
            return
        if offset == self.CYCCNT:
            self._cyc_base = value
            self._cyc_at = self.clock.now
            return
        n, reg = divmod(offset - self.COMP0, 16)
        if offset < self.COMP0 or n >= self.num_comp:
            return
        if reg == 0:
            self.comp[n] = value & 0xFFFFFFFF
        elif reg == 4:
            self.mask[n] = value & MASK_BITS
        elif reg == 8:
            writable = 0xF if self.v6m else FUNCTION_WRITABLE
            self.function[n] = (self.function[n] & MATCHED) | (value & writable)
        else:
            return
        self._sync_hooks()

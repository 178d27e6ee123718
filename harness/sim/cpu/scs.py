"""System control space at 0xE000E000: NVIC, SysTick, SCB, debug registers (ARMv6-M/ARMv7-M).

This block is a bus device like any peripheral, so the core reaches it through MMIO and a
debugger (the pyOCD probe model) through `Access.DEBUG`: DHCSR/DCRSR/DCRDR/DEMCR drive the
core the way a real debug port does. Exception state (pending, active, enabled, priorities)
lives here; `stm32_hil.sim.cpu.exceptions` performs entry and return on the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from stm32_hil.sim.bus import Access, RegisterBlock
from stm32_hil.sim.cpu.systick import SysTick
from stm32_hil.target.base import ResetKind

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

SCS_BASE = 0xE000E000

# Exception numbers.
NMI, HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT = 2, 3, 4, 5, 6
SVCALL, DEBUGMON, PENDSV, SYSTICK = 11, 12, 14, 15
IRQ0 = 16

# SCB register offsets (from SCS_BASE).
ICTR, STCSR, STRVR, STCVR, STCALIB = 0x004, 0x010, 0x014, 0x018, 0x01C
ISER, ICER, ISPR, ICPR, IABR, IPR = 0x100, 0x180, 0x200, 0x280, 0x300, 0x400
CPUID, ICSR, VTOR, AIRCR, SCR, CCR = 0xD00, 0xD04, 0xD08, 0xD0C, 0xD10, 0xD14
SHPR1, SHPR2, SHPR3, SHCSR = 0xD18, 0xD1C, 0xD20, 0xD24
CFSR, HFSR, DFSR, MMFAR, BFAR, AFSR = 0xD28, 0xD2C, 0xD30, 0xD34, 0xD38, 0xD3C
CPACR = 0xD88
DHCSR, DCRSR, DCRDR, DEMCR = 0xDF0, 0xDF4, 0xDF8, 0xDFC
STIR, FPCCR, FPCAR, FPDSCR, MVFR0, MVFR1, MVFR2 = 0xF00, 0xF34, 0xF38, 0xF3C, 0xF40, 0xF44, 0xF48

# CFSR bits (ARMv7-M only; ARMv6-M has no fault status registers).
CFSR_IBUSERR, CFSR_PRECISERR, CFSR_IMPRECISERR, CFSR_BFARVALID = 1 << 8, 1 << 9, 1 << 10, 1 << 15
CFSR_STKERR = 1 << 12
CFSR_UNDEFINSTR, CFSR_INVSTATE, CFSR_INVPC, CFSR_NOCP = 1 << 16, 1 << 17, 1 << 18, 1 << 19
CFSR_UNALIGNED, CFSR_DIVBYZERO = 1 << 24, 1 << 25
HFSR_VECTTBL, HFSR_FORCED = 1 << 1, 1 << 30
SHCSR_MEMFAULTENA, SHCSR_BUSFAULTENA, SHCSR_USGFAULTENA = 1 << 16, 1 << 17, 1 << 18

DHCSR_KEY = 0xA05F
C_DEBUGEN, C_HALT, C_STEP, C_MASKINTS = 1 << 0, 1 << 1, 1 << 2, 1 << 3
S_REGRDY, S_HALT, S_SLEEP, S_LOCKUP, S_RETIRE_ST, S_RESET_ST = (
    1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 24, 1 << 25,
)  # fmt: skip
DFSR_HALTED, DFSR_BKPT, DFSR_VCATCH = 1 << 0, 1 << 1, 1 << 3
DEMCR_VC_CORERESET, DEMCR_VC_HARDERR, DEMCR_TRCENA = 1 << 0, 1 << 10, 1 << 24
AIRCR_VECTKEY = 0x05FA
AIRCR_SYSRESETREQ = 1 << 2

# CPUID per core (ARM TRMs): r0p1 M0+, r0p1 M4, r1p1 M7 (STM32H7 rev V carries r1p1).
CPUIDS = {
    "cortex-m0+": 0x410CC601,
    "cortex-m0": 0x410CC200,
    "cortex-m3": 0x412FC231,
    "cortex-m4": 0x410FC241,
    "cortex-m7": 0x411FC271,
    "cortex-m33": 0x410FD214,
    "cortex-m55": 0x410FD221,
}
# DCRSR REGSEL -> register name understood by CortexM.read_reg/write_reg.
DCRSR_REGS = {
    **{i: f"r{i}" for i in range(13)},
    13: "sp", 14: "lr", 15: "pc", 16: "xpsr", 17: "msp", 18: "psp", 20: "cfbp", 33: "fpscr",
    **{64 + i: f"s{i}" for i in range(32)},
}  # fmt: skip


class DebugCore(Protocol):
    """What the SCS needs from the core it controls."""

    halted: bool
    lockup: bool

    def halt(self) -> None: ...

    def resume(self) -> None: ...

    def step(self) -> None: ...

    def read_reg(self, name: str) -> int: ...

    def write_reg(self, name: str, value: int) -> None: ...

    def current_exception(self) -> int: ...


class SystemControlSpace(RegisterBlock):
    """NVIC + SysTick + SCB + core debug registers of one Cortex-M core."""

    def __init__(self, board: SimBoard, core: DebugCore) -> None:
        super().__init__("SCS", SCS_BASE, 0x1000)
        self.board = board
        self.core = core
        self.kind = board.part.core
        self.v6m = self.kind in ("cortex-m0+", "cortex-m0")
        self.fpu = board.part.fpu
        self.n_irq = 32 if self.v6m else 160
        self.prio_mask = 0xC0 if self.v6m else 0xF0  # STM32: 2 or 4 priority bits
        self.systick = SysTick(board.clock, lambda: self.set_pending(SYSTICK))
        self.demcr = 0
        self.dhcsr_ctrl = C_DEBUGEN  # a debugger is attached to the simulator
        self.reset_seen = True  # S_RESET_ST, sticky until DHCSR is read
        self.power_on()

    # -- reset --------------------------------------------------------------------------
    def power_on(self) -> None:
        self.demcr = 0
        self.system_reset()

    def system_reset(self) -> None:
        """Core reset scope: NVIC/SCB/SysTick to reset values; DEMCR and DHCSR survive."""
        self.systick.reset()
        self.enabled: set[int] = set()  # IRQ numbers (0-based)
        self.pending: set[int] = set()  # exception numbers
        self.active: list[int] = []  # exception numbers, nesting order
        self.lines: dict[int, bool] = {}  # IRQ input levels from peripherals
        self.ipr = bytearray(self.n_irq)
        self.shpr = bytearray(12)  # exceptions 4..15
        self.vtor = 0
        self.aircr = 0
        self.scr = 0
        self.ccr = 0x00000208 if self.v6m else 0x00000200
        self.shcsr = 0
        self.cfsr = 0
        self.hfsr = 0
        self.dfsr = 0
        self.mmfar = 0
        self.bfar = 0
        self.cpacr = 0
        self.fpccr = 0xC0000000 if self.fpu else 0  # ASPEN | LSPEN
        self.fpcar = 0
        self.fpdscr = 0
        self.dcrdr = 0
        self.reset_seen = True

    # -- exception state used by the core -------------------------------------------------
    def priority(self, exc: int) -> int:
        """Configured priority (lower is more urgent); fixed for reset/NMI/HardFault."""
        if exc == NMI:
            return -2
        if exc == HARDFAULT:
            return -1
        if exc >= IRQ0:
            return self.ipr[exc - IRQ0] & self.prio_mask
        if 4 <= exc <= 15:
            return self.shpr[exc - 4] & self.prio_mask
        return 0

    def group_priority(self, exc: int) -> int:
        prio = self.priority(exc)
        if prio < 0 or self.v6m:
            return prio
        prigroup = (self.aircr >> 8) & 7
        return prio & ~((2 << prigroup) - 1) & 0xFF

    def set_pending(self, exc: int) -> None:
        self.pending.add(exc)

    def set_line(self, irq: int, level: bool) -> None:
        """A peripheral drives its interrupt line; a rising level pends the IRQ."""
        previous = self.lines.get(irq, False)
        self.lines[irq] = level
        if level and not previous:
            self.pending.add(IRQ0 + irq)

    def exception_returned(self, exc: int) -> None:
        """Level-sensitive lines still asserted re-pend their IRQ after its handler returns."""
        if exc in self.active:
            self.active.remove(exc)
        if exc >= IRQ0 and self.lines.get(exc - IRQ0):
            self.pending.add(exc)

    def next_pending(self) -> int | None:
        """The most urgent pending exception that is enabled (lowest priority, then number)."""
        best: tuple[int, int] | None = None
        for exc in self.pending:
            if exc >= IRQ0 and (exc - IRQ0) not in self.enabled:
                continue
            key = (self.group_priority(exc), exc)
            if best is None or key < best:
                best = key
        return None if best is None else best[1]

    def fault_enabled(self, exc: int) -> bool:
        bit = {MEMMANAGE: SHCSR_MEMFAULTENA, BUSFAULT: SHCSR_BUSFAULTENA,
               USAGEFAULT: SHCSR_USGFAULTENA}.get(exc, 0)  # fmt: skip
        return not self.v6m and bool(self.shcsr & bit)

    # -- registers ----------------------------------------------------------------------
    def _bits32(self, base_exc: int, index: int, members: set[int]) -> int:
        value = 0
        for bit in range(32):
            if base_exc + index * 32 + bit in members:
                value |= 1 << bit
        return value

    def read_reg(self, offset: int, access: Access) -> int:
        st = self.systick
        if offset == ICTR:
            return (self.n_irq // 32) - 1 if not self.v6m else 0
        if offset == STCSR:
            return st.read_csr(clear=access is not Access.DEBUG)
        if offset == STRVR:
            return st.rvr
        if offset == STCVR:
            return st.read_cvr()
        if offset == STCALIB:
            return st.calib
        if ISER <= offset < ISER + 0x40 or ICER <= offset < ICER + 0x40:
            idx = (offset & 0x3F) // 4
            return self._bits32(0, idx, self.enabled)
        if ISPR <= offset < ISPR + 0x40 or ICPR <= offset < ICPR + 0x40:
            idx = (offset & 0x3F) // 4
            return self._bits32(IRQ0, idx, self.pending)
        if IABR <= offset < IABR + 0x40 and not self.v6m:
            return self._bits32(IRQ0, (offset - IABR) // 4, set(self.active))
        if IPR <= offset < IPR + self.n_irq:
            i = offset - IPR
            return int.from_bytes(self.ipr[i : i + 4], "little")
        return self._read_scb(offset, access)

    def _read_scb(self, offset: int, access: Access) -> int:
        if offset == CPUID:
            return CPUIDS.get(self.kind, 0x410FC241)
        if offset == ICSR:
            return self._icsr()
        if offset == VTOR:
            return self.vtor
        if offset == AIRCR:
            return (0xFA05 << 16) | (self.aircr & 0x700)
        if offset == SCR:
            return self.scr
        if offset == CCR:
            return self.ccr
        if offset in (SHPR1, SHPR2, SHPR3):
            i = offset - SHPR1
            return int.from_bytes(self.shpr[i : i + 4], "little")
        if offset == SHCSR:
            return self.shcsr | self._shcsr_state()
        if offset == DHCSR:
            return self._dhcsr(access)
        if offset == DCRDR:
            return self.dcrdr
        if offset == DEMCR:
            return self.demcr
        if offset == DFSR:
            return self.dfsr
        if self.v6m:
            return 0  # ARMv6-M: the fault status and FP registers do not exist (RAZ)
        regs = {
            CFSR: self.cfsr, HFSR: self.hfsr, MMFAR: self.mmfar, BFAR: self.bfar, AFSR: 0,
            CPACR: self.cpacr, FPCCR: self.fpccr, FPCAR: self.fpcar, FPDSCR: self.fpdscr,
        }  # fmt: skip
        if offset in regs:
            return regs[offset]
        if self.fpu and offset in (MVFR0, MVFR1, MVFR2):
            # Cortex-M7 with double-precision FPU (fpv5-d16).
            return {MVFR0: 0x10110221, MVFR1: 0x12000011, MVFR2: 0x00000040}[offset]
        return 0

    def _icsr(self) -> int:
        value = self.core.current_exception() & 0x1FF
        nxt = self.next_pending()
        if nxt is not None:
            value |= (nxt & 0x1FF) << 12
        if any(e >= IRQ0 for e in self.pending):
            value |= 1 << 22  # ISRPENDING
        if SYSTICK in self.pending:
            value |= 1 << 26
        if PENDSV in self.pending:
            value |= 1 << 28
        if NMI in self.pending:
            value |= 1 << 31
        if len(self.active) <= 1:
            value |= 1 << 11  # RETTOBASE
        return value

    def _shcsr_state(self) -> int:
        bits = {MEMMANAGE: 0, BUSFAULT: 1, USAGEFAULT: 3, SVCALL: 7, DEBUGMON: 8,
                PENDSV: 10, SYSTICK: 11}  # fmt: skip
        value = 0
        for exc, bit in bits.items():
            if exc in self.active:
                value |= 1 << bit
        if SVCALL in self.pending:
            value |= 1 << 15
        return value

    def _dhcsr(self, access: Access) -> int:
        core = self.core
        value = self.dhcsr_ctrl | S_REGRDY
        if core.halted:
            value |= S_HALT | C_HALT  # C_HALT reads back 1 while halted (pyOCD relies on it)
        if core.lockup:
            value |= S_LOCKUP
        if self.reset_seen:
            value |= S_RESET_ST
            if access is Access.DEBUG:
                self.reset_seen = False
        return value

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        st = self.systick
        if offset == STCSR:
            st.write_csr(value)
        elif offset == STRVR:
            st.write_rvr(value)
        elif offset == STCVR:
            st.write_cvr(value)
        elif ISER <= offset < ISER + 0x40:
            self._each_bit(value, (offset - ISER) * 8, 0, self.enabled.add)
        elif ICER <= offset < ICER + 0x40:
            self._each_bit(value, (offset - ICER) * 8, 0, self.enabled.discard)
        elif ISPR <= offset < ISPR + 0x40:
            self._each_bit(value, (offset - ISPR) * 8, IRQ0, self.pending.add)
        elif ICPR <= offset < ICPR + 0x40:
            self._each_bit(value, (offset - ICPR) * 8, IRQ0, self.pending.discard)
        elif IPR <= offset < IPR + self.n_irq:
            i = offset - IPR
            self.ipr[i : i + 4] = value.to_bytes(4, "little")[: len(self.ipr[i : i + 4])]
        elif offset == STIR and not self.v6m:
            irq = value & 0x1FF
            if irq < self.n_irq:
                self.pending.add(IRQ0 + irq)
        else:
            self._write_scb(offset, value, access)

    def _each_bit(self, value: int, first_irq: int, bias: int, op: Callable[[int], None]) -> None:
        """Apply `op(irq + bias)` for each IRQ whose bit is set in one 32-bit NVIC word."""
        for bit in range(32):
            if value & (1 << bit) and first_irq + bit < self.n_irq:
                op(first_irq + bit + bias)

    def _write_scb(self, offset: int, value: int, access: Access) -> None:
        if offset == ICSR:
            if value & (1 << 31):
                self.pending.add(NMI)
            if value & (1 << 28):
                self.pending.add(PENDSV)
            if value & (1 << 27):
                self.pending.discard(PENDSV)
            if value & (1 << 26):
                self.pending.add(SYSTICK)
            if value & (1 << 25):
                self.pending.discard(SYSTICK)
        elif offset == VTOR:
            self.vtor = value & (0xFFFFFF00 if self.v6m else 0xFFFFFF80)
        elif offset == AIRCR:
            if (value >> 16) != AIRCR_VECTKEY:
                return  # writes without VECTKEY are ignored
            if not self.v6m:
                self.aircr = value & 0x700
            if value & AIRCR_SYSRESETREQ:
                self.board.reset(ResetKind.SYSTEM, "SYSRESETREQ")
        elif offset == SCR:
            self.scr = value & 0x16
        elif offset == CCR and not self.v6m:
            self.ccr = value & 0x0007031B
        elif offset in (SHPR1, SHPR2, SHPR3):
            i = offset - SHPR1
            self.shpr[i : i + 4] = value.to_bytes(4, "little")
        elif offset == SHCSR and not self.v6m:
            self.shcsr = value & 0x00070000
        elif offset == CFSR and not self.v6m:
            self.cfsr &= ~value  # write-one-to-clear
        elif offset == HFSR and not self.v6m:
            self.hfsr &= ~value
        elif offset == DFSR:
            self.dfsr &= ~value
        elif offset == MMFAR and not self.v6m:
            self.mmfar = value
        elif offset == BFAR and not self.v6m:
            self.bfar = value
        elif offset == CPACR and self.fpu:
            self.cpacr = value & (0xF << 20)
        elif offset == FPCCR and self.fpu:
            self.fpccr = value & 0xC00001FB
        elif offset == FPCAR and self.fpu:
            self.fpcar = value & ~7
        elif offset == FPDSCR and self.fpu:
            self.fpdscr = value & 0x07C00000
        elif offset == DHCSR:
            self._write_dhcsr(value)
        elif offset == DCRSR:
            self._write_dcrsr(value)
        elif offset == DCRDR:
            self.dcrdr = value
        elif offset == DEMCR:
            self.demcr = value & 0x010F07F1

    def _write_dhcsr(self, value: int) -> None:
        if (value >> 16) != DHCSR_KEY:
            return
        ctrl = value & (C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS)
        self.dhcsr_ctrl = ctrl & (C_DEBUGEN | C_MASKINTS)
        if not ctrl & C_DEBUGEN:
            return
        core = self.core
        if ctrl & C_HALT:
            if not core.halted or core.lockup:
                core.halt()  # also the way out of lockup into debug state (ARMv7-M C1.6.1)
        elif ctrl & C_STEP:
            if core.halted:
                core.step()
        elif core.halted:
            core.resume()

    def _write_dcrsr(self, value: int) -> None:
        regsel = value & 0x7F
        name = DCRSR_REGS.get(regsel)
        if name is None:
            return
        if value & (1 << 16):
            self.core.write_reg(name, self.dcrdr)
        else:
            self.dcrdr = self.core.read_reg(name) & 0xFFFFFFFF

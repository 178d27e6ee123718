"""STM32H742/743/750/753 embedded flash controller and option bytes (RM0433 section 4).

Modelled at register level so the same recovery and option-byte flows run on silicon and here:
two banks, each with its own KEYR/CR/SR/CCR and a 256-bit write buffer; option bytes
programmed through *_PRG registers and applied at OPTSTART without a reset; readout protection,
PCROP (execute-only areas), secure areas and per-sector write protection.

Choices where RM0433 leaves room or where the model is simpler than silicon:
- A wrong key sequence on KEYRx/OPTKEYR (including a key written while already unlocked) locks
  the register until the next reset *and* answers with a bus error (`BusFault`), as RM0433
  4.5.1 describes for the CPU; a debugger sees the failed AP write the same way.
- Operations take virtual time (`timing_us` of the part). A read of a bank with an operation
  in flight, or a write starting a new flash word there, stalls until it completes (AXI
  stall); register reads show BSY/QW meanwhile.
  An operation still in flight at a reset or power loss completes in its interrupted form
  (bad ECC, half-erased sector), like one interrupted by fault injection.
- An interrupted option-byte change keeps the previous option values and shows OPTCHANGEERR
  after the reset (silicon may load corrupted values instead).
- FW (force write) pads the unwritten bytes with 1s and programs the flash word with a valid
  ECC (RM0433 4.3.9); writing the rest of that word later is a second write: bad ECC.
- The level 1 -> 0 regression erases whole sectors; sectors overlapping a PCROP area with
  DMEP=0 (or a secure area with DMES=0) are kept whole (check).
- An existing PCROP/secure area can only be moved or removed by a regression with DMEP/DMES=1
  (OPTCHANGEERR otherwise) and programming into it is refused with WRPERR (check).
- Not modelled: CRC unit (CRCCRx reads 0), single-error correction (SNECCERR), bank swapping
  (SWAP_BANK_OPT is stored but does not remap the banks), interrupts, option byte BOR effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stm32_hil.errors import BusFault, ProtectionError
from stm32_hil.parts import OptionRegister
from stm32_hil.sim.bus import Access
from stm32_hil.sim.clock import _Event
from stm32_hil.sim.faults import FaultKind
from stm32_hil.sim.memories.flash_array import FlashRegisters
from stm32_hil.sim.periph.flash_keys import KeySequence

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

# -- register offsets inside one bank window (bank 2 at +0x100) --------------------------
ACR, KEYR, OPTKEYR, CR, SR, CCR = 0x00, 0x04, 0x08, 0x0C, 0x10, 0x14
OPTCR, OPTSR_CUR, OPTSR_PRG, OPTCCR = 0x18, 0x1C, 0x20, 0x24
ECC_FA = 0x60
BANK_STRIDE = 0x100
SHARED = {ACR, OPTKEYR, OPTCR, OPTSR_CUR, OPTSR_PRG, OPTCCR}

# FLASH_CRx
CR_LOCK, CR_PG, CR_SER, CR_BER = 1 << 0, 1 << 1, 1 << 2, 1 << 3
CR_PSIZE_SHIFT = 4
CR_FW, CR_START = 1 << 6, 1 << 7
CR_SNB_SHIFT, CR_SNB_MASK = 8, 0x7 << 8
CR_CRC_EN = 1 << 15
CR_WRITABLE = 0x07FF | CR_CRC_EN | 0x0FEF0000  # control bits and interrupt enables
CR_RESET = CR_LOCK | (3 << CR_PSIZE_SHIFT)

# FLASH_SRx / FLASH_CCRx (clear bits sit at the same positions as the flags)
SR_BSY, SR_WBNE, SR_QW, SR_CRC_BUSY = 1 << 0, 1 << 1, 1 << 2, 1 << 3
SR_EOP, SR_WRPERR, SR_PGSERR, SR_STRBERR = 1 << 16, 1 << 17, 1 << 18, 1 << 19
SR_INCERR, SR_OPERR, SR_RDPERR, SR_RDSERR = 1 << 21, 1 << 22, 1 << 23, 1 << 24
SR_SNECCERR, SR_DBECCERR, SR_CRCEND = 1 << 25, 1 << 26, 1 << 27
SR_CLEARABLE = 0x0FEF0000

# FLASH_OPTCR / FLASH_OPTSR / FLASH_OPTCCR
OPTCR_OPTLOCK, OPTCR_OPTSTART, OPTCR_MER = 1 << 0, 1 << 1, 1 << 4
OPTCR_OPTCHANGEERRIE, OPTCR_SWAP_BANK = 1 << 30, 1 << 31
OPTSR_OPT_BUSY, OPTSR_OPTCHANGEERR = 1 << 0, 1 << 30

ACR_RESET = 0x37  # LATENCY=7 wait states, WRHIGHFREQ=3
FLASH_WORD = 32  # bytes in a 256-bit flash word
AREA_UNIT = 0x100  # PCROP / secure area granularity

RDP_LEVEL0, RDP_LEVEL2 = 0xAA, 0xCC


@dataclass
class _Op:
    """A flash operation in flight: busy over [start, done), applied at `done`."""

    what: str
    banks: tuple[int, ...]
    start: int
    done: int
    complete: Callable[[], None]
    interrupt: Callable[[], None]
    event: _Event | None = None


@dataclass
class _Bank:
    """Volatile per-bank registers and the bank's write buffer."""

    index: int
    offset: int  # of the bank inside the array
    size: int
    cr: int = CR_RESET
    sr: int = 0
    ecc_fa: int = 0
    keyr: KeySequence | None = None  # FLASH_KEYRn: set by the controller
    buf_word: int | None = None  # array offset of the flash word being filled
    buf: bytearray = field(default_factory=lambda: bytearray(b"\xff" * FLASH_WORD))
    buf_mask: int = 0  # one bit per byte of the buffer written so far

    def reset(self) -> None:
        self.cr = CR_RESET
        self.sr = 0
        self.ecc_fa = 0
        if self.keyr is not None:
            self.keyr.reset()
        self.drop_buffer()

    def drop_buffer(self) -> None:
        self.buf_word = None
        self.buf[:] = b"\xff" * FLASH_WORD
        self.buf_mask = 0


def _area(value: int) -> tuple[int, int] | None:
    """PRAR/SCAR layout -> (first, last) 256-byte block inside the bank; start > end = none."""
    start, end = value & 0xFFF, (value >> 16) & 0xFFF
    return None if start > end else (start, end)


class H7FlashController(FlashRegisters):
    """FLASH register block (0x400 bytes at part.flash_regs) driving the main flash array."""

    def __init__(self, board: SimBoard) -> None:
        super().__init__(board)
        part = self.part
        self.array.port = self
        self.empty_flag = False  # H7 has no "empty flash" boot check
        self.regs_by_name: dict[str, OptionRegister] = {r.name: r for r in part.option_registers}
        self._cur_at: dict[int, str] = {}
        self._prg_at: dict[int, str] = {}
        for reg in part.option_registers:
            offsets = [reg.offset]
            if not reg.name[-1].isdigit():  # OPTSR, BOOT: one register mirrored in both windows
                offsets.append(reg.offset + BANK_STRIDE)
            for off in offsets:
                self._cur_at[off] = reg.name
                self._prg_at[off + 4] = reg.name
        self._nv: dict[str, int] = dict(part.factory_options)  # what survives power loss
        self.options: dict[str, int] = dict(self._nv)  # *_CUR: values in force
        self.prg: dict[str, int] = dict(self._nv)  # *_PRG: values staged for OPTSTART
        geo = self.geometry
        self.banks = [_Bank(i, i * geo.bank_size, geo.bank_size) for i in range(geo.banks)]
        for bank in self.banks:
            bank.keyr = KeySequence(
                f"FLASH_KEYR{bank.index + 1}",
                self.base + bank.index * BANK_STRIDE + KEYR,
                part.flash_keys,
                kind="flash key",
                guards=f"FLASH_CR{bank.index + 1}",
                refuse_when_unlocked=True,
            )
        self._optkeyr = KeySequence(
            "FLASH_OPTKEYR", self.base + OPTKEYR, part.option_keys,
            kind="option key", guards="OPTCR", refuse_when_unlocked=True,
        )  # fmt: skip
        self.acr = ACR_RESET
        self.optcr = OPTCR_OPTLOCK
        self.optchangeerr = False
        self._option_failed = False  # an interrupted option change: flag it after the reset
        self._ops: list[_Op] = []

    # -- FlashController protocol ------------------------------------------------------
    def rdp_level(self) -> int:
        rdp = self._field("OPTSR", "RDP", self.options["OPTSR"])
        return 0 if rdp == RDP_LEVEL0 else 2 if rdp == RDP_LEVEL2 else 1

    def power_on(self) -> None:
        """Power-up: pending operations end interrupted, option bytes reload from the cells."""
        self._abort_ops()
        self.options = dict(self._nv)
        self._reset_registers()

    def system_reset(self) -> None:
        """System reset: registers to reset values; the option values in force are kept."""
        self._abort_ops()
        self._reset_registers()

    def _reset_registers(self) -> None:
        for bank in self.banks:
            bank.reset()
        self.acr = ACR_RESET
        self.optcr = OPTCR_OPTLOCK
        self._optkeyr.reset()
        self.prg = dict(self.options)
        self.optchangeerr = self._option_failed
        self._option_failed = False

    # -- helpers -----------------------------------------------------------------------
    def _field(self, reg: str, name: str, value: int) -> int:
        return self.regs_by_name[reg].field(name).get(value)

    def _writable_mask(self, reg: str) -> int:
        mask = 0
        for f in self.regs_by_name[reg].fields:
            mask |= f.mask
        return mask

    @property
    def _now(self) -> int:
        return self.board.clock.now

    def _cycles(self, key: str) -> int:
        return self.board.clock.cycles(self.part.timing_us[key])

    def _bank_of_offset(self, offset: int) -> _Bank:
        return self.banks[offset // self.geometry.bank_size]

    def _busy_until(self, bank_indices: tuple[int, ...]) -> int:
        ends = [op.done for op in self._ops if set(op.banks) & set(bank_indices)]
        return max([self._now, *ends])

    def _bank_area(self, reg: str, bank: _Bank) -> tuple[int, int] | None:
        """Absolute array offsets [lo, hi) of a PCROP/secure area of `bank`, if any."""
        name = f"{reg}{bank.index + 1}"
        if name not in self.options:
            return None
        if reg == "SCAR" and not self._field("OPTSR", "SECURITY", self.options["OPTSR"]):
            return None  # secure areas only exist once SECURITY is set
        area = _area(self.options[name])
        if area is None:
            return None
        return bank.offset + area[0] * AREA_UNIT, bank.offset + (area[1] + 1) * AREA_UNIT

    def _sector_protected(self, bank: _Bank, sector: int) -> bool:
        """nWRP bit 0, or the sector holds a PCROP/secure area: program/erase refused."""
        wpsn = self.options.get(f"WPSN{bank.index + 1}", 0xFF)
        if not (wpsn >> sector) & 1:
            return True
        lo = bank.offset + sector * self.geometry.page_size
        hi = lo + self.geometry.page_size
        for reg in ("PRAR", "SCAR"):
            area = self._bank_area(reg, bank)
            if area is not None and area[0] < hi and lo < area[1]:
                return True
        return False

    # -- operation queue ---------------------------------------------------------------
    def _queue(
        self,
        what: str,
        banks: tuple[int, ...],
        duration: int,
        complete: Callable[[], None],
        interrupt: Callable[[], None],
    ) -> None:
        start = self._busy_until(banks) if banks else self._now
        op = _Op(what, banks, start, start + duration, complete, interrupt)
        op.event = self.board.clock.schedule(op.done, self._settle)
        self._ops.append(op)

    def _settle(self) -> None:
        """Complete every operation whose time has come (lazily, and from clock events)."""
        while True:
            due = [op for op in self._ops if op.done <= self._now]
            if not due:
                return
            op = min(due, key=lambda o: o.done)
            self._ops.remove(op)
            if op.event is not None:
                op.event.cancelled = True
            op.complete()

    def _stall(self, banks: set[int]) -> None:
        """An access to a bank with an operation in flight waits for it (AXI stall)."""
        self._settle()
        pending = [op.done for op in self._ops if set(op.banks) & banks]
        if pending:
            self.board.clock.advance(max(pending) - self._now)
            self._settle()

    def _abort_ops(self) -> None:
        self._settle()
        for op in self._ops:
            if op.event is not None:
                op.event.cancelled = True
            if op.start <= self._now:
                op.interrupt()
        self._ops.clear()

    def _eop(self, banks: tuple[int, ...]) -> None:
        for i in banks:
            self.banks[i].sr |= SR_EOP

    def _fault(self, kind: FaultKind | None, cause: str) -> bool:
        """Hand an injected fault to the board; True when the current operation must stop."""
        if kind is None:
            return False
        self.board.interrupt(kind, cause)
        return True

    # -- register interface ------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        self._settle()
        index, reg = divmod(offset, BANK_STRIDE)
        if index > 1:
            return 0  # reserved
        if offset in self._cur_at:
            name = self._cur_at[offset]
            value = self.options[name]
            if name == "OPTSR":
                value |= OPTSR_OPT_BUSY if self._option_busy() else 0
                value |= OPTSR_OPTCHANGEERR if self.optchangeerr else 0
            return value
        if offset in self._prg_at:
            return self.prg[self._prg_at[offset]]
        if reg == ACR:
            return self.acr
        if reg == OPTCR:
            swap = self._field("OPTSR", "SWAP_BANK_OPT", self.options["OPTSR"])
            return (self.optcr & ~OPTCR_SWAP_BANK) | (OPTCR_SWAP_BANK if swap else 0)
        if index >= len(self.banks) or reg in (KEYR, OPTKEYR, CCR, OPTCCR):
            return 0
        bank = self.banks[index]
        if reg == CR:
            return bank.cr
        if reg == SR:
            return self._sr(bank)
        if reg == ECC_FA:
            return bank.ecc_fa
        return 0

    def _sr(self, bank: _Bank) -> int:
        value = bank.sr
        mine = [op for op in self._ops if bank.index in op.banks]
        if mine:
            value |= SR_QW
            if any(op.start <= self._now for op in mine):
                value |= SR_BSY
        if bank.buf_mask:
            value |= SR_WBNE
        return value

    def _option_busy(self) -> bool:
        return any(op.what == "options" for op in self._ops)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self._settle()
        index, reg = divmod(offset, BANK_STRIDE)
        if index > 1:
            return  # reserved
        if offset in self._prg_at:
            self._write_prg(self._prg_at[offset], value)
        elif reg == ACR:
            self.acr = value & 0x3F
        elif reg == OPTKEYR:
            self._write_optkey(value)
        elif reg == OPTCR:
            self._write_optcr(value)
        elif reg == OPTCCR:
            if value & OPTSR_OPTCHANGEERR:
                self.optchangeerr = False
        elif index < len(self.banks):
            bank = self.banks[index]
            if reg == KEYR:
                self._write_key(bank, value)
            elif reg == CR:
                self._write_cr(bank, value)
            elif reg == CCR:
                bank.sr &= ~(value & SR_CLEARABLE)
        # CUR copies, SR, ECC_FA, CRC registers: read-only or not modelled, writes ignored.

    # -- keys --------------------------------------------------------------------------
    def _write_key(self, bank: _Bank, value: int) -> None:
        assert bank.keyr is not None
        try:
            unlocked = bank.keyr.feed(value, bool(bank.cr & CR_LOCK))
        except BusFault:
            bank.cr |= CR_LOCK  # a refused key (even while unlocked) locks the bank again
            raise
        if unlocked:
            bank.cr &= ~CR_LOCK

    def _write_optkey(self, value: int) -> None:
        try:
            unlocked = self._optkeyr.feed(value, bool(self.optcr & OPTCR_OPTLOCK))
        except BusFault:
            self.optcr |= OPTCR_OPTLOCK
            raise
        if unlocked:
            self.optcr &= ~OPTCR_OPTLOCK

    # -- control register and erases ----------------------------------------------------
    def _write_cr(self, bank: _Bank, value: int) -> None:
        if bank.cr & CR_LOCK:
            return  # locked: the register ignores writes
        bank.cr = value & CR_WRITABLE & ~(CR_START | CR_FW)
        if value & CR_LOCK:
            bank.cr = (bank.cr | CR_LOCK) & ~CR_PG
            return
        if value & CR_FW and bank.buf_mask:
            self._program_buffer(bank)  # bytes never written stay 1
        if value & CR_START:
            self._start_erase(bank, value)

    def _start_erase(self, bank: _Bank, value: int) -> None:
        ser, ber = bool(value & CR_SER), bool(value & CR_BER)
        if ser == ber or bank.buf_mask:
            bank.sr |= SR_PGSERR  # neither or both erase kinds, or a write buffer pending
            return
        geo = self.geometry
        if ber:
            if any(self._sector_protected(bank, s) for s in range(geo.pages_per_bank)):
                bank.sr |= SR_WRPERR
                return
            self._erase(bank.index, [(bank.offset, bank.size)], "mass_erase", f"bank {bank.index}")
            return
        sector = (value & CR_SNB_MASK) >> CR_SNB_SHIFT
        if sector >= geo.pages_per_bank:
            bank.sr |= SR_PGSERR  # no such sector on this part
            return
        if self._sector_protected(bank, sector):
            bank.sr |= SR_WRPERR
            return
        offset = bank.offset + sector * geo.page_size
        self._erase(bank.index, [(offset, geo.page_size)], "erase_page", f"sector {sector}")

    def _erase(
        self, bank_index: int | None, ranges: list[tuple[int, int]], timing: str, what: str
    ) -> None:
        banks = tuple(range(len(self.banks))) if bank_index is None else (bank_index,)
        addr = self.array.base + ranges[0][0]
        kind = self.board.faults.on_erase(addr, self._now)
        if kind is not None:
            for off, length in ranges:
                self.array.erase_range(off, length, interrupted=True)
            self._fault(kind, f"fault injection: {kind.value} during erase of {what}")
            return

        def complete() -> None:
            for off, length in ranges:
                self.array.erase_range(off, length)
            self._eop(banks)

        def interrupt() -> None:
            for off, length in ranges:
                self.array.erase_range(off, length, interrupted=True)

        self._queue(f"erase {what}", banks, self._cycles(timing), complete, interrupt)

    def _write_optcr(self, value: int) -> None:
        if self.optcr & OPTCR_OPTLOCK:
            return
        self.optcr = value & (OPTCR_OPTLOCK | OPTCR_OPTCHANGEERRIE)
        if value & OPTCR_OPTLOCK:
            return
        if value & OPTCR_MER:
            self._mass_erase()
        if value & OPTCR_OPTSTART:
            self._option_start()

    def _mass_erase(self) -> None:
        geo = self.geometry
        refused = False
        for bank in self.banks:
            if bank.buf_mask:
                bank.sr |= SR_PGSERR
                refused = True
            elif any(self._sector_protected(bank, s) for s in range(geo.pages_per_bank)):
                bank.sr |= SR_WRPERR
                refused = True
        if not refused:
            self._erase(None, [(0, geo.size)], "mass_erase", "both banks (MER)")

    # -- programming -------------------------------------------------------------------
    def bus_write(self, address: int, size: int, value: int, access: Access) -> None:
        """A write into the flash address range: fills the bank's 256-bit write buffer."""
        self._settle()
        offset = address - self.array.base
        bank = self._bank_of_offset(offset)
        if bank.cr & (CR_LOCK | CR_PG) != CR_PG:
            bank.sr |= SR_PGSERR
            return
        word = offset & ~(FLASH_WORD - 1)
        lane = offset - word
        if lane + size > FLASH_WORD:
            bank.sr |= SR_INCERR  # a single access may not straddle two flash words
            bank.drop_buffer()
            return
        if bank.buf_word is not None and bank.buf_word != word:
            bank.sr |= SR_INCERR  # another flash word before this one was complete
            bank.drop_buffer()
            return
        if not bank.buf_mask:
            self._stall({bank.index})  # the buffer is free again once the last word is done
        mask = ((1 << size) - 1) << lane
        if bank.buf_mask & mask:
            bank.sr |= SR_STRBERR  # the same byte of the buffer written twice
            return
        bank.buf_word = word
        bank.buf[lane : lane + size] = value.to_bytes(size, "little")
        bank.buf_mask |= mask
        if bank.buf_mask == (1 << FLASH_WORD) - 1:
            self._program_buffer(bank)

    def _program_buffer(self, bank: _Bank) -> None:
        assert bank.buf_word is not None
        word, payload = bank.buf_word, bytes(bank.buf)
        bank.drop_buffer()
        sector = (word - bank.offset) // self.geometry.page_size
        if self._sector_protected(bank, sector):
            bank.sr |= SR_WRPERR
            return
        address = self.array.base + word
        kind = self.board.faults.on_program_unit(address, self._now)
        if kind is not None:
            self.array.program_unit(word, payload, interrupted=True)
            self._fault(kind, f"fault injection: {kind.value} programming 0x{address:08X}")
            return

        def complete() -> None:
            self.array.program_unit(word, payload)
            self._eop((bank.index,))

        def interrupt() -> None:
            self.array.program_unit(word, payload, interrupted=True)

        self._queue(
            f"program 0x{address:08X}",
            (bank.index,),
            self._cycles("program_unit"),
            complete,
            interrupt,
        )

    # -- reads -------------------------------------------------------------------------
    def check_read(self, address: int, length: int, access: Access) -> None:
        """Readout protection, PCROP and ECC status for a read of main flash."""
        lo = address - self.array.base
        hi = lo + length
        touched = {b.index for b in self.banks if b.offset < hi and lo < b.offset + b.size}
        self._stall(touched)
        if self.rdp_level() != 0 and access is not Access.CPU:
            raise ProtectionError(
                f"read of flash 0x{address:08X} refused: RDP level {self.rdp_level()} "
                f"blocks {access.value} access to main flash",
                hint="regress to level 0 (OPTSR_PRG RDP=0xAA, OPTSTART; erases flash) or "
                "read it from firmware running on the core",
            )
        for index in sorted(touched):
            bank = self.banks[index]
            for reg, flag in (("PRAR", SR_RDPERR), ("SCAR", SR_RDSERR)):
                area = self._bank_area(reg, bank)
                if reg == "SCAR" and access is Access.CPU:
                    continue  # the secure area's own code may read it; not modelled further
                if area is not None and area[0] < hi and lo < area[1]:
                    bank.sr |= flag
                    kind = "PCROP (execute-only)" if reg == "PRAR" else "secure"
                    raise ProtectionError(
                        f"read of flash 0x{address:08X}+{length} refused: it overlaps the "
                        f"{kind} area of bank {index + 1} "
                        f"[0x{self.array.base + area[0]:08X}, 0x{self.array.base + area[1]:08X})",
                        hint="remove the area with an RDP level 1 -> 0 regression and "
                        f"{'DMEP' if reg == 'PRAR' else 'DMES'}=1 (erases it)",
                    )
        bad = self.array.bad_units_in(lo, length) if self.array.ecc_bad else []
        if bad:
            first = bad[0] * self.array.unit
            bank = self._bank_of_offset(first)
            bank.sr |= SR_DBECCERR
            bank.ecc_fa = ((first - bank.offset) // FLASH_WORD) & 0x7FFF

    # -- option bytes ------------------------------------------------------------------
    def _write_prg(self, name: str, value: int) -> None:
        if self.optcr & OPTCR_OPTLOCK or self._option_busy():
            return
        mask = self._writable_mask(name)
        self.prg[name] = (self.prg[name] & ~mask) | (value & mask)

    def _option_start(self) -> None:
        if self._option_busy():
            return
        old, new = dict(self.options), dict(self.prg)
        regression = self.rdp_level() == 1 and self._field("OPTSR", "RDP", new["OPTSR"]) == 0xAA
        if not self._option_change_allowed(old, new, regression):
            self.optchangeerr = True
            return
        erase_ranges = self._regression_erase(old, new) if regression else []
        kind = self.board.faults.on_option_change(self._now)
        if kind is not None:
            for off, length in erase_ranges:
                self.array.erase_range(off, length, interrupted=True)
            self._option_failed = True
            self._fault(kind, f"fault injection: {kind.value} during option-byte change")
            return

        def complete() -> None:
            for off, length in erase_ranges:
                self.array.erase_range(off, length)
            self._nv = dict(new)
            self.options = dict(new)
            self.prg = dict(new)

        def interrupt() -> None:
            for off, length in erase_ranges:
                self.array.erase_range(off, length, interrupted=True)
            self._option_failed = True

        duration = self._cycles("option_launch")
        banks: tuple[int, ...] = ()
        if erase_ranges:
            duration += self._cycles("mass_erase")
            banks = tuple(range(len(self.banks)))
        self._queue("options", banks, duration, complete, interrupt)

    def _option_change_allowed(
        self, old: dict[str, int], new: dict[str, int], regression: bool
    ) -> bool:
        """RM0433 4.4.3: the changes that end in OPTCHANGEERR instead of being applied."""
        if self.rdp_level() == 2:
            return False  # level 2 freezes every option byte
        security = self.regs_by_name["OPTSR"].field("SECURITY")
        if security.get(old["OPTSR"]) and not security.get(new["OPTSR"]):
            return False  # secure access mode cannot be left
        for name in old:
            if name[:4] not in ("PRAR", "SCAR"):
                continue
            before, after = old[name], new[name]
            wipe = bool(before >> 31)  # DMEP / DMES
            if wipe and not after >> 31 and not regression:
                return False  # DMEP/DMES may only go 1 -> 0 with a level 1 -> 0 regression
            area = _area(before)
            if area is not None and _area(after) != area and not (regression and wipe):
                return False  # an area only goes away through a regression that erases it
        return True

    def _regression_erase(self, old: dict[str, int], new: dict[str, int]) -> list[tuple[int, int]]:
        """Level 1 -> 0: the sectors to erase; areas with DMEP/DMES=1 go, the others stay."""
        geo = self.geometry
        ranges: list[tuple[int, int]] = []
        security = self._field("OPTSR", "SECURITY", old["OPTSR"])
        for bank in self.banks:
            kept: list[tuple[int, int]] = []
            for reg in ("PRAR", "SCAR"):
                name = f"{reg}{bank.index + 1}"
                if name not in old or (reg == "SCAR" and not security):
                    continue
                area = _area(old[name])
                if area is None:
                    continue
                if old[name] >> 31:
                    new[name] = self.regs_by_name[name].factory  # erased: the area is removed
                else:
                    lo = bank.offset + area[0] * AREA_UNIT
                    kept.append((lo, bank.offset + (area[1] + 1) * AREA_UNIT))
            for sector in range(geo.pages_per_bank):
                lo = bank.offset + sector * geo.page_size
                hi = lo + geo.page_size
                if not any(k[0] < hi and lo < k[1] for k in kept):
                    ranges.append((lo, geo.page_size))
        return ranges

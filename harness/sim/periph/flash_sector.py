"""Sector-erase embedded flash interface (F2, F4, F7: RM0033, RM0090, RM0410) at register level.

Register offsets and bits come from the part's FLASH layout and the sectors from its flash
regions (`stm32_hil.parts.sectors`), so one model serves every part with this controller.
Firmware, flows and debuggers program it as they program silicon: KEYR keys, CR.PSIZE/PG and
one write per parallelism unit, SER/SNB/STRT per sector, MER for a bank, polling SR.BSY.

What is modelled: the KEYR/OPTKEYR key sequences (a wrong key is a bus error and locks the
register until reset), CR write-protection while LOCK is set, programming with the access size
checked against PSIZE (PGPERR) and its alignment (PGAERR), writes without PG or with an erase
bit set (PGSERR, ERSERR on F7), 1 -> 0 only cell changes, sector and bank (MER) erase with an
invalid SNB refused, BSY for the datasheet time of each operation (accesses to flash stall
until it ends), EOP when EOPIE is set.

Shortcuts: option bytes are not modelled (OPTCR reads back what is written while OPTLOCK is
clear; OPTSTRT programs nothing), so neither are write protection and readout protection;
bank 2 mass erase (MER1 on dual-bank F4) is not in the data's layout and is not modelled (erase
bank 2 sector by sector); fault injection does not reach this controller; these parts have no
flash ECC, so a unit programmed twice reads back as the AND of both writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stm32_hil.errors import ConfigError
from stm32_hil.parts.sectors import SectorControllerRegs, sector_controller, sector_map
from stm32_hil.sim.bus import Access
from stm32_hil.sim.memories.flash_array import FlashRegisters
from stm32_hil.sim.periph.flash_keys import KeySequence

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

PSIZE_BYTES = (1, 2, 4, 8)  # CR.PSIZE = x8, x16, x32, x64
# Datasheet figures (F4/F7, x32 parallelism, typical) used when the catalogue gives the part
# no `timing_us`: word program, erase per 16 KiB of sector, mass erase per MiB.
PROGRAM_US = 16.0
ERASE_US_PER_16K = 250_000.0
MASS_ERASE_US_PER_MIB = 8_000_000.0


class SectorFlashController(FlashRegisters):
    """FLASH registers of a sector-erase part plus its main-flash array."""

    def __init__(self, board: SimBoard, regs: SectorControllerRegs | None = None) -> None:
        super().__init__(board)
        found = regs or sector_controller(self.part)
        if found is None:
            raise ConfigError(f"{self.part.name}: FLASH block is not a sector-erase controller")
        self.r = found
        self.sectors = sector_map(self.part)
        self.array.port = self
        self.options: dict[str, int] = dict(self.part.factory_options)
        self.empty_flag = False
        errors = self.r.sr_bits
        self._seq_err = errors.get("PGSERR", errors.get("ERSERR", 0))
        timing = self.part.timing_us
        self._program_us = float(timing.get("program_unit", PROGRAM_US))
        self._erase_us_16k = float(timing.get("erase_16k", ERASE_US_PER_16K))
        self._mass_us_mib = float(timing.get("mass_erase_mib", MASS_ERASE_US_PER_MIB))
        self._keyr = KeySequence(
            "FLASH_KEYR", self.base + self.r.keyr, self.part.flash_keys,
            kind="flash key", guards="FLASH_CR", refuse_when_unlocked=False,
        )  # fmt: skip
        self._optkeyr = (
            KeySequence(
                "FLASH_OPTKEYR",
                self.base + self.r.optkeyr,
                self.part.option_keys,
                kind="option key",
                guards="FLASH_OPTCR",
                refuse_when_unlocked=False,
            )
            if self.r.optkeyr is not None
            else None
        )
        self._other: dict[int, int] = {}
        self._reset_registers()

    # -- FlashController protocol ------------------------------------------------------
    def rdp_level(self) -> int:
        return 0

    def power_on(self) -> None:
        self._reset_registers()

    def system_reset(self) -> None:
        self._reset_registers()

    def check_read(self, address: int, length: int, access: Access) -> None:
        self._stall()

    # -- state -------------------------------------------------------------------------
    def _reset_registers(self) -> None:
        self._sr = 0
        self._cr = self.r.cr_lock
        self._optcr = self.r.optlock
        self._other.clear()
        self._keyr.reset()
        if self._optkeyr is not None:
            self._optkeyr.reset()
        self._busy_until: int | None = None

    def _settle(self) -> None:
        if self._busy_until is not None and self.board.clock.now >= self._busy_until:
            self._busy_until = None
            self._cr &= ~self.r.cr_strt
            if self._cr & self.r.cr_eopie:
                self._sr |= self.r.sr_bits.get("EOP", 0)

    def _stall(self) -> None:
        """An access that needs the flash while it is busy waits on the bus until it is done."""
        self._settle()
        if self._busy_until is not None:
            self.board.clock.advance(self._busy_until - self.board.clock.now)
            self._settle()

    def _start(self, us: float, strt: bool) -> None:
        if strt:
            self._cr |= self.r.cr_strt
        self._busy_until = self.board.clock.now + self.board.clock.cycles(us)

    def _error(self, bits: int) -> None:
        self._sr |= bits
        if self._cr & self.r.cr_errie:
            self._sr |= self.r.sr_bits.get("OPERR", 0)

    def _psize(self) -> int:
        return PSIZE_BYTES[(self._cr >> self.r.psize_shift) & 3]

    # -- registers ---------------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        self._settle()
        r = self.r
        if offset == r.sr:
            return self._sr | (r.sr_bits["BSY"] if self._busy_until is not None else 0)
        if offset == r.cr:
            return self._cr
        if offset == r.optcr:
            return self._optcr
        if offset in (r.keyr, r.optkeyr):
            return 0  # write-only
        return self._other.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self._settle()
        r = self.r
        if offset == r.keyr:
            if self._keyr.feed(value, bool(self._cr & r.cr_lock)):
                self._cr &= ~r.cr_lock
        elif offset == r.optkeyr and self._optkeyr is not None:
            if self._optkeyr.feed(value, bool(self._optcr & r.optlock)):
                self._optcr &= ~r.optlock
        elif offset == r.sr:
            self._sr &= ~(value & (r.sr_error_mask | r.sr_bits.get("EOP", 0)))
        elif offset == r.cr:
            self._write_cr(value, access)
        elif offset == r.optcr:
            if not self._optcr & r.optlock:
                self._optcr = value & ~2  # OPTSTRT (bit 1) programs nothing: not modelled
        else:
            self._other[offset] = value  # ACR and the rest read back what is written

    def _write_cr(self, value: int, access: Access) -> None:
        r = self.r
        if self._cr & r.cr_lock:
            return  # the whole register is write-protected while LOCK is set
        busy = self._cr & r.cr_strt
        self._cr = (value & ~r.cr_strt) | busy
        if value & r.cr_strt:
            self._start_erase()

    # -- erase -------------------------------------------------------------------------
    def _start_erase(self) -> None:
        self._stall()
        r, cr = self.r, self._cr
        ser, mer = bool(cr & r.cr_ser), bool(cr & r.cr_mer)
        if ser == mer or cr & r.cr_pg or self._sr & r.sr_error_mask:
            self._error(self._seq_err)
            return
        if mer:
            bank = self.sectors.in_bank(0)
            lo, hi = bank[0].base, bank[-1].end
            self.array.erase_range(lo - self.geometry.base, hi - lo)
            self._start(self._mass_us_mib * (hi - lo) / (1 << 20), strt=True)
            return
        snb = (cr >> r.snb_shift) & ((1 << r.snb_width) - 1)
        sector = self.sectors.find(*r.sector_of_snb(snb))
        if sector is None:
            self._error(self._seq_err)  # SNB names no sector of this part
            return
        self.array.erase_range(sector.base - self.geometry.base, sector.size)
        self._start(self._erase_us_16k * sector.size / 0x4000, strt=True)

    # -- programming -------------------------------------------------------------------
    def bus_write(self, address: int, size: int, value: int, access: Access) -> None:
        self._stall()
        r, cr = self.r, self._cr
        bits = r.sr_bits
        if not cr & r.cr_pg or cr & (r.cr_ser | r.cr_mer) or cr & r.cr_lock:
            self._error(self._seq_err)
            return
        if size != self._psize():
            self._error(bits.get("PGPERR", 0))
            return
        if address % size:
            self._error(bits.get("PGAERR", 0))
            return
        off = address - self.geometry.base
        old = self.array.data[off : off + size]
        new = bytes(o & p for o, p in zip(old, value.to_bytes(size, "little")))
        self.array.data[off : off + size] = new
        for cb in self.array.on_change:
            cb(off, size)
        self._start(self._program_us, strt=False)


def sector_or_basic(board: SimBoard) -> FlashRegisters:
    """The controller model a 'basic' part gets: this one when its FLASH layout is a
    sector-erase controller, else the read-back model of `flash_basic`."""
    if sector_controller(board.part) is not None:
        return SectorFlashController(board)
    from stm32_hil.sim.periph.flash_basic import BasicFlashController

    return BasicFlashController(board)

"""Host-side STM32H7 flash sequences, written only as register accesses through a Target.

These are the sequences RM0433 section 4 prescribes (unlock, program 256-bit flash words, erase,
option-byte change); the tests drive the simulated controller exclusively through them so that
what passes here is what a debugger script would do on silicon.
"""

from __future__ import annotations

import random

from stm32_hil.errors import TargetTimeout
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.target import SimTarget
from stm32_hil.target.base import ResetKind

FLASH = 0x52002000
KEYR, OPTKEYR, CR, SR, CCR = 0x04, 0x08, 0x0C, 0x10, 0x14
OPTCR, OPTSR_CUR, OPTSR_PRG, OPTCCR = 0x18, 0x1C, 0x20, 0x24
PRAR_CUR, PRAR_PRG, SCAR_PRG, WPSN_CUR, WPSN_PRG = 0x28, 0x2C, 0x34, 0x38, 0x3C
BOOT_CUR, BOOT_PRG, ECC_FA = 0x40, 0x44, 0x60

LOCK, PG, SER, BER, FW, START = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 6, 1 << 7
BSY, WBNE, QW = 1 << 0, 1 << 1, 1 << 2
EOP, WRPERR, PGSERR, STRBERR, INCERR = 1 << 16, 1 << 17, 1 << 18, 1 << 19, 1 << 21
RDPERR, DBECCERR = 1 << 23, 1 << 26
ERRORS = 0x0FEE0000
OPTLOCK, OPTSTART, MER = 1 << 0, 1 << 1, 1 << 4
OPT_BUSY, OPTCHANGEERR = 1 << 0, 1 << 30
PSIZE_64 = 3 << 4


class H7Seq:
    """RM0433 flash sequences against one simulated board, through its debug port."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.target = SimTarget(board.spec, board.part, board)
        self.base = board.part.flash.base
        self.bank_size = board.part.flash.bank_size
        self.sector_size = board.part.flash.page_size

    # -- raw access ------------------------------------------------------------------
    def reg(self, offset: int, bank: int = 0) -> int:
        return self.target.read32(FLASH + offset + 0x100 * bank)

    def set_reg(self, offset: int, value: int, bank: int = 0) -> None:
        self.target.write32(FLASH + offset + 0x100 * bank, value)

    def read(self, address: int, length: int) -> bytes:
        return self.target.read_memory(address, length)

    def sector_address(self, bank: int, sector: int) -> int:
        return self.base + bank * self.bank_size + sector * self.sector_size

    def bank_of(self, address: int) -> int:
        return (address - self.base) // self.bank_size

    # -- waiting ---------------------------------------------------------------------
    def wait(self, offset: int, mask: int, bank: int = 0, budget_s: float = 20.0) -> int:
        """Poll a register until `mask` clears, letting 1 ms of virtual time pass per poll."""
        clock = self.board.clock
        deadline = clock.now + int(budget_s * clock.hz)
        while True:
            value = self.reg(offset, bank)
            if not value & mask:
                return value
            if clock.now >= deadline:
                raise TargetTimeout(f"FLASH +0x{offset:X} still 0x{value:08X} after {budget_s} s")
            clock.advance(clock.cycles(1000))

    def wait_bank(self, bank: int = 0) -> int:
        return self.wait(SR, QW | BSY, bank)

    # -- main flash ------------------------------------------------------------------
    def unlock(self, bank: int = 0) -> None:
        if self.reg(CR, bank) & LOCK:
            self.set_reg(KEYR, 0x45670123, bank)
            self.set_reg(KEYR, 0xCDEF89AB, bank)

    def lock(self, bank: int = 0) -> None:
        self.set_reg(CR, self.reg(CR, bank) | LOCK, bank)

    def clear_flags(self, bank: int = 0) -> None:
        self.set_reg(CCR, ERRORS | EOP, bank)

    def write_words(self, address: int, data: bytes) -> None:
        for i in range(0, len(data), 4):
            self.target.write32(address + i, int.from_bytes(data[i : i + 4], "little"))

    def program(self, address: int, data: bytes, *, force: bool = False) -> int:
        """Program `data` (whole flash words unless `force`); returns SR's error bits."""
        bank = self.bank_of(address)
        self.unlock(bank)
        self.clear_flags(bank)
        self.set_reg(CR, PG | PSIZE_64, bank)
        self.write_words(address, data)
        if force:
            self.set_reg(CR, PG | PSIZE_64 | FW, bank)
        sr = self.wait_bank(bank)
        self.set_reg(CR, PSIZE_64, bank)
        return sr & ERRORS

    def erase_sector(self, bank: int, sector: int) -> int:
        self.unlock(bank)
        self.clear_flags(bank)
        self.set_reg(CR, SER | PSIZE_64 | (sector << 8) | START, bank)
        sr = self.wait_bank(bank)
        self.set_reg(CR, PSIZE_64, bank)
        return sr & ERRORS

    def erase_bank(self, bank: int) -> int:
        self.unlock(bank)
        self.clear_flags(bank)
        self.set_reg(CR, BER | PSIZE_64 | START, bank)
        sr = self.wait_bank(bank)
        self.set_reg(CR, PSIZE_64, bank)
        return sr & ERRORS

    def mass_erase(self) -> int:
        banks = range(self.board.part.flash.banks)
        for bank in banks:
            self.unlock(bank)
            self.clear_flags(bank)
        self.unlock_options()
        self.set_reg(OPTCR, MER)
        errors = 0
        for bank in banks:
            errors |= self.wait_bank(bank) & ERRORS
        self.set_reg(OPTCR, OPTLOCK)
        return errors

    # -- option bytes ----------------------------------------------------------------
    def unlock_options(self) -> None:
        if self.reg(OPTCR) & OPTLOCK:
            self.set_reg(OPTKEYR, 0x08192A3B)
            self.set_reg(OPTKEYR, 0x4C5D6E7F)

    def change_options(self, prg: dict[int, int]) -> bool:
        """Write *_PRG registers (offset -> value), OPTSTART, wait; True if applied cleanly."""
        self.unlock_options()
        self.set_reg(OPTCCR, OPTCHANGEERR)
        for offset, value in prg.items():
            self.set_reg(offset, value)
        self.set_reg(OPTCR, OPTSTART)
        sr = self.wait(OPTSR_CUR, OPT_BUSY)
        failed = bool(sr & OPTCHANGEERR)
        if failed:
            self.set_reg(OPTCCR, OPTCHANGEERR)
        self.set_reg(OPTCR, OPTLOCK)
        return not failed

    def set_rdp(self, rdp: int) -> bool:
        self.unlock_options()
        optsr = self.reg(OPTSR_CUR) & ~(OPT_BUSY | OPTCHANGEERR)
        return self.change_options({OPTSR_PRG: (optsr & ~0xFF00) | (rdp << 8)})

    def power_cycle(self) -> None:
        self.board.reset(ResetKind.POWER, "test power cycle")


def pattern(length: int, seed: int = 0) -> bytes:
    """Seeded random bytes (no repeating period), distinct per seed."""
    return random.Random(0x5A00 + seed).randbytes(length)

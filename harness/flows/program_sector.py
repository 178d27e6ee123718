"""Sector-erase FLASH register sequences (F2/F4/F7: RM0033 3.6, RM0090 3.6, RM0410 3.3).

Offsets, bits and the sector map come from the part's data (`stm32_hil.parts.sectors`), so
the same sequence drives every part whose FLASH block has this layout. Programming uses x32
parallelism (CR.PSIZE = 0b10), the setting RM0090 gives for a 2.7-3.6 V supply, which every
debug probe and Nucleo/Discovery board provides: one 32-bit write per word, BSY polled after
each program unit.
"""

from __future__ import annotations

from collections.abc import Mapping

from stm32_hil.errors import ConfigError, ProtectionError
from stm32_hil.flows.internal_flash import InternalFlash
from stm32_hil.flows.poll import wait_until
from stm32_hil.parts.sectors import Sector, SectorControllerRegs, sector_map
from stm32_hil.target.base import Target

PSIZE_X32 = 0b10
# Datasheet maxima with margin (F4/F7 at x32): 128 KiB sector 4 s, 256 KiB 8 s, bank 32 s.
ERASE_TIMEOUT_S_PER_128K = 4.0
MASS_ERASE_TIMEOUT_S = 40.0


class SectorInternalFlash(InternalFlash):
    def __init__(self, target: Target, regs: SectorControllerRegs) -> None:
        super().__init__(target)
        self.c = regs
        self.sectors = sector_map(target.part)
        self.unit_time_s = target.part.timing_us.get("program_unit", 16) / 1e6

    def _wait(self, what: str, timeout_s: float, expected_s: float = 10e-6) -> None:
        c = self.c
        wait_until(
            self.target,
            lambda: not self.r(c.sr) & c.sr_bits["BSY"],
            timeout_s,
            what,
            first_interval_s=expected_s,
        )
        sr = self.r(c.sr)
        if sr & c.sr_error_mask:
            self.w(c.sr, sr & (c.sr_error_mask | c.sr_bits.get("EOP", 0)))
            names = {m.bit_length() - 1: n for n, m in c.sr_errors.items()}
            raise self._error(what, sr, names)
        eop = c.sr_bits.get("EOP", 0)
        if sr & eop:
            self.w(c.sr, eop)

    def unlock(self) -> None:
        c = self.c
        if self.r(c.cr) & c.cr_lock:
            k1, k2 = self.part.flash_keys
            self.w(c.keyr, k1)
            self.w(c.keyr, k2)
            if self.r(c.cr) & c.cr_lock:
                raise ProtectionError(
                    f"{self.target.name}: FLASH_CR stays locked after the key sequence",
                    hint="a wrong key locks the controller until the next reset: reset the part",
                )
        stale = self.r(c.sr) & c.sr_error_mask
        if stale:
            self.w(c.sr, stale)

    def lock(self) -> None:
        self.w(self.c.cr, self.r(self.c.cr) | self.c.cr_lock)

    def _psize(self) -> int:
        return PSIZE_X32 << self.c.psize_shift

    def _erase_sector(self, sector: Sector) -> None:
        c = self.c
        self._wait("wait before sector erase", 1.0)
        bits = c.cr_ser | (c.snb(sector) << c.snb_shift) | self._psize()
        self.w(c.cr, bits)
        self.w(c.cr, bits | c.cr_strt)
        try:
            self._wait(
                f"erase of sector {sector.number} (bank {sector.bank + 1}, 0x{sector.base:08X})",
                ERASE_TIMEOUT_S_PER_128K * max(1.0, sector.size / 0x20000),
                expected_s=0.01,
            )
        finally:
            self.w(c.cr, self.r(c.cr) & ~(c.cr_ser | c.cr_strt))

    def erase_page(self, index: int) -> None:
        """Erase one sector by global index (address order, bank 2 after bank 1)."""
        if not 0 <= index < len(self.sectors.sectors):
            raise ConfigError(
                f"{self.part.name} has sectors 0..{len(self.sectors.sectors) - 1}, not {index}"
            )
        self._erase_sector(self.sectors.sectors[index])

    def erase(self, address: int, length: int) -> list[int]:
        """Erase every sector touching [address, address+length); returns their indices."""
        self._check_range(address, length)
        touched = self.sectors.covering(address, length)
        self.unlock()
        try:
            for sector in touched:
                self._erase_sector(sector)
        finally:
            self.lock()
        return [s.index for s in touched]

    def mass_erase(self) -> None:
        """MER erases bank 1; sectors of further banks are erased one by one."""
        c = self.c
        self.unlock()
        try:
            self._wait("wait before mass erase", 1.0)
            self.w(c.cr, c.cr_mer | self._psize())
            self.w(c.cr, c.cr_mer | self._psize() | c.cr_strt)
            try:
                self._wait("mass erase of bank 1", MASS_ERASE_TIMEOUT_S, expected_s=0.1)
            finally:
                self.w(c.cr, self.r(c.cr) & ~(c.cr_mer | c.cr_strt))
            for sector in self.sectors.sectors:
                if sector.bank > 0:
                    self._erase_sector(sector)
        finally:
            self.lock()

    def _programming(self, on: bool) -> None:
        c = self.c
        cr = self.r(c.cr) & ~(c.cr_pg | (3 << c.psize_shift))
        self.w(c.cr, (cr | c.cr_pg | self._psize()) if on else cr)

    def _program_unit(self, address: int, unit: bytes) -> None:
        for off in range(0, len(unit), 4):
            self.target.write32(address + off, int.from_bytes(unit[off : off + 4], "little"))
        self._wait(f"programming of 0x{address:08X}", 1.0, self.unit_time_s)

    def read_options(self) -> dict[str, int]:
        raise ConfigError(
            f"{self.part.name}: option bytes of this flash controller are not supported yet",
            hint="program and erase work; read or change its option bytes with STM32CubeProgrammer",
        )

    def write_options(self, values: Mapping[str, int], *, launch: bool = True) -> None:
        self.read_options()

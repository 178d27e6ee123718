"""STM32H742/743/750/753 FLASH register sequences (RM0433 section 4.3)."""

from __future__ import annotations

from collections.abc import Mapping

from stm32_hil.errors import FlashError, ProtectionError
from stm32_hil.flows.internal_flash import InternalFlash
from stm32_hil.flows.poll import wait_until

BANK_STRIDE = 0x100
KEYR, OPTKEYR, CR, SR, CCR = 0x04, 0x08, 0x0C, 0x10, 0x14
OPTCR, OPTSR_CUR, OPTSR_PRG, OPTCCR = 0x18, 0x1C, 0x20, 0x24
CR_LOCK, CR_PG, CR_SER, CR_BER, CR_START = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 7
CR_PSIZE_X64 = 3 << 4
SNB_SHIFT = 8
SR_BSY, SR_WBNE, SR_QW = 1 << 0, 1 << 1, 1 << 2
SR_ERRORS = {
    17: "WRPERR", 18: "PGSERR", 19: "STRBERR", 21: "INCERR", 22: "OPERR", 23: "RDPERR",
    24: "RDSERR", 25: "SNECCERR", 26: "DBECCERR",
}  # fmt: skip
SR_ERROR_MASK = sum(1 << b for b in SR_ERRORS)
SR_EOP = 1 << 16
OPTCR_OPTLOCK, OPTCR_OPTSTART, OPTCR_MER = 1 << 0, 1 << 1, 1 << 4
OPTSR_BUSY, OPTSR_CHANGEERR = 1 << 0, 1 << 30


class H7InternalFlash(InternalFlash):
    def _bank(self, index: int) -> int:
        return index // self.geometry.pages_per_bank

    def _wait_bank(self, bank: int, what: str, timeout_s: float, expected_s: float = 10e-6) -> None:
        base = bank * BANK_STRIDE
        wait_until(
            self.target,
            lambda: not self.r(base + SR) & (SR_BSY | SR_QW | SR_WBNE),
            timeout_s,
            what,
            first_interval_s=expected_s,
        )
        sr = self.r(base + SR)
        if sr & SR_ERROR_MASK:
            self.w(base + CCR, sr & (SR_ERROR_MASK | SR_EOP))
            raise self._error(what, sr, SR_ERRORS)
        if sr & SR_EOP:
            self.w(base + CCR, SR_EOP)

    def unlock(self) -> None:
        k1, k2 = self.part.flash_keys
        for bank in range(self.geometry.banks):
            base = bank * BANK_STRIDE
            if self.r(base + CR) & CR_LOCK:
                self.w(base + KEYR, k1)
                self.w(base + KEYR, k2)
                if self.r(base + CR) & CR_LOCK:
                    raise ProtectionError(
                        f"{self.target.name}: FLASH_CR{bank + 1} stays locked after the keys",
                        hint="a wrong key locks the bank until the next reset: reset the part",
                    )
            stale = self.r(base + SR) & SR_ERROR_MASK
            if stale:
                self.w(base + CCR, stale)

    def lock(self) -> None:
        for bank in range(self.geometry.banks):
            base = bank * BANK_STRIDE
            self.w(base + CR, self.r(base + CR) | CR_LOCK)

    def erase_page(self, index: int) -> None:
        bank = self._bank(index)
        base = bank * BANK_STRIDE
        sector = index % self.geometry.pages_per_bank
        bits = CR_SER | CR_PSIZE_X64 | (sector << SNB_SHIFT)
        address = self.geometry.base + index * self.geometry.page_size
        self.w(base + CR, bits)
        self.w(base + CR, bits | CR_START)
        try:
            self._wait_bank(bank, f"sector erase of 0x{address:08X}", 10.0)
        finally:
            self.w(base + CR, self.r(base + CR) & ~(CR_SER | CR_START))

    def mass_erase(self) -> None:
        self.unlock()
        try:
            self._unlock_options()
            self.w(OPTCR, self.r(OPTCR) | OPTCR_MER)
            for bank in range(self.geometry.banks):
                self._wait_bank(bank, "mass erase", 240.0)
        finally:
            self.w(OPTCR, self.r(OPTCR) | OPTCR_OPTLOCK)
            self.lock()

    def _programming(self, on: bool) -> None:
        for bank in range(self.geometry.banks):
            base = bank * BANK_STRIDE
            cr = self.r(base + CR)
            self.w(base + CR, (cr | CR_PG | CR_PSIZE_X64) if on else (cr & ~CR_PG))

    def _program_unit(self, address: int, unit: bytes) -> None:
        bank = self.geometry.bank_of(address)
        self.target.write_memory(address, unit)
        self._wait_bank(bank, f"programming of 0x{address:08X}", 1.0, self.unit_time_s)

    def _unlock_options(self) -> None:
        if self.r(OPTCR) & OPTCR_OPTLOCK:
            k1, k2 = self.part.option_keys
            self.w(OPTKEYR, k1)
            self.w(OPTKEYR, k2)
            if self.r(OPTCR) & OPTCR_OPTLOCK:
                raise ProtectionError(f"{self.target.name}: OPTLOCK stays set after OPTKEYR")

    def read_options(self) -> dict[str, int]:
        return {reg.name: self.r(reg.offset) for reg in self.part.option_registers}

    def write_options(self, values: Mapping[str, int], *, launch: bool = True) -> None:
        rdp = self.part.option_register("OPTSR").field("RDP")
        level2 = launch and "OPTSR" in values and rdp.get(values["OPTSR"]) == 0xCC
        try:
            self._write_options(values, launch=launch)
        except ProtectionError:
            if not level2:
                raise
            # RDP level 2 took effect and closed the debug port: the expected end of the change.

    def _write_options(self, values: Mapping[str, int], *, launch: bool) -> None:
        self._unlock_options()
        try:
            for name, value in values.items():
                reg = self.part.option_register(name)
                self.w(reg.offset + 4, value)  # the *_PRG copy follows the *_CUR register
            if not launch:
                return
            self.w(OPTCR, self.r(OPTCR) | OPTCR_OPTSTART)
            wait_until(
                self.target,
                lambda: not self.r(OPTSR_CUR) & OPTSR_BUSY,
                240.0,  # an RDP regression mass-erases first
                "option-byte change",
            )
            if self.r(OPTSR_CUR) & OPTSR_CHANGEERR:
                self.w(OPTCCR, OPTSR_CHANGEERR)
                raise FlashError(
                    f"{self.target.name}: option-byte change refused (OPTCHANGEERR)",
                    hint="RDP level 2 freezes option bytes; DMEP may only be cleared together "
                    "with an RDP 1->0 regression",
                )
        finally:
            self.w(OPTCR, self.r(OPTCR) | OPTCR_OPTLOCK)

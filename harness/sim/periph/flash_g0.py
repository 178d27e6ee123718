"""STM32G0 embedded flash interface (RM0444 section 3) modelled at register level.

Firmware, flows and the bootrom program this block exactly as they program silicon: keys into
KEYR/OPTKEYR, bits into CR, polling SR. The model keeps what the silicon keeps across a power
cycle (cells, ECC state in `FlashArray`, the option-byte page) apart from what a reset clears
(registers, locks), so power-loss and protection scenarios behave as in the field.

Choices where RM0444 leaves behaviour open or the simulator cannot follow it exactly:
- A wrong key in KEYR/OPTKEYR raises `BusFault` (the AHB error that becomes a HardFault on
  silicon) and keeps the register locked until the next reset; every later write to that key
  register raises the same error until then. A key written while already unlocked is ignored.
- Page erase with a page number outside the bank, or STRT without exactly one erase kind,
  sets PGSERR.
- OPTSTRT at RDP level 2 programs nothing and sets WRPERR (the option page is frozen).
- A corrupted option page (option/complement mismatch after an interrupted change) loads as:
  OPTVERR set, RDP forced to level 1 (0xFF), every other register at its factory value.
- PCROP: debug and bootrom reads of a PCROP area are refused. CPU reads are allowed, because a
  CPU access seen here cannot be told apart as an instruction fetch or a data read.
- Fast programming (CR.FSTPG) is not modelled: a flash write with FSTPG set sets FASTERR.
- Only the bank-1 protection registers of the catalogue (WRP1A/B, PCROP1A/B) are modelled;
  the G0B1 bank-2 areas (WRP2x, PCROP2x), bank swap (nSWAP_BANK) and the securable area
  (SEC_SIZE, CR.SEC_PROT) are not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stm32_hil.errors import ProtectionError
from stm32_hil.sim.bus import Access
from stm32_hil.sim.faults import FaultKind
from stm32_hil.sim.memories.flash_array import FlashRegisters
from stm32_hil.sim.periph.flash_keys import KeySequence
from stm32_hil.sim.rom.boot import BootSource

if TYPE_CHECKING:
    from stm32_hil.parts import OptionRegister
    from stm32_hil.sim.board import SimBoard

# Register offsets (RM0444 section 3.7).
ACR = 0x00
KEYR = 0x08
OPTKEYR = 0x0C
SR = 0x10
CR = 0x14
ECCR = 0x18
ECC2R = 0x1C  # dual-bank parts: ECC of bank 2

ACR_RESET = 0x0004_0600
ACR_EMPTY = 1 << 16

# FLASH_SR
SR_EOP = 1 << 0
SR_OPERR = 1 << 1
SR_PROGERR = 1 << 3
SR_WRPERR = 1 << 4
SR_PGAERR = 1 << 5
SR_SIZERR = 1 << 6
SR_PGSERR = 1 << 7
SR_MISSERR = 1 << 8
SR_FASTERR = 1 << 9
SR_RDERR = 1 << 14
SR_OPTVERR = 1 << 15
SR_BSY1 = 1 << 16
SR_BSY2 = 1 << 17
SR_CFGBSY = 1 << 18
SR_PROG_ERRORS = (
    SR_PROGERR | SR_WRPERR | SR_PGAERR | SR_SIZERR | SR_PGSERR | SR_MISSERR | SR_FASTERR
)
SR_W1C = SR_EOP | SR_OPERR | SR_PROG_ERRORS | SR_RDERR | SR_OPTVERR

# FLASH_CR
CR_PG = 1 << 0
CR_PER = 1 << 1
CR_MER1 = 1 << 2
CR_PNB_SHIFT = 3
CR_BKER = 1 << 13
CR_MER2 = 1 << 15
CR_STRT = 1 << 16
CR_OPTSTRT = 1 << 17
CR_FSTPG = 1 << 18
CR_EOPIE = 1 << 24
CR_ERRIE = 1 << 25
CR_RDERRIE = 1 << 26
CR_OBL_LAUNCH = 1 << 27
CR_OPTLOCK = 1 << 30
CR_LOCK = 1 << 31
CR_RESET = CR_LOCK | CR_OPTLOCK

# FLASH_ECCR / ECC2R
ECCR_ADDR_MASK = 0xFFFF  # ADDR_ECC: double-word offset inside the bank ([13:0] on G07x)
ECCR_ECCCIE = 1 << 24
ECCR_ECCC = 1 << 30
ECCR_ECCD = 1 << 31

RDP_LEVEL0 = 0xAA
RDP_LEVEL2 = 0xCC
RDP_UNREADABLE = 0xFF  # what an option page failing its complement check loads as (level 1)

# PCROP areas are set in 512-byte sub-pages (RM0444 FLASH_PCROP1xSR); not in the catalogue.
DEFAULT_PCROP_GRANULE = 512


class G0FlashController(FlashRegisters):
    """FLASH registers of an STM32G0 plus the non-volatile option page behind them."""

    def __init__(self, board: SimBoard) -> None:
        super().__init__(board)
        part = self.part
        self.array.port = self
        self._keyr = KeySequence(
            "FLASH_KEYR", self.base + KEYR, part.flash_keys,
            kind="flash key", guards="FLASH_CR", refuse_when_unlocked=False,
        )  # fmt: skip
        self._optkeyr = KeySequence(
            "FLASH_OPTKEYR", self.base + OPTKEYR, part.option_keys,
            kind="option key", guards="the option bytes", refuse_when_unlocked=False,
        )  # fmt: skip

        self._opt_by_offset: dict[int, OptionRegister] = {
            r.offset: r for r in part.option_registers
        }
        self._optr = part.option_register("OPTR")
        self._pcrop_granule = int(part.extra.get("pcrop_granule", DEFAULT_PCROP_GRANULE))
        # PNB is CR[9:3] on single-bank parts, CR[12:3] on the dual-bank G0B1/G0C1.
        self._pnb_width = 10 if self.geometry.banks > 1 else 7

        # Non-volatile option page: survives everything but an option change.
        self._nv_options: dict[str, int] = dict(part.factory_options)
        self._nv_corrupt = False

        self.options: dict[str, int] = {}
        self.empty_flag = False
        self._opt_regs: dict[str, int] = {}
        self._optverr = False
        self._reset_registers()
        self.power_on()

    # -- FlashController protocol ------------------------------------------------------
    def rdp_level(self) -> int:
        rdp = self._optr.field("RDP").get(self.options["OPTR"])
        if rdp == RDP_LEVEL0:
            return 0
        if rdp == RDP_LEVEL2:
            return 2
        return 1

    def power_on(self) -> None:
        """Power-on (or OBL_LAUNCH): option page loaded, empty flag sampled, registers reset."""
        self._load_option_bytes()
        first = self.array.data[0:4]
        self.empty_flag = bytes(first) == b"\xff\xff\xff\xff"
        self._reset_registers()

    def system_reset(self) -> None:
        """System/pin reset: registers to reset values and locked; option bytes stay loaded."""
        self._reset_registers()

    # -- option bytes ------------------------------------------------------------------
    def _load_option_bytes(self) -> None:
        if self._nv_corrupt:
            loaded = dict(self.part.factory_options)
            loaded["OPTR"] = self._optr.field("RDP").put(loaded["OPTR"], RDP_UNREADABLE)
            self._optverr = True
        else:
            loaded = dict(self._nv_options)
            self._optverr = False
        self.options = loaded

    def _reset_registers(self) -> None:
        self._acr = ACR_RESET
        self._sr = SR_OPTVERR if self._optverr else 0
        self._cr = CR_RESET
        self._eccr = [0, 0]
        self._keyr.reset()
        self._optkeyr.reset()
        self._pending: tuple[int, int] | None = None  # first word of a double word
        self._busy_until: int | None = None
        self._busy_bits = 0
        self._opt_regs = dict(self.options)

    def _option(self, reg: str, field: str) -> int:
        return self.part.option_register(reg).field(field).get(self.options[reg])

    # -- time ------------------------------------------------------------------------
    def _settle(self) -> None:
        """Complete the running operation if its time has passed."""
        if self._busy_until is not None and self.board.clock.now >= self._busy_until:
            self._busy_until = None
            self._busy_bits = 0
            self._cr &= ~(CR_STRT | CR_OPTSTRT)
            if self._cr & CR_EOPIE:
                self._sr |= SR_EOP

    def _stall(self) -> None:
        """An access that needs the flash while it is busy waits on the bus until it is done."""
        self._settle()
        if self._busy_until is not None:
            self.board.clock.advance(self._busy_until - self.board.clock.now)
            self._settle()

    def _start(self, timing_key: str, bits: int, extra_us: float = 0.0, cr_bit: int = 0) -> None:
        """Mark the flash busy (SR bits, and STRT/OPTSTRT held in CR) until the op ends."""
        self._cr |= cr_bit
        us = self.part.timing_us[timing_key] + extra_us
        self._busy_until = self.board.clock.now + self.board.clock.cycles(us)
        self._busy_bits = bits

    def _bsy_bit(self, bank: int) -> int:
        """BSY1 flags every operation; a bank-2 operation on a dual-bank part adds BSY2.

        Silicon flags bank 2 with BSY2; BSY1 is kept as well so that code polling only BSY1
        (single-bank habits) still waits for the operation instead of racing it.
        """
        return SR_BSY1 | (SR_BSY2 if bank == 1 and self.geometry.banks > 1 else 0)

    def _error(self, bits: int) -> None:
        self._sr |= bits
        if self._cr & CR_ERRIE:
            self._sr |= SR_OPERR

    # -- registers ---------------------------------------------------------------------
    def read_reg(self, offset: int, access: Access) -> int:
        self._settle()
        if offset == ACR:
            return self._acr | (ACR_EMPTY if self.empty_flag else 0)
        if offset == SR:
            return self._sr | self._busy_bits | (SR_CFGBSY if self._pending else 0)
        if offset == CR:
            return self._cr
        if offset == ECCR:
            return self._eccr[0]
        if offset == ECC2R and self.geometry.banks > 1:
            return self._eccr[1]
        reg = self._opt_by_offset.get(offset)
        if reg is not None:
            return self._opt_regs[reg.name]
        return 0  # KEYR/OPTKEYR are write-only; reserved offsets read as zero

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self._settle()
        if offset == KEYR:
            self._write_keyr(value)
        elif offset == OPTKEYR:
            self._write_optkeyr(value)
        elif offset == SR:
            self._sr &= ~(value & SR_W1C)
        elif offset == CR:
            self._write_cr(value, access)
        elif offset == ACR:
            self._acr = value & ~ACR_EMPTY
            self.empty_flag = bool(value & ACR_EMPTY)
        elif offset in (ECCR, ECC2R):
            bank = 0 if offset == ECCR else 1
            if bank < self.geometry.banks:
                cur = self._eccr[bank] & ~(value & (ECCR_ECCC | ECCR_ECCD))
                self._eccr[bank] = (cur & ~ECCR_ECCCIE) | (value & ECCR_ECCCIE)
        else:
            reg = self._opt_by_offset.get(offset)
            if reg is not None and not self._cr & (CR_LOCK | CR_OPTLOCK):
                self._opt_regs[reg.name] = value

    def _write_keyr(self, value: int) -> None:
        if self._keyr.feed(value, bool(self._cr & CR_LOCK)):
            self._cr &= ~CR_LOCK

    def _write_optkeyr(self, value: int) -> None:
        if self._cr & CR_LOCK and not self._optkeyr.refused:
            return  # option unlock needs FLASH_CR unlocked first
        if self._optkeyr.feed(value, bool(self._cr & CR_OPTLOCK)):
            self._cr &= ~CR_OPTLOCK

    def _write_cr(self, value: int, access: Access) -> None:
        old = self._cr
        if old & CR_LOCK:
            return  # the whole register is write-protected while LOCK is set
        locks = (old & CR_OPTLOCK) | (value & (CR_LOCK | CR_OPTLOCK))
        if value & CR_LOCK:
            locks |= CR_OPTLOCK
        keep_busy = old & (CR_STRT | CR_OPTSTRT)
        plain = value & ~(CR_LOCK | CR_OPTLOCK | CR_STRT | CR_OPTSTRT | CR_OBL_LAUNCH)
        if self.geometry.banks == 1:
            plain &= ~(CR_BKER | CR_MER2)
        self._cr = plain | locks | keep_busy
        if not self._cr & CR_PG:
            self._pending = None
        if value & CR_LOCK:
            return
        options_open = not locks & CR_OPTLOCK
        if value & CR_STRT:
            self._start_erase(access)
        if value & CR_OPTSTRT and options_open:
            self._start_option_change()
        if value & CR_OBL_LAUNCH and options_open:
            self._stall()
            self.board.clock.advance_us(self.part.timing_us["option_launch"])
            self.board.option_reload_reset("OBL_LAUNCH")

    # -- protection --------------------------------------------------------------------
    def _boot_source(self) -> BootSource:
        decision = getattr(self.board, "boot_decision", None)
        return decision.source if decision is not None else BootSource.FLASH

    def _rdp_blocks(self, access: Access) -> bool:
        """RDP level >= 1 closes main flash to debug, bootrom and code not booted from flash."""
        if self.rdp_level() == 0:
            return False
        return access is not Access.CPU or self._boot_source() is not BootSource.FLASH

    def _wrp_pages(self) -> list[tuple[int, int]]:
        areas = []
        for reg, area in (("WRP1AR", "WRP1A"), ("WRP1BR", "WRP1B")):
            start = self._option(reg, f"{area}_STRT")
            end = self._option(reg, f"{area}_END")
            if start <= end:
                areas.append((start, end))
        return areas

    def _pcrop_ranges(self) -> list[tuple[int, int]]:
        """PCROP areas as [first byte offset, last byte offset] in main flash."""
        g = self._pcrop_granule
        areas = []
        for sr_name, er_name, area in (
            ("PCROP1ASR", "PCROP1AER", "PCROP1A"),
            ("PCROP1BSR", "PCROP1BER", "PCROP1B"),
        ):
            start = self._option(sr_name, f"{area}_STRT")
            end = self._option(er_name, f"{area}_END")
            if start <= end:
                areas.append((start * g, (end + 1) * g - 1))
        return areas

    def _page_protected(self, page: int) -> bool:
        if any(lo <= page <= hi for lo, hi in self._wrp_pages()):
            return True
        ps = self.geometry.page_size
        first, last = page * ps, (page + 1) * ps - 1
        return any(lo <= last and first <= hi for lo, hi in self._pcrop_ranges())

    def check_read(self, address: int, length: int, access: Access) -> None:
        self._settle()
        off = address - self.geometry.base
        if self._rdp_blocks(access):
            raise ProtectionError(
                f"read of main flash 0x{address:08X} refused: RDP level {self.rdp_level()} "
                f"({access.value} access, booted from {self._boot_source().value})",
                hint="regress RDP to level 0 (0xAA) through the option bytes; this "
                "mass-erases the flash",
            )
        if access is not Access.CPU:
            for lo, hi in self._pcrop_ranges():
                if lo <= off + length - 1 and off <= hi:
                    raise ProtectionError(
                        f"read of 0x{address:08X} refused: inside PCROP area "
                        f"0x{self.geometry.base + lo:08X}..0x{self.geometry.base + hi:08X}",
                        hint="PCROP code is execute-only; remove the area with an RDP "
                        "regression while PCROP_RDP=1",
                    )
        bad = self.array.bad_units_in(off, length) if self.array.ecc_bad else []
        if bad:
            unit_off = bad[0] * self.array.unit
            bank = unit_off // self.geometry.bank_size
            in_bank = (unit_off % self.geometry.bank_size) // self.array.unit
            self._eccr[bank] = (
                (self._eccr[bank] & ECCR_ECCCIE) | ECCR_ECCD | (in_bank & ECCR_ADDR_MASK)
            )

    # -- programming -------------------------------------------------------------------
    def bus_write(self, address: int, size: int, value: int, access: Access) -> None:
        self._stall()
        off = address - self.geometry.base
        cr = self._cr
        if cr & CR_FSTPG:
            self._pending = None
            self._error(SR_FASTERR)
            return
        if not cr & CR_PG or cr & (CR_PER | CR_MER1 | CR_MER2):
            self._pending = None
            self._error(SR_PGSERR)
            return
        if self._sr & SR_PROG_ERRORS:
            self._pending = None
            self._error(SR_PGSERR)
            return
        if size != 4 or off % 4:
            self._pending = None
            self._error(SR_SIZERR if size != 4 else SR_PGAERR)
            return
        if self._pending is None:
            if off % self.array.unit:
                self._error(SR_PGAERR)
                return
            self._pending = (off, value)
            return
        first_off, first_value = self._pending
        self._pending = None
        if off != first_off + 4:
            self._error(SR_PGAERR)
            return
        payload = first_value.to_bytes(4, "little") + value.to_bytes(4, "little")
        self._program_double_word(first_off, payload, access)

    def _program_double_word(self, off: int, payload: bytes, access: Access) -> None:
        unit = self.array.unit
        page = off // self.geometry.page_size
        if self._rdp_blocks(access) or self._page_protected(page):
            self._error(SR_WRPERR)
            return
        zeros = payload == bytes(unit)
        if not self.array.is_blank(off, unit) and not zeros:
            # G0: only an erased double word may be programmed, except with all zeros.
            self._error(SR_PROGERR)
            return
        address = self.geometry.base + off
        kind = self.board.faults.on_program_unit(address, self.board.clock.now)
        if kind is not None:
            self.array.program_unit(off, payload, interrupted=True)
            self._interrupt(kind, f"fault injected while programming 0x{address:08X}")
            return
        if zeros:
            # Overwriting with zeros is allowed and leaves a consistent ECC (all zero).
            self.array.written.discard(self.array.unit_index(off))
        self.array.program_unit(off, payload)
        self._start("program_unit", self._bsy_bit(off // self.geometry.bank_size))

    # -- erase -------------------------------------------------------------------------
    def _start_erase(self, access: Access) -> None:
        self._stall()
        cr = self._cr
        kinds = [b for b in (CR_PER, CR_MER1, CR_MER2) if cr & b]
        mass = bool(cr & (CR_MER1 | CR_MER2))
        if (
            cr & (CR_PG | CR_FSTPG)
            or not kinds
            or (cr & CR_PER and mass)
            or self._sr & SR_PROG_ERRORS
            or self._pending is not None
        ):
            self._error(SR_PGSERR)
            return
        if self._rdp_blocks(access):
            self._error(SR_WRPERR)
            return
        if mass:
            banks = [b for b, bit in ((0, CR_MER1), (1, CR_MER2)) if cr & bit]
            self._mass_erase(banks)
            return
        page = self._selected_page(cr)
        if page is None:
            self._error(SR_PGSERR)
            return
        if self._page_protected(page):
            self._error(SR_WRPERR)
            return
        ps = self.geometry.page_size
        address = self.geometry.base + page * ps
        kind = self.board.faults.on_erase(address, self.board.clock.now)
        if kind is not None:
            self.array.erase_range(page * ps, ps, interrupted=True)
            self._interrupt(kind, f"fault injected while erasing page {page}")
            return
        self.array.erase_range(page * ps, ps)
        self._start(
            "erase_page", self._bsy_bit(page // self.geometry.pages_per_bank), cr_bit=CR_STRT
        )

    def _selected_page(self, cr: int) -> int | None:
        """Global page index from PNB (and BKER on dual-bank parts), None when out of range.

        On dual-bank parts RM0444 numbers bank-2 pages from 256 while ST's HAL passes 0..127
        with BKER=1; the bank is chosen by BKER and PNB is taken modulo 256, so both reach
        the same page, as reported on silicon.
        """
        pnb = (cr >> CR_PNB_SHIFT) & ((1 << self._pnb_width) - 1)
        per_bank = self.geometry.pages_per_bank
        if self.geometry.banks == 1:
            return pnb if pnb < per_bank else None
        local = pnb % 256
        if local >= per_bank:
            return None
        bank = 1 if cr & CR_BKER else 0
        return bank * per_bank + local

    def _mass_erase(self, banks: list[int]) -> None:
        bank_size = self.geometry.bank_size
        ppb = self.geometry.pages_per_bank
        for bank in banks:
            pages = range(bank * ppb, (bank + 1) * ppb)
            if any(self._page_protected(p) for p in pages):
                self._error(SR_WRPERR)
                return
        for bank in banks:
            address = self.geometry.base + bank * bank_size
            kind = self.board.faults.on_erase(address, self.board.clock.now)
            if kind is not None:
                self.array.erase_range(bank * bank_size, bank_size, interrupted=True)
                self._interrupt(kind, f"fault injected during mass erase of bank {bank + 1}")
                return
            self.array.erase_range(bank * bank_size, bank_size)
        bits = 0
        for bank in banks:
            bits |= self._bsy_bit(bank)
        self._start("mass_erase", bits, cr_bit=CR_STRT)

    # -- option change -----------------------------------------------------------------
    def _start_option_change(self) -> None:
        self._stall()
        if self._sr & SR_PROG_ERRORS or self._pending is not None:
            self._error(SR_PGSERR)
            return
        if self.rdp_level() == 2:
            self._error(SR_WRPERR)
            return
        new = dict(self._opt_regs)
        new_rdp = self._optr.field("RDP").get(new["OPTR"])
        extra_us = 0.0
        if self.rdp_level() == 1 and new_rdp == RDP_LEVEL0:
            erase_pcrop = bool(self._option("PCROP1AER", "PCROP_RDP"))
            if not self._regression_erase():
                return
            extra_us = self.part.timing_us["mass_erase"]
            if erase_pcrop:
                # The erased PCROP zones are gone: their option bytes return to "no area".
                for name in ("PCROP1ASR", "PCROP1AER", "PCROP1BSR", "PCROP1BER"):
                    if name in new:
                        new[name] = self.part.option_register(name).factory
        kind = self.board.faults.on_option_change(self.board.clock.now)
        self._nv_options = new
        if kind is not None:
            self._nv_corrupt = True
            self._interrupt(kind, "fault injected during option-byte programming")
            return
        self._nv_corrupt = False
        # Option page: one page erase, then one double word per option register.
        extra_us += self.part.timing_us["program_unit"] * len(new)
        self._start("erase_page", SR_BSY1, extra_us, cr_bit=CR_OPTSTRT)

    def _regression_erase(self) -> bool:
        """RDP 1 -> 0: erase main flash; PCROP pages survive unless PCROP_RDP=1.

        Returns False when a fault interrupted the erase (the board has already reset).
        """
        keep_pcrop = not self._option("PCROP1AER", "PCROP_RDP")
        ps = self.geometry.page_size
        pcrop = self._pcrop_ranges() if keep_pcrop else []
        kind = self.board.faults.on_erase(self.geometry.base, self.board.clock.now)
        for page in range(self.geometry.page_count):
            first, last = page * ps, (page + 1) * ps - 1
            if any(lo <= last and first <= hi for lo, hi in pcrop):
                continue
            self.array.erase_range(page * ps, ps, interrupted=kind is not None)
        if kind is not None:
            self._interrupt(kind, "fault injected during the RDP regression mass erase")
            return False
        return True

    def _interrupt(self, kind: FaultKind, cause: str) -> None:
        self._busy_until = None
        self._busy_bits = 0
        self.board.interrupt(kind, cause)

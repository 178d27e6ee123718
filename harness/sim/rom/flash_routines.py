"""The flash routines of the system-memory ROM, as register sequences on the simulated bus.

The ROM is Python, but it programs flash the way ROM code does: unlock the KEYR, set PG, write
words in the part's program unit (G0: 64-bit double words; H7: 256-bit flash words padded with
0xFF), poll BSY in virtual time, check the error bits. Every access goes through `board.bus`
with `Access.BOOTROM`, so the flash controller models see exactly what silicon would.

Routines are generators: they yield a number of cycles to wait (the bootrom driver resumes them
from a clock event) and return True on success, False when the controller flagged an error.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from stm32_hil.errors import HarnessError
from stm32_hil.sim.bus import Access

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard

Wait = Generator[int, None, bool]

BOOTROM = Access.BOOTROM
POLL_BUDGET_S = 60.0  # a BSY that never clears is a controller bug; give up, NACK


class FlashRoutines:
    """Family-independent part: register access and BSY polling in virtual time."""

    def __init__(self, board: SimBoard) -> None:
        self.board = board
        self.part = board.part
        self.regs = board.part.flash_regs
        self.timing = board.part.timing_us

    def rd(self, offset: int) -> int:
        return self.board.bus.read(self.regs + offset, 4, BOOTROM)

    def wr(self, offset: int, value: int) -> None:
        self.board.bus.write(self.regs + offset, 4, value & 0xFFFFFFFF, BOOTROM)

    def wait_clear(self, offset: int, mask: int, poll_us: float) -> Wait:
        """Poll a status register until `mask` clears; each poll costs `poll_us` of time."""
        clock = self.board.clock
        step = clock.cycles(poll_us)
        deadline = clock.now + clock.cycles(POLL_BUDGET_S * 1e6)
        while self.rd(offset) & mask:
            if clock.now >= deadline:
                return False
            yield step
        return True

    # -- interface the bootrom uses (per family) ----------------------------------------
    def program(self, address: int, data: bytes) -> Wait:
        raise NotImplementedError
        yield 0

    def erase_pages(self, pages: list[int]) -> Wait:
        raise NotImplementedError
        yield 0

    def erase_bank(self, bank: int) -> Wait:
        raise NotImplementedError
        yield 0

    def mass_erase(self) -> Wait:
        raise NotImplementedError
        yield 0

    def set_options(self, values: dict[str, int]) -> Wait:
        """Program option registers (catalogue names -> values); the caller resets after."""
        raise NotImplementedError
        yield 0

    def launch_options(self) -> None:
        """Make the new option bytes effective (G0: OBL_LAUNCH; H7: system reset)."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# STM32G0 (RM0444 section 3.3)
# ---------------------------------------------------------------------------------------
G0_KEYR, G0_OPTKEYR, G0_SR, G0_CR = 0x08, 0x0C, 0x10, 0x14
G0_SR_BSY1 = 1 << 16
G0_SR_ERRORS = 0xC3FA  # OPERR PROGERR WRPERR PGAERR SIZERR PGSERR MISSERR FASTERR RDERR OPTVERR
G0_CR_PG, G0_CR_PER, G0_CR_MER1, G0_CR_MER2 = 1 << 0, 1 << 1, 1 << 2, 1 << 15
G0_CR_STRT, G0_CR_OPTSTRT, G0_CR_OBL_LAUNCH = 1 << 16, 1 << 17, 1 << 27
G0_CR_OPTLOCK, G0_CR_LOCK = 1 << 30, 1 << 31
G0_CR_BKER = 1 << 13
G0_PNB_SHIFT = 3


class G0Routines(FlashRoutines):
    def _unlock(self) -> None:
        if self.rd(G0_CR) & G0_CR_LOCK:
            self.wr(G0_KEYR, self.part.flash_keys[0])
            self.wr(G0_KEYR, self.part.flash_keys[1])
        self.wr(G0_SR, G0_SR_ERRORS)  # rc_w1: clear stale errors

    def _lock(self) -> None:
        self.wr(G0_CR, G0_CR_LOCK)

    def _ok(self) -> bool:
        return not self.rd(G0_SR) & G0_SR_ERRORS

    def _poll(self, us: float) -> Wait:
        return (yield from self.wait_clear(G0_SR, G0_SR_BSY1, max(1.0, us)))

    def program(self, address: int, data: bytes) -> Wait:
        unit = self.part.flash.program_unit
        start = address - address % unit
        buf = bytearray(b"\xff" * (address - start)) + data
        buf += b"\xff" * (-len(buf) % unit)
        self._unlock()
        ok = True
        try:
            self.wr(G0_CR, G0_CR_PG)
            for off in range(0, len(buf), unit):
                for w in range(0, unit, 4):
                    word = int.from_bytes(buf[off + w : off + w + 4], "little")
                    self.board.bus.write(start + off + w, 4, word, BOOTROM)
                ok = (yield from self._poll(self.timing["program_unit"])) and self._ok()
                if not ok:
                    break
        except HarnessError:
            ok = False
        self._lock()
        return ok

    def _erase(self, cr: int, us: float) -> Wait:
        self._unlock()
        try:
            self.wr(G0_CR, cr)
            self.wr(G0_CR, cr | G0_CR_STRT)
            ok = (yield from self._poll(us)) and self._ok()
        except HarnessError:
            ok = False
        self._lock()
        return ok

    def erase_pages(self, pages: list[int]) -> Wait:
        geo = self.part.flash
        for page in pages:
            cr = G0_CR_PER
            if geo.banks > 1 and page >= geo.pages_per_bank:
                cr |= G0_CR_BKER | ((page - geo.pages_per_bank) << G0_PNB_SHIFT)
            else:
                cr |= page << G0_PNB_SHIFT
            if not (yield from self._erase(cr, self.timing["erase_page"])):
                return False
        return True

    def erase_bank(self, bank: int) -> Wait:
        return (
            yield from self._erase(
                G0_CR_MER1 if bank == 1 else G0_CR_MER2, self.timing["mass_erase"]
            )
        )

    def mass_erase(self) -> Wait:
        cr = G0_CR_MER1 | (G0_CR_MER2 if self.part.flash.banks > 1 else 0)
        return (yield from self._erase(cr, self.timing["mass_erase"]))

    def set_options(self, values: dict[str, int]) -> Wait:
        self._unlock()
        try:
            if self.rd(G0_CR) & G0_CR_OPTLOCK:
                self.wr(G0_OPTKEYR, self.part.option_keys[0])
                self.wr(G0_OPTKEYR, self.part.option_keys[1])
            for name, value in values.items():
                self.wr(self.part.option_register(name).offset, value)
            self.wr(G0_CR, self.rd(G0_CR) | G0_CR_OPTSTRT)
            # an RDP 1 -> 0 regression mass-erases first: budget for it
            ok = (yield from self._poll(self.timing["mass_erase"])) and self._ok()
        except HarnessError:
            ok = False
        return ok

    def launch_options(self) -> None:
        """OBL_LAUNCH reloads the option bytes and resets the part (the controller calls
        board.option_reload_reset())."""
        self.wr(G0_CR, self.rd(G0_CR) | G0_CR_OBL_LAUNCH)


# ---------------------------------------------------------------------------------------
# STM32H7 (RM0433 section 4)
# ---------------------------------------------------------------------------------------
H7_KEYR, H7_OPTKEYR, H7_CR, H7_SR, H7_CCR = 0x04, 0x08, 0x0C, 0x10, 0x14
H7_OPTCR, H7_OPTSR_CUR, H7_OPTSR_PRG, H7_OPTCCR = 0x18, 0x1C, 0x20, 0x24
H7_BANK2 = 0x100
H7_CR_LOCK, H7_CR_PG, H7_CR_SER, H7_CR_BER, H7_CR_START = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 7
H7_CR_PSIZE_32 = 0b10 << 4
H7_SNB_SHIFT = 8
H7_SR_BUSY = 0b111  # BSY, WBNE, QW
H7_SR_ERRORS = (
    (1 << 17)
    | (1 << 18)
    | (1 << 19)
    | (1 << 21)
    | (1 << 22)
    | (1 << 23)
    | (1 << 24)
    | (1 << 25)
    | (1 << 26)
)
H7_OPTCR_OPTLOCK, H7_OPTCR_OPTSTART = 1 << 0, 1 << 1
H7_OPT_BUSY, H7_OPTCHANGEERR = 1 << 0, 1 << 30


class H7Routines(FlashRoutines):
    def _bank_off(self, bank: int) -> int:
        return 0 if bank == 0 else H7_BANK2

    def _unlock(self, bank: int) -> None:
        b = self._bank_off(bank)
        if self.rd(b + H7_CR) & H7_CR_LOCK:
            self.wr(b + H7_KEYR, self.part.flash_keys[0])
            self.wr(b + H7_KEYR, self.part.flash_keys[1])
        self.wr(b + H7_CCR, H7_SR_ERRORS | (1 << 16))

    def _lock(self, bank: int) -> None:
        b = self._bank_off(bank)
        self.wr(b + H7_CR, self.rd(b + H7_CR) | H7_CR_LOCK)

    def _ok(self, bank: int) -> bool:
        return not self.rd(self._bank_off(bank) + H7_SR) & H7_SR_ERRORS

    def _poll(self, bank: int, us: float) -> Wait:
        return (yield from self.wait_clear(self._bank_off(bank) + H7_SR, H7_SR_BUSY, max(1.0, us)))

    def program(self, address: int, data: bytes) -> Wait:
        geo = self.part.flash
        unit = geo.program_unit
        start = address - address % unit
        buf = bytearray(b"\xff" * (address - start)) + data
        buf += b"\xff" * (-len(buf) % unit)  # a partial flash word is padded with 0xFF
        ok = True
        touched: list[int] = []
        try:
            for off in range(0, len(buf), unit):
                addr = start + off
                bank = geo.bank_of(addr)
                b = self._bank_off(bank)
                if bank not in touched:
                    self._unlock(bank)
                    touched.append(bank)
                    self.wr(b + H7_CR, H7_CR_PG | H7_CR_PSIZE_32)
                for w in range(0, unit, 4):
                    word = int.from_bytes(buf[off + w : off + w + 4], "little")
                    self.board.bus.write(addr + w, 4, word, BOOTROM)
                ok = (yield from self._poll(bank, self.timing["program_unit"])) and self._ok(bank)
                if not ok:
                    break
        except HarnessError:
            ok = False
        for bank in touched:
            b = self._bank_off(bank)
            self.wr(b + H7_CR, self.rd(b + H7_CR) & ~H7_CR_PG)
            self._lock(bank)
        return ok

    def _erase(self, bank: int, cr: int, us: float) -> Wait:
        b = self._bank_off(bank)
        self._unlock(bank)
        try:
            self.wr(b + H7_CR, cr | H7_CR_PSIZE_32)
            self.wr(b + H7_CR, cr | H7_CR_PSIZE_32 | H7_CR_START)
            ok = (yield from self._poll(bank, us)) and self._ok(bank)
        except HarnessError:
            ok = False
        self._lock(bank)
        return ok

    def erase_pages(self, pages: list[int]) -> Wait:
        per_bank = self.part.flash.pages_per_bank
        for sector in pages:
            bank, snb = divmod(sector, per_bank)
            cr = H7_CR_SER | (snb << H7_SNB_SHIFT)
            if not (yield from self._erase(bank, cr, self.timing["erase_page"])):
                return False
        return True

    def erase_bank(self, bank: int) -> Wait:
        return (yield from self._erase(bank - 1, H7_CR_BER, self.timing["mass_erase"]))

    def mass_erase(self) -> Wait:
        for bank in range(1, self.part.flash.banks + 1):
            if not (yield from self.erase_bank(bank)):
                return False
        return True

    def set_options(self, values: dict[str, int]) -> Wait:
        try:
            if self.rd(H7_OPTCR) & H7_OPTCR_OPTLOCK:
                self.wr(H7_OPTKEYR, self.part.option_keys[0])
                self.wr(H7_OPTKEYR, self.part.option_keys[1])
            for name, value in values.items():
                self.wr(self.part.option_register(name).offset + 4, value)  # the *_PRG copy
            self.wr(H7_OPTCR, self.rd(H7_OPTCR) | H7_OPTCR_OPTSTART)
            ok = yield from self.wait_clear(
                H7_OPTSR_CUR, H7_OPT_BUSY, max(1.0, self.timing["option_launch"] / 4)
            )
            if self.rd(H7_OPTSR_CUR) & H7_OPTCHANGEERR:
                self.wr(H7_OPTCCR, H7_OPTCHANGEERR)
                ok = False
            self.wr(H7_OPTCR, self.rd(H7_OPTCR) | H7_OPTCR_OPTLOCK)
        except HarnessError:
            ok = False
        return ok

    def launch_options(self) -> None:
        """H7 applies option bytes at OPTSTART; the ROM then resets the part itself."""
        from stm32_hil.target.base import ResetKind

        self.board.reset(ResetKind.SYSTEM, "bootloader reset after option change")


def routines_for(board: SimBoard) -> FlashRoutines:
    family = board.part.flash_controller
    if family == "g0":
        return G0Routines(board)
    if family == "h7":
        return H7Routines(board)
    raise HarnessError(f"no bootrom flash routines for controller {family!r}")

"""Register-level STM32G0 flash sequences, as a debugger or flow performs them on silicon.

Everything goes through 32-bit bus writes and reads of FLASH registers and main flash; nothing
reaches into the model. Waits poll SR with a budget of virtual time, as a host would.
"""

from __future__ import annotations

from stm32_hil.errors import TargetTimeout
from stm32_hil.sim.board import SimBoard
from stm32_hil.sim.bus import Access

KEYR, OPTKEYR, SR, CR, ECCR, ACR = 0x08, 0x0C, 0x10, 0x14, 0x18, 0x00
SR_EOP, SR_PROGERR, SR_WRPERR, SR_PGAERR = 1 << 0, 1 << 3, 1 << 4, 1 << 5
SR_SIZERR, SR_PGSERR, SR_OPTVERR = 1 << 6, 1 << 7, 1 << 15
SR_BSY1, SR_BSY2, SR_CFGBSY = 1 << 16, 1 << 17, 1 << 18
SR_ERRORS = 0xC3FA
CR_PG, CR_PER, CR_MER1, CR_BKER, CR_MER2 = 1 << 0, 1 << 1, 1 << 2, 1 << 13, 1 << 15
CR_STRT, CR_OPTSTRT, CR_EOPIE = 1 << 16, 1 << 17, 1 << 24
CR_OBL_LAUNCH, CR_OPTLOCK, CR_LOCK = 1 << 27, 1 << 30, 1 << 31


class G0Host:
    def __init__(self, board: SimBoard, access: Access = Access.DEBUG) -> None:
        self.board = board
        self.access = access
        self.regs = board.part.flash_regs

    # -- raw access --------------------------------------------------------------------
    def r32(self, address: int) -> int:
        return self.board.bus.read(address, 4, self.access)

    def w32(self, address: int, value: int) -> None:
        self.board.bus.write(address, 4, value & 0xFFFFFFFF, self.access)

    def reg(self, offset: int) -> int:
        return self.r32(self.regs + offset)

    def set_reg(self, offset: int, value: int) -> None:
        self.w32(self.regs + offset, value)

    def opt_offset(self, name: str) -> int:
        return self.board.part.option_register(name).offset

    @property
    def sr(self) -> int:
        return self.reg(SR)

    @property
    def cr(self) -> int:
        return self.reg(CR)

    def clear_errors(self) -> None:
        self.set_reg(SR, SR_ERRORS | SR_EOP)

    def wait_idle(self, budget_us: int = 200_000) -> int:
        """Poll SR until BSY1/BSY2 clear; the host sleeps 50 us of virtual time between polls."""
        deadline = self.board.clock.now + self.board.clock.cycles(budget_us)
        while (sr := self.sr) & (SR_BSY1 | SR_BSY2):
            if self.board.clock.now > deadline:
                raise TargetTimeout(f"FLASH busy after {budget_us} us (SR=0x{sr:08X})")
            self.board.clock.advance_us(50)
        return sr

    # -- sequences ---------------------------------------------------------------------
    def unlock(self) -> None:
        k1, k2 = self.board.part.flash_keys
        if self.cr & CR_LOCK:
            self.set_reg(KEYR, k1)
            self.set_reg(KEYR, k2)

    def unlock_options(self) -> None:
        self.unlock()
        k1, k2 = self.board.part.option_keys
        if self.cr & CR_OPTLOCK:
            self.set_reg(OPTKEYR, k1)
            self.set_reg(OPTKEYR, k2)

    def lock(self) -> None:
        self.set_reg(CR, CR_LOCK)

    def program(self, address: int, data: bytes) -> int:
        """Program whole double words; returns the SR error bits seen (0 on success)."""
        assert address % 8 == 0 and len(data) % 8 == 0
        self.unlock()
        self.wait_idle()
        self.clear_errors()
        self.set_reg(CR, CR_PG)
        errors = 0
        for pos in range(0, len(data), 4):
            self.w32(address + pos, int.from_bytes(data[pos : pos + 4], "little"))
            if pos % 8 == 4:
                errors |= self.wait_idle() & SR_ERRORS
                if errors:
                    break
        self.set_reg(CR, 0)
        return errors

    def erase_page(self, page: int, bank2: bool = False) -> int:
        self.unlock()
        self.wait_idle()
        self.clear_errors()
        self.set_reg(CR, CR_PER | (page << 3) | (CR_BKER if bank2 else 0))
        self.set_reg(CR, CR_PER | (page << 3) | (CR_BKER if bank2 else 0) | CR_STRT)
        errors = self.wait_idle() & SR_ERRORS
        self.set_reg(CR, 0)
        return errors

    def mass_erase(self, bits: int = CR_MER1) -> int:
        self.unlock()
        self.wait_idle()
        self.clear_errors()
        self.set_reg(CR, bits)
        self.set_reg(CR, bits | CR_STRT)
        errors = self.wait_idle() & SR_ERRORS
        self.set_reg(CR, 0)
        return errors

    def write_options(self, **values: int) -> int:
        """Unlock, write option registers, OPTSTRT, wait; returns SR error bits."""
        self.unlock_options()
        self.wait_idle()
        self.clear_errors()
        for name, value in values.items():
            self.set_reg(self.opt_offset(name), value)
        self.set_reg(CR, CR_OPTSTRT)
        return self.wait_idle() & SR_ERRORS

    def launch(self) -> None:
        """OBL_LAUNCH: reload option bytes; the part resets."""
        self.set_reg(CR, CR_OBL_LAUNCH)

    def set_optr_field(self, field: str, value: int) -> int:
        reg = self.board.part.option_register("OPTR")
        return reg.field(field).put(self.reg(reg.offset), value)

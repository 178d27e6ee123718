"""Internal flash of parts whose flash controller is not modelled at register level.

Sector-erase controllers (F2, F4, F7) have a model (`flash_sector`); every other part without
a catalogue controller gets this one. It is simulated to run external loaders, which never
program internal flash. The
cells read as erased; the controller's registers read back what is written (so the wait-state
setting firmware writes to FLASH_ACR and reads back is accepted). Shortcut: no programming,
erase, option bytes or readout protection; a CPU write to the cells is a bus fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access
from stm32_hil.sim.memories.flash_array import FlashRegisters

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard


class BasicFlashController(FlashRegisters):
    def __init__(self, board: SimBoard) -> None:
        super().__init__(board)
        self.options: dict[str, int] = dict(self.part.factory_options)
        self.empty_flag = False
        self.regs: dict[int, int] = {}

    def read_reg(self, offset: int, access: Access) -> int:
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self.regs[offset] = value

    def rdp_level(self) -> int:
        return 0

    def power_on(self) -> None:
        self.regs.clear()

    def system_reset(self) -> None:
        self.regs.clear()

"""SYSCFG: register file whose ready flags read 1, and the G0 boot-memory remap.

Firmware enabling the I/O compensation cell waits for its READY flag (H7 CCCSR.READY, F4/F7
CMPCR.READY); every field named READY or ending in RDY in the version's layout reads 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stm32_hil.sim.bus import Access, Device
from stm32_hil.sim.periph.plain import FlagRegisters, PlainRegisters, flag_bits

if TYPE_CHECKING:
    from stm32_hil.sim.board import SimBoard
    from stm32_hil.sim.periph.context import BlockContext


class Syscfg(FlagRegisters):
    def __init__(self, ctx: BlockContext) -> None:
        ready = flag_bits(ctx.layout, lambda name: name == "READY" or name.endswith("RDY"))
        super().__init__(ctx.name, ctx.base, ready, None, ctx.size)


# -- SYSCFG memory remap (G0) ------------------------------------------------------------------
CFGR1 = 0x00
G0_APBENR2 = 0x40
G0_SYSCFGEN = 1 << 0
MEM_MODE_MASK = 0b11
MEM_MODES = {0b00: "main flash", 0b01: "system memory", 0b10: "main flash", 0b11: "SRAM"}


class G0Syscfg(PlainRegisters):
    """STM32G0 SYSCFG (RM0444 9.1): CFGR1.MEM_MODE remaps what address 0x00000000 shows.

    MEM_MODE reads the boot mode after reset. The block is clocked by RCC_APBENR2.SYSCFGEN:
    with the clock off, writes are lost (and counted in `ignored_writes`, so an entry check can
    name the missing clock enable) and reads return 0, as for any unclocked APB peripheral.
    """

    def __init__(self, ctx: BlockContext) -> None:
        self.board: SimBoard = ctx.board
        self.ignored_writes: list[tuple[int, int]] = []  # (offset, value) written clock-off
        self.mem_mode: int | None = None  # None: follows the boot mode
        super().__init__(ctx.name, ctx.base, None, ctx.size)

    def power_on(self) -> None:
        super().power_on()
        self.mem_mode = None
        self.ignored_writes = []

    def clock_enabled(self) -> bool:
        rcc = self.board.bus.device("RCC")
        return bool(rcc.read(G0_APBENR2, 4, Access.DEBUG) & G0_SYSCFGEN)

    def boot_mode(self) -> int:
        from stm32_hil.sim.rom.boot import BootSource

        source = self.board.boot_decision.source
        return {BootSource.SYSTEM: 0b01, BootSource.SRAM: 0b11}.get(source, 0b00)

    def current_mode(self) -> int:
        return self.boot_mode() if self.mem_mode is None else self.mem_mode

    def read_reg(self, offset: int, access: Access) -> int:
        if not self.clock_enabled():
            return 0
        value = self.regs.get(offset, 0)
        if offset == CFGR1:
            value = (value & ~MEM_MODE_MASK) | self.current_mode()
        return value

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        if not self.clock_enabled():
            self.ignored_writes.append((offset, value))
            return
        self.regs[offset] = value
        if offset == CFGR1:
            self.mem_mode = value & MEM_MODE_MASK
            self._remap()

    def _remap(self) -> None:
        board = self.board
        mode = self.current_mode()
        if mode == 0b01:
            target: Device = board.bus.find(board.part.system_memory[0].base)  # type: ignore[assignment]
        elif mode == 0b11:
            target = board.bus.find(board.part.ram[0].base)  # type: ignore[assignment]
        else:
            target = board.flash.array
        board._remap = target  # the board's boot alias follows SYSCFG from now until a reset

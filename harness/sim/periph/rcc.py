"""Generic RCC, PWR, GPIO and SYSCFG register models: enough for firmware set-up to complete.

Oscillators and PLLs are ready as soon as they are switched on (every "...ON" bit is mirrored
by its "...RDY" bit), the clock switch status follows the request, and voltage-scaling ready
flags read 1. Frequencies are not modelled: the virtual core clock stays at board.clock.hz.
Bit positions are from RM0444 (G0) and RM0433 (H7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.sim.bus import Access, Device, RegisterBlock

if TYPE_CHECKING:
    from harness.sim.board import SimBoard


@dataclass(frozen=True)
class ClockTree:
    reset: dict[int, int]  # register offset -> reset value
    ready: dict[int, tuple[tuple[int, int], ...]]  # offset -> ((on bit, ready bit), ...)
    switch: tuple[int, int, int, int]  # (CFGR offset, SW shift, SWS shift, field width)
    always_one: dict[int, int] = field(default_factory=dict)  # offset -> bits that read 1


RCC_TREES = {
    "g0": ClockTree(
        reset={0x00: 0x00000500, 0x60: 0x0C000000},
        # CR: HSION 8 -> HSIRDY 10, HSEON 16 -> 17, PLLON 24 -> 25; BDCR: LSEON 0 -> 1;
        # CSR: LSION 0 -> 1.
        ready={0x00: ((8, 10), (16, 17), (24, 25)), 0x5C: ((0, 1),), 0x60: ((0, 1),)},
        switch=(0x08, 0, 3, 3),
    ),
    "h7": ClockTree(
        reset={0x00: 0x00000025},
        # CR: HSION 0 -> 2, CSION 7 -> 8, HSI48ON 12 -> 13, HSEON 16 -> 17, PLL1..3ON -> RDY;
        # BDCR (0x70): LSEON 0 -> 1; CSR (0x74): LSION 0 -> 1.
        ready={
            0x00: ((0, 2), (7, 8), (12, 13), (16, 17), (24, 25), (26, 27), (28, 29)),
            0x70: ((0, 1),),
            0x74: ((0, 1),),
        },
        switch=(0x10, 0, 3, 3),
        always_one={0x00: (1 << 14) | (1 << 15)},  # D1CKRDY, D2CKRDY
    ),
}
# F4/F7 (RM0386, RM0410): CR HSION 0 -> HSIRDY 1, HSEON 16 -> 17, PLLON 24 -> 25,
# PLLI2SON 26 -> 27, PLLSAION 28 -> 29; BDCR (0x70) LSEON 0 -> 1; CSR (0x74) LSION 0 -> 1;
# CFGR SW [1:0] -> SWS [3:2].
_F4_F7_TREE = ClockTree(
    reset={0x00: 0x00000083},
    ready={
        0x00: ((0, 1), (16, 17), (24, 25), (26, 27), (28, 29)),
        0x70: ((0, 1),),
        0x74: ((0, 1),),
    },
    switch=(0x08, 0, 2, 2),
)
RCC_TREES["f4"] = _F4_F7_TREE
RCC_TREES["f7"] = _F4_F7_TREE

PWR_ALWAYS_ONE = {
    # H7: CSR1.ACTVOSRDY (13), D3CR.VOSRDY (13).
    "h7": {0x04: 1 << 13, 0x18: 1 << 13},
    # F4/F7: CSR(1).VOSRDY (14), ODRDY (16), ODSWRDY (17).
    "f4": {0x04: (1 << 14) | (1 << 16) | (1 << 17)},
    "f7": {0x04: (1 << 14) | (1 << 16) | (1 << 17)},
}
PWR_RESET = {"g0": {0x00: 0x00000208}, "h7": {0x0C: 0x00000006, 0x18: 0x00004000}}


class PlainRegisters(RegisterBlock):
    """Registers that read back what was written (GPIO, SYSCFG and other inert blocks)."""

    def __init__(self, name: str, base: int, reset: dict[int, int] | None = None) -> None:
        super().__init__(name, base, 0x400)
        self._reset = dict(reset or {})
        self.regs: dict[int, int] = {}
        self.power_on()

    def power_on(self) -> None:
        self.regs = dict(self._reset)

    def read_reg(self, offset: int, access: Access) -> int:
        return self.regs.get(offset, 0)

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        self.regs[offset] = value


class Rcc(PlainRegisters):
    def __init__(self, base: int, family: str) -> None:
        self.tree = RCC_TREES.get(family, ClockTree(reset={}, ready={}, switch=(0x08, 0, 2, 2)))
        super().__init__("RCC", base, self.tree.reset)
        self._reset_lines: list[tuple[int, int, Callable[[], None]]] = []

    def on_reset_line(self, offset: int, bit: int, callback: Callable[[], None]) -> None:
        """Call `callback` when software asserts a peripheral reset bit (xxxRSTR registers)."""
        self._reset_lines.append((offset, bit, callback))

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        before = self.regs.get(offset, 0)
        super().write_reg(offset, value, access)
        for line_offset, bit, callback in self._reset_lines:
            if line_offset == offset and value >> bit & 1 and not before >> bit & 1:
                callback()

    def read_reg(self, offset: int, access: Access) -> int:
        value = self.regs.get(offset, 0)
        for on, rdy in self.tree.ready.get(offset, ()):
            value = value | (1 << rdy) if value & (1 << on) else value & ~(1 << rdy)
        value |= self.tree.always_one.get(offset, 0)
        cfgr, sw, sws, width = self.tree.switch
        if offset == cfgr:
            mask = (1 << width) - 1
            value = (value & ~(mask << sws)) | (((value >> sw) & mask) << sws)
        return value


class Pwr(PlainRegisters):
    def __init__(self, base: int, family: str) -> None:
        self.always_one = PWR_ALWAYS_ONE.get(family, {})
        super().__init__("PWR", base, PWR_RESET.get(family, {}))

    def read_reg(self, offset: int, access: Access) -> int:
        return self.regs.get(offset, 0) | self.always_one.get(offset, 0)


# -- GPIO --------------------------------------------------------------------------------------
MODER, OSPEEDR, PUPDR, AFRH = 0x00, 0x08, 0x0C, 0x24
MODE_AF = 0b10
SWD_PINS = {13: "SWDIO", 14: "SWCLK"}  # PA13/PA14, alternate function 0 on G0 and H7
# Reset values (RM0444 7.4, RM0433 11.4): the debug pins come out of reset in AF0 with pulls.
GPIO_RESET = {
    "g0": {"GPIOA": {MODER: 0xEBFFFFFF, OSPEEDR: 0x0C000000, PUPDR: 0x24000000}},
    "h7": {
        "GPIOA": {MODER: 0xABFFFFFF, OSPEEDR: 0x0C000000, PUPDR: 0x64000000},
        "GPIOB": {MODER: 0xFFFFFEBF, OSPEEDR: 0x000000C0, PUPDR: 0x00000100},
    },
    # F4/F7 and older families (RM0090, RM0410): other pins reset to input, not analog.
    "default": {
        "GPIOA": {MODER: 0xA8000000, OSPEEDR: 0x0C000000, PUPDR: 0x64000000},
        "GPIOB": {MODER: 0x00000280, OSPEEDR: 0x000000C0, PUPDR: 0x00000100},
    },
}
GPIO_MODER_RESET = {"g0": 0xFFFFFFFF, "h7": 0xFFFFFFFF}  # other ports: all analog (else input)
# F4/F7 (RM0386 8.4, RM0410 6.4): PA13/PA14/PA15 and PB3/PB4 in AF0, every other pin input.
_F4_F7_GPIO = {
    "GPIOA": {MODER: 0xA8000000, OSPEEDR: 0x0C000000, PUPDR: 0x64000000},
    "GPIOB": {MODER: 0x00000280, OSPEEDR: 0x000000C0, PUPDR: 0x00000100},
    **{f"GPIO{port}": {MODER: 0x00000000} for port in "CDEFGHIJK"},
}
GPIO_RESET["f4"] = _F4_F7_GPIO
GPIO_RESET["f7"] = _F4_F7_GPIO


class Gpio(PlainRegisters):
    """A GPIO port; on port A it also knows whether PA13/PA14 still carry SWD.

    The debug port is wired to the pins through their alternate function: once firmware puts
    SWDIO/SWCLK in another mode (or another AF), a probe gets no answer until a reset puts the
    port back to its reset state. Shortcut: the port clock (RCC IOPENR/AHB4ENR) is not checked
    for register writes.
    """

    def __init__(self, name: str, base: int, family: str) -> None:
        table = GPIO_RESET.get(family, GPIO_RESET["default"])
        reset = {MODER: GPIO_MODER_RESET.get(family, 0), **table.get(name, {})}
        super().__init__(name, base, reset)

    def swd_problem(self) -> str | None:
        """Why the SWD pins do not reach the debug port, or None when they do."""
        if self.name != "GPIOA":
            return None
        moder, afrh = self.regs.get(MODER, 0), self.regs.get(AFRH, 0)
        wrong = []
        for pin, signal in SWD_PINS.items():
            mode = (moder >> (2 * pin)) & 3
            af = (afrh >> (4 * (pin - 8))) & 0xF
            if mode != MODE_AF:
                what = ("input", "output", "alternate", "analog")[mode]
                wrong.append(f"PA{pin} ({signal}) set to {what} mode")
            elif af != 0:
                wrong.append(f"PA{pin} ({signal}) set to AF{af} instead of AF0")
        return ", ".join(wrong) or None


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

    def __init__(self, base: int, board: SimBoard) -> None:
        self.board = board
        self.ignored_writes: list[tuple[int, int]] = []  # (offset, value) written clock-off
        self.mem_mode: int | None = None  # None: follows the boot mode
        super().__init__("SYSCFG", base)

    def power_on(self) -> None:
        super().power_on()
        self.mem_mode = None
        self.ignored_writes = []

    def clock_enabled(self) -> bool:
        rcc = self.board.bus.device("RCC")
        return bool(rcc.read(G0_APBENR2, 4, Access.DEBUG) & G0_SYSCFGEN)

    def boot_mode(self) -> int:
        from harness.sim.rom.boot import BootSource

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


def system_block(board: SimBoard, name: str, base: int) -> Device | None:
    """The model of a GPIO or SYSCFG block of `board`'s part (None: not modelled here)."""
    family = board.part.family
    if name.startswith("GPIO"):
        return Gpio(name, base, family)
    if name == "SYSCFG":
        return G0Syscfg(base, board) if family == "g0" else PlainRegisters(name, base)
    return None

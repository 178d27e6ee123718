"""Generic RCC, PWR and GPIO register models: enough for firmware clock setup to complete.

Oscillators and PLLs are ready as soon as they are switched on (every "...ON" bit is mirrored
by its "...RDY" bit), the clock switch status follows the request, and voltage-scaling ready
flags read 1. Frequencies are not modelled: the virtual core clock stays at board.clock.hz.
Bit positions are from RM0444 (G0) and RM0433 (H7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.sim.bus import Access, RegisterBlock


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

PWR_ALWAYS_ONE = {
    # H7: CSR1.ACTVOSRDY (13), D3CR.VOSRDY (13).
    "h7": {0x04: 1 << 13, 0x18: 1 << 13},
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

"""RCC for every RCC version in the data, driven by the block's register layout.

What firmware waits for is the same on every family, only the names move: an oscillator or PLL
"...RDY" flag follows its "...ON" (or "...EN") enable, the clock-switch status SWS follows the
request SW, and domain-clock flags ("...CKRDY", H5/H7 HSIDIVF) read 1. Each rule is found by
field name in the layout of the part's RCC version, so a family nobody described works too.
Writing a peripheral reset bit (the data's `rcc.reset` register/field of each block) resets
that block's model. Out of reset the clock the core boots on (MSI where the RCC has one,
else HSI) is on and ready.

Shortcut: frequencies are not modelled; the virtual core clock stays at board.clock.hz.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from harness.sim.bus import Access
from harness.sim.periph.plain import PlainRegisters

if TYPE_CHECKING:
    from harness.sim.periph.context import BlockContext

# Reset values the layouts cannot give, by RCC version (RM0444 5.4, RM0433 8.7, RM0090 7.3,
# RM0410 5.3): CR with the boot oscillator on, G0 CSR reset flags.
RESET_BY_VERSION = {
    "g0x1": {0x00: 0x00000500, 0x60: 0x0C000000},
    "g0x0": {0x00: 0x00000500, 0x60: 0x0C000000},
    "h7rm0433": {0x00: 0x00000025},
    "f4": {0x00: 0x00000083},
    "f7": {0x00: 0x00000083},
}
FLAGS_READ_ONE = ("HSIDIVF",)  # status flags with no enable that firmware waits to see set
BOOT_OSCILLATORS = ("MSISON", "MSION", "HSION", "HSI16ON")


class Rcc(PlainRegisters):
    def __init__(self, ctx: BlockContext) -> None:
        self.ctx = ctx
        self.ready: dict[int, list[tuple[int, int]]] = defaultdict(list)  # off -> (on, rdy)
        self.always_one: dict[int, int] = defaultdict(int)
        self.switches: list[tuple[int, int, int, int]] = []  # (offset, SW, SWS, width)
        self.reset_lines: dict[int, list[tuple[int, str]]] = defaultdict(
            list
        )  # off -> (bit, block)
        reset = self._learn(ctx)
        super().__init__(ctx.name, ctx.base, reset, ctx.size)

    def _learn(self, ctx: BlockContext) -> dict[int, int]:
        layout = ctx.layout
        reset: dict[int, int] = {}
        if layout is None:
            return dict(RESET_BY_VERSION.get(ctx.version, {}))
        fields = {
            f.name: (reg.offset, f.bit_offset, f.bit_size)
            for reg in layout.registers
            for f in reg.fields
        }
        for name, (off, bit, _w) in fields.items():
            base, bracket, index = name.partition("[")  # arrays: PLLRDY[0] pairs with PLLON[0]
            suffix = bracket + index
            if base.endswith("RDY"):
                stem = base[:-3]
                enable = fields.get(stem + "ON" + suffix) or fields.get(stem + "EN" + suffix)
                if enable is not None and enable[0] == off:
                    self.ready[off].append((enable[1], bit))
                elif enable is None and base.endswith("CKRDY"):
                    self.always_one[off] |= 1 << bit
            elif name in FLAGS_READ_ONE:
                self.always_one[off] |= 1 << bit
        for reg in layout.registers:
            names = {f.name: f for f in reg.fields}
            if "SW" in names and "SWS" in names:
                sw, sws = names["SW"], names["SWS"]
                self.switches.append((reg.offset, sw.bit_offset, sws.bit_offset, sw.bit_size))
        for osc in BOOT_OSCILLATORS:
            if osc in fields:
                off, bit, _w = fields[osc]
                reset[off] = reset.get(off, 0) | 1 << bit
                break
        reset.update(RESET_BY_VERSION.get(ctx.version, {}))
        registers = {r.name: r for r in layout.registers}
        for block in ctx.board.part.blocks:
            line = block.rcc_reset
            if line is None or line.register not in registers:
                continue
            reg = registers[line.register]
            for f in reg.fields:
                if f.name == line.field:
                    self.reset_lines[reg.offset].append((f.bit_offset, block.name))
        return reset

    def write_reg(self, offset: int, value: int, access: Access) -> None:
        before = self.regs.get(offset, 0)
        super().write_reg(offset, value, access)
        for bit, block in self.reset_lines.get(offset, ()):
            if value >> bit & 1 and not before >> bit & 1:
                device = self.ctx.board.bus.built(block)
                if device is not None:
                    device.system_reset()

    def read_reg(self, offset: int, access: Access) -> int:
        value = self.regs.get(offset, 0)
        for on, rdy in self.ready.get(offset, ()):
            value = value | (1 << rdy) if value & (1 << on) else value & ~(1 << rdy)
        value |= self.always_one.get(offset, 0)
        for reg, sw, sws, width in self.switches:
            if reg == offset:
                mask = (1 << width) - 1
                value = (value & ~(mask << sws)) | (((value >> sw) & mask) << sws)
        return value

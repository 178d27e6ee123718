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

from stm32_hil.sim.bus import Access
from stm32_hil.sim.periph.plain import FlagRegisters, field_stem

if TYPE_CHECKING:
    from stm32_hil.sim.periph.context import BlockContext

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


class Rcc(FlagRegisters):
    def __init__(self, ctx: BlockContext) -> None:
        self.ctx = ctx
        self.ready: dict[int, list[tuple[int, int]]] = defaultdict(list)  # off -> (on, rdy)
        self.switches: list[tuple[int, int, int, int]] = []  # (offset, SW, SWS, width)
        # register offset -> (bit, name of the block that bit resets)
        self.reset_lines: dict[int, list[tuple[int, str]]] = defaultdict(list)
        always_one: dict[int, int] = defaultdict(int)
        reset = self._learn(ctx, always_one)
        super().__init__(ctx.name, ctx.base, always_one, reset, ctx.size)

    def _learn(self, ctx: BlockContext, always_one: dict[int, int]) -> dict[int, int]:
        layout = ctx.layout
        if layout is None:
            return dict(RESET_BY_VERSION.get(ctx.version, {}))
        fields = {
            f.name: (reg.offset, f.bit_offset) for reg in layout.registers for f in reg.fields
        }
        for name, (off, bit) in fields.items():
            stem = field_stem(name)
            index = name[len(stem) :]  # arrays: PLLRDY[0] pairs with PLLON[0]
            if stem.endswith("RDY"):
                source = stem[:-3]
                enable = fields.get(source + "ON" + index) or fields.get(source + "EN" + index)
                if enable is not None and enable[0] == off:
                    self.ready[off].append((enable[1], bit))
                elif enable is None and stem.endswith("CKRDY"):
                    always_one[off] |= 1 << bit
            elif name in FLAGS_READ_ONE:
                always_one[off] |= 1 << bit
        for reg in layout.registers:
            sw, sws = reg.field("SW"), reg.field("SWS")
            if sw is not None and sws is not None:
                self.switches.append((reg.offset, sw.bit_offset, sws.bit_offset, sw.bit_size))
        reset: dict[int, int] = {}
        osc = next((fields[o] for o in BOOT_OSCILLATORS if o in fields), None)
        if osc is not None:
            reset[osc[0]] = 1 << osc[1]
        reset.update(RESET_BY_VERSION.get(ctx.version, {}))
        for block in ctx.board.part.blocks:
            line = block.rcc_reset
            if line is None:
                continue
            target = layout.named(line.register)
            found = target.field(line.field) if target is not None else None
            if target is not None and found is not None:
                self.reset_lines[target.offset].append((found.bit_offset, block.name))
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
